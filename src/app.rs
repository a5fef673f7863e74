//! Wiring: starts the watch loops, the Booth follower and the listeners for a connected client,
//! and runs them until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.

use crate::booth::BoothHandle;
use crate::cluster::chaos::ChaosSettings;
use crate::cluster::watch::{watch_nodes, watch_pods};
use crate::cluster::{ChaosBus, ClusterState, PodScope, WatchRestarts};
use crate::config::{AppArgs, StaffCredentials};
use crate::metrics::Metrics;
use crate::web::kiosk::{Dashboard, kube_chaos};
use crate::web::{AppState, private_router};
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
}

/// Binds a listener, naming the setting when the address is taken or not ours.
pub async fn bind(addr: SocketAddr, var: &'static str) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| AppError::Bind { addr, var, source })
}

/// Runs the booth on `client`, serving the private listener on `listener`, until `shutdown` fires.
pub async fn serve(
    client: kube::Client,
    args: AppArgs,
    credentials: StaffCredentials,
    listener: tokio::net::TcpListener,
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
    let chaos = ChaosBus::new();
    let chaos_settings = ChaosSettings {
        namespace: args.namespace.clone(),
        own_pod: args.pod_name.clone(),
        cooldown: args.dashboard.chaos_cooldown_seconds,
    };
    let button = kube_chaos(chaos_settings, client.clone(), cluster.clone(), booth.clone(), chaos.clone());
    let dashboard = Arc::new(Dashboard::new(&args.dashboard, button, metrics.registry_mut(), shutdown.clone()));
    let metrics = Arc::new(metrics);
    let state = AppState { cluster, booth, restarts, metrics, credentials, chaos, dashboard };
    tracing::info!(%addr, namespace = %args.namespace, "serving the booth");
    let result = axum::serve(listener, private_router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(AppError::Serve);
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
