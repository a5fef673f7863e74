//! Wiring: starts the watch loops, the Booth follower and the listeners for a connected client,
//! and runs them until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.

use crate::booth::BoothHandle;
use crate::cluster::watch::{watch_nodes, watch_pods};
use crate::cluster::{ChaosBus, ClusterState, PodScope, WatchRestarts};
use crate::config::{AppArgs, StaffCredentials};
use crate::metrics::Metrics;
use crate::web::{AppState, private_router};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why the app could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {addr} ({var}): {source}")]
    Bind { addr: SocketAddr, var: &'static str, source: std::io::Error },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Leads(#[from] crate::leads::odoo::OdooSetupError),
}

/// Binds a listener, naming the setting when the address is taken or not ours.
pub async fn bind(addr: SocketAddr, var: &'static str) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| AppError::Bind { addr, var, source })
}

/// Runs the booth on `client`, serving the private listener on `listener` and the public one on
/// `PUBLIC_LISTEN_ADDR`, until `shutdown` fires.
pub async fn serve(
    client: kube::Client,
    args: AppArgs,
    credentials: StaffCredentials,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let public = bind(args.leads.public_listen_addr, "PUBLIC_LISTEN_ADDR").await?;
    serve_with_public(client, args, credentials, listener, public, shutdown).await
}

/// [`serve`] with the public listener (the contact form) already bound.
pub async fn serve_with_public(
    client: kube::Client,
    args: AppArgs,
    credentials: StaffCredentials,
    listener: tokio::net::TcpListener,
    public: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let addr = listener.local_addr().map_err(AppError::Serve)?;
    let cluster = ClusterState::new();
    let restarts = Arc::new(WatchRestarts::default());
    let scope = PodScope { namespace: Some(args.namespace.clone()), ..PodScope::default() };
    let watches = [
        tokio::spawn(watch_pods(client.clone(), scope, cluster.clone(), restarts.clone())),
        tokio::spawn(watch_nodes(client.clone(), None, cluster.clone(), restarts.clone())),
    ];
    let booth =
        BoothHandle::start(client.clone(), &args.booth_namespace, &args.booth_name, args.booth_defaults.to_spec());
    let mut metrics = Metrics::new();
    let lead_metrics = crate::leads::metrics::LeadMetrics::register(metrics.registry_mut());
    let metrics = Arc::new(metrics);
    let chaos = ChaosBus::new();
    let leads = crate::leads::start(
        client.clone(),
        &args.booth_namespace,
        &args.leads,
        booth.clone(),
        lead_metrics,
        shutdown.clone(),
    )?;
    let public_router = crate::web::public::router(leads.clone(), booth.clone(), &args.leads);
    let settings_router = crate::web::settings::router(leads, booth.clone(), credentials.admin.clone());
    let public_addr = public.local_addr().map_err(AppError::Serve)?;
    tracing::info!(addr = %public_addr, "serving the contact form");
    let public_server = tokio::spawn(
        axum::serve(public, public_router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    let state = AppState { cluster, booth, restarts, metrics, credentials, chaos };
    tracing::info!(%addr, namespace = %args.namespace, "serving the booth");
    let result = axum::serve(listener, private_router(state).merge(settings_router))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(AppError::Serve);
    let public_result = public_server.await.map_err(|e| AppError::Serve(std::io::Error::other(e)));
    let result = result.and(public_result.and_then(|r| r.map_err(AppError::Serve)));
    for watch in watches {
        watch.abort();
    }
    result
}

/// Fires on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    token
}
