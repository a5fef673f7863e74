//! Wiring: starts the watch loops, the Booth follower and the listeners for a connected client,
//! and runs them until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.

use crate::automations::relay::{self, FogError};
use crate::automations::webhooks::{WebhookSettings, WebhookStats, Webhooks};
use crate::automations::{Fog, FogSpec};
use crate::booth::BoothHandle;
use crate::cluster::chaos::ChaosSettings;
use crate::cluster::remediation::Remediation;
use crate::cluster::watch::{watch_nodes, watch_pods};
use crate::cluster::{ChaosBus, ChaosEvent, ClusterState, PodScope, WatchRestarts};
use crate::config::{AppArgs, StaffCredentials};
use crate::leds::LedInputs;
use crate::leds::blinkstick::HidPort;
use crate::metrics::{Metrics, ScrapeTime};
use crate::web::auth::{GuessLimiter, limit_guesses};
use crate::web::kiosk::{Dashboard, kube_chaos};
use crate::web::{AppState, private_router};
use kube::runtime::events::{Recorder, Reporter};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Why the app could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {addr} ({var}): {source}")]
    Bind { addr: SocketAddr, var: &'static str, source: std::io::Error },
    #[error("cannot use the fog machine (FOG): {0}")]
    Fog(#[from] FogError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpClientError),
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
    let listeners = Listeners { private: listener, public };
    serve_on(client, args, credentials, listeners, Devices::default(), shutdown).await
}

/// The two listeners: the booth's (private) and the contact form's (public).
pub struct Listeners {
    pub private: tokio::net::TcpListener,
    pub public: tokio::net::TcpListener,
}

/// The hardware the app drives, where a caller brings its own; `None` opens what the settings
/// name. Only the booth-day scenario brings its own (a BlinkStick on a simulated USB port).
#[derive(Default)]
pub struct Devices {
    pub blinkstick: Option<Box<dyn HidPort>>,
}

/// Runs the booth on `client` with both listeners bound and `devices`, until `shutdown` fires.
pub async fn serve_on(
    client: kube::Client,
    args: AppArgs,
    credentials: StaffCredentials,
    listeners: Listeners,
    devices: Devices,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let Listeners { private: listener, public } = listeners;
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
    let labels = crate::labels::LabelService::new(&args.printer);
    let mut metrics = Metrics::new();
    labels.metrics.register(metrics.registry_mut());
    let lead_metrics = crate::leads::metrics::LeadMetrics::register(metrics.registry_mut());
    let led_counters = crate::leds::driver::LedCounters::register(metrics.registry_mut());
    let recorder =
        Recorder::new(client.clone(), Reporter { controller: "conferenceli".into(), instance: args.pod_name.clone() });
    tokio::spawn(return_freed_memory(shutdown.clone()));
    let remediation = (args.node_loss_threshold_seconds > 0).then(|| {
        let remediation = Remediation {
            threshold: Duration::from_secs(args.node_loss_threshold_seconds),
            namespace: args.namespace.clone(),
        };
        tokio::spawn(remediation.run(client.clone(), cluster.clone(), recorder.clone(), shutdown.clone()))
    });
    let chaos = ChaosBus::new();
    let chaos_settings = ChaosSettings {
        namespace: args.namespace.clone(),
        own_pod: args.pod_name.clone(),
        cooldown: args.dashboard.chaos_cooldown_seconds,
    };
    let button = kube_chaos(chaos_settings, client.clone(), cluster.clone(), booth.clone(), chaos.clone());
    let dashboard = Arc::new(Dashboard::new(&args.dashboard, button, metrics.registry_mut(), shutdown.clone()));
    let fog = start_fog(&args, &chaos)?;
    let webhooks = start_webhooks(&args, &chaos)?;
    let led_inputs = LedInputs { namespace: &args.namespace, cluster: &cluster, chaos: &chaos, booth: &booth };
    let (leds, led_tasks) = crate::leds::start(&args.leds, led_inputs, devices.blinkstick, led_counters, &shutdown);
    let leads = crate::leads::start(
        client.clone(),
        &args.booth_namespace,
        &args.leads,
        booth.clone(),
        lead_metrics,
        labels.waker.clone(),
        shutdown.clone(),
    )?;
    metrics.registry_mut().register_collector(Box::new(ScrapeTime {
        fog: fog.clone(),
        webhooks,
        leads: leads.stored.clone(),
    }));
    let metrics = Arc::new(metrics);
    // The print queue takes its jobs from the Leads' status (printed once, in order).
    let print_jobs = crate::leads::print_jobs::LeadPrintJobs::new(leads.store.api().clone());
    let print_queue = labels.start_queue(Arc::new(print_jobs.clone()), booth.clone(), shutdown.clone());
    let visitor = crate::visitor::Visitor::new(leads.store.api().clone(), booth.clone(), &args.visitor);
    let public_router =
        crate::web::public::router(leads.clone(), booth.clone(), &args.leads, visitor.clone(), dashboard.clone());
    let settings_router =
        crate::web::settings::router(leads, booth.clone(), credentials.admin.clone(), visitor.logo_max_bytes);
    let public_addr = public.local_addr().map_err(AppError::Serve)?;
    tracing::info!(addr = %public_addr, "serving the contact form");
    let public_server = tokio::spawn(
        axum::serve(public, public_router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    let state = AppState {
        cluster,
        booth,
        restarts,
        metrics,
        credentials,
        chaos,
        fog: fog.clone(),
        leds,
        labels,
        print_jobs,
        dashboard,
        visitor,
    };
    tracing::info!(%addr, namespace = %args.namespace, "serving the booth");
    let guesses = Arc::new(GuessLimiter::new(args.auth_failures_per_minute));
    let private = private_router(state)
        .merge(settings_router)
        .layer(axum::middleware::from_fn_with_state(guesses, limit_guesses))
        .into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, private)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(AppError::Serve);
    if let Some(fog) = fog {
        // Joining the watchdog thread blocks; the HTTP relay's thread may need the runtime.
        let _ = tokio::task::spawn_blocking(move || fog.shutdown()).await;
    }
    if let Some(remediation) = remediation {
        remediation.abort();
    }
    // The LEDs go dark before the process exits (well within the pod's grace period).
    led_tasks.finish(std::time::Duration::from_secs(3)).await;
    let public_result = public_server.await.map_err(|e| AppError::Serve(std::io::Error::other(e)));
    let result = result.and(public_result.and_then(|r| r.map_err(AppError::Serve)));
    for watch in watches {
        watch.abort();
    }
    if let Some(queue) = print_queue {
        queue.abort();
    }
    result
}

/// Opens the fog machine's relay and puffs it on every chaos kill.
fn start_fog(args: &AppArgs, chaos: &ChaosBus) -> Result<Option<Fog>, AppError> {
    let spec = args.fog.spec.clone().unwrap_or(FogSpec::Off);
    let Some(relay) = relay::open(&spec, !args.fog.active_high)? else { return Ok(None) };
    let fog = Fog::start(relay, args.fog.timing());
    let mut kills = chaos.subscribe();
    let puffing = fog.clone();
    tokio::spawn(async move {
        loop {
            match kills.recv().await {
                Ok(ChaosEvent::Killed { .. }) => puffing.puff(),
                Ok(ChaosEvent::Picked { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(Some(fog))
}

/// Sends a webhook for every chaos kill, when URLs are configured; returns the delivery counts.
fn start_webhooks(args: &AppArgs, chaos: &ChaosBus) -> Result<Option<Arc<WebhookStats>>, AppError> {
    if args.webhooks.urls.is_empty() {
        return Ok(None);
    }
    let settings = WebhookSettings {
        urls: args.webhooks.urls.clone(),
        secret: args.webhooks.secret.clone(),
        timeout: Duration::from_secs(args.webhooks.timeout_seconds),
        attempts: 3,
        first_backoff: Duration::from_millis(500),
    };
    let webhooks = Webhooks::start(crate::http::client()?, settings);
    let stats = webhooks.stats.clone();
    let mut kills = chaos.subscribe();
    tokio::spawn(async move {
        loop {
            match kills.recv().await {
                Ok(ChaosEvent::Killed { target, at, kill_count, .. }) => webhooks.notify(&target, at, kill_count),
                Ok(ChaosEvent::Picked { .. }) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    webhooks.stats.dropped.fetch_add(missed, std::sync::atomic::Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(Some(stats))
}

/// How often memory the allocator kept after frees goes back to the system.
const RETURN_FREED_MEMORY_EVERY: Duration = Duration::from_secs(30);

/// Gives the pages glibc keeps after frees back to the system every half minute. A booth runs
/// for days on a Pi: without this the resident size creeps up after every busy spell although
/// the heap in use does not (a 900 s booth-day soak: heap +0.7 %, resident +11.5 %).
async fn return_freed_memory(shutdown: CancellationToken) {
    let mut every = tokio::time::interval(RETURN_FREED_MEMORY_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                let _ = tokio::task::spawn_blocking(trim_allocator).await;
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    // SAFETY: malloc_trim only reads and releases the allocator's own free lists; it has no
    // preconditions and is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl, macOS) return memory by themselves or offer no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}

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
