//! Wiring: starts the watch loops, the Booth follower and the listeners for a connected client,
//! and runs them until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.
//!
//! May call: `crate::attract`, `crate::automations`, `crate::availability`, `crate::booth`,
//! `crate::chaos`, `crate::cluster`, `crate::config`, `crate::health`, `crate::http`, `crate::labels`,
//! `crate::leads`, `crate::leds`, `crate::metrics`, `crate::theatre`, `crate::visitor`,
//! `crate::web`.

use crate::automations::relay::{self, FogError};
use crate::automations::webhooks::{WebhookSettings, WebhookStats, Webhooks};
use crate::automations::{Fog, FogSpec};
use crate::availability::Availability;
use crate::booth::BoothHandle;
use crate::chaos::{ChaosSettings, kube_chaos};
use crate::cluster::client::Clients;
use crate::cluster::drain::Drains;
use crate::cluster::remediation::Remediation;
use crate::cluster::watch::{watch_nodes, watch_pods};
use crate::cluster::{ChaosBus, ClusterState, PodScope, WatchRestarts};
use crate::config::AppArgs;
use crate::health::hardware::Hardware;
use crate::health::kubernetes::Cluster;
use crate::health::monitor::HealthMonitor;
use crate::health::{self, BoothSource, PodSource};
use crate::leds::LedInputs;
use crate::leds::blinkstick::HidPort;
use crate::leds::blinkt::BlinktProbes;
use crate::metrics::{Metrics, ScrapeTime};
use crate::web::auth::StaffCredentials;
use crate::web::auth::{guess_limiter, limit_guesses};
use crate::web::control::Sessions;
use crate::web::csrf::Csrf;
use crate::web::limits::{self, LimitMetrics, ListenerLimits};
use crate::web::metrics::WebMetrics;
use crate::web::qr_card::QrCard;
use crate::web::{AppState, private_router};
use kube::runtime::events::Recorder;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    #[error("cannot send the availability requests: {0}")]
    Availability(String),
}

/// Binds a listener, naming the setting when the address is taken or not ours.
pub async fn bind(addr: SocketAddr, var: &'static str) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| AppError::Bind { addr, var, source })
}

/// The three listeners: the booth's (private), the contact form's (public) and the probes'
/// (health).
pub struct Listeners {
    pub private: tokio::net::TcpListener,
    pub public: tokio::net::TcpListener,
    pub health: tokio::net::TcpListener,
}

impl Listeners {
    /// Binds `LISTEN_ADDR`, `PUBLIC_LISTEN_ADDR` and `HEALTH_LISTEN_ADDR`.
    pub async fn bind(args: &AppArgs) -> Result<Self, AppError> {
        Ok(Self {
            private: bind(args.listen_addr, "LISTEN_ADDR").await?,
            public: bind(args.leads.public_listen_addr, "PUBLIC_LISTEN_ADDR").await?,
            health: bind(args.health.health_listen_addr, "HEALTH_LISTEN_ADDR").await?,
        })
    }
}

/// The hardware the app drives, where a caller brings its own; `None` opens what the settings
/// name. Only the booth-day scenario brings its own (a BlinkStick on a simulated USB port).
#[derive(Default)]
pub struct Devices {
    pub blinkstick: Option<Box<dyn HidPort>>,
}

/// Runs the booth on `clients` with its listeners bound and `devices`, until `shutdown` fires:
/// the one entry point of `run`, `demo`, the tests and the benchmarks.
pub async fn serve(
    clients: Clients,
    args: AppArgs,
    credentials: StaffCredentials,
    listeners: Listeners,
    devices: Devices,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let booth = Booth::start(clients, &args, credentials, devices, &shutdown)?;
    let public_addr = listeners.public.local_addr().map_err(AppError::Serve)?;
    let private_addr = listeners.private.local_addr().map_err(AppError::Serve)?;
    let health_addr = listeners.health.local_addr().map_err(AppError::Serve)?;
    tracing::info!(addr = %public_addr, "serving the contact form");
    let public_limits = args.limits.public(&args.leads.trusted_proxies, &booth.limit_metrics);
    let public_server =
        tokio::spawn(limits::serve(listeners.public, booth.public_router(&args), public_limits, shutdown.clone()));
    tracing::info!(addr = %health_addr, "serving the probes and the metrics");
    let health_limits = ListenerLimits::health(&booth.limit_metrics);
    let health_router = crate::web::health::router(booth.state.clone());
    let health_server = tokio::spawn(limits::serve(listeners.health, health_router, health_limits, shutdown.clone()));
    tracing::info!(addr = %private_addr, namespace = %args.namespace, "serving the booth");
    let private_limits = args.limits.private(&booth.limit_metrics);
    let result = limits::serve(listeners.private, booth.private_router(&args), private_limits, shutdown).await;
    booth.tasks.stop().await;
    let joined = |e: tokio::task::JoinError| AppError::Serve(std::io::Error::other(e));
    let public_result = public_server.await.map_err(joined)?;
    let health_result = health_server.await.map_err(joined)?;
    result.and(public_result).and(health_result).map_err(AppError::Serve)
}

/// Serves `conferenceli blinkt`'s probes on `listener` (`HEALTH_LISTEN_ADDR`) until `shutdown`.
pub(crate) async fn serve_blinkt_probes(
    listener: tokio::net::TcpListener,
    probes: BlinktProbes,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let router = crate::web::health::blinkt_router(probes);
    let limits = ListenerLimits::health(&LimitMetrics::default());
    limits::serve(listener, router, limits, shutdown).await.map_err(AppError::Serve)
}

/// Every part of the booth, built and started for one client: what the routers serve.
struct Booth {
    state: AppState,
    /// Connections and refusals of both listeners.
    limit_metrics: LimitMetrics,
    leads: crate::leads::Leads,
    tasks: BackgroundTasks,
}

/// What runs beside the listeners, stopped in order at shutdown.
struct BackgroundTasks {
    watches: [tokio::task::JoinHandle<()>; 2],
    remediation: Option<tokio::task::JoinHandle<()>>,
    fog: Option<Fog>,
    leds: crate::leds::LedTasks,
    print_queue: Option<tokio::task::JoinHandle<()>>,
    /// Node drains in progress (ended by the shutdown token they hold).
    drains: Arc<Drains>,
}

impl Booth {
    /// Starts the watches, the Booth follower, the chaos button, the automations, the LEDs, the
    /// lead controller and the print queue.
    fn start(
        clients: Clients,
        args: &AppArgs,
        credentials: StaffCredentials,
        devices: Devices,
        shutdown: &CancellationToken,
    ) -> Result<Self, AppError> {
        let client = clients.client.clone();
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
        let limit_metrics = LimitMetrics::register(metrics.registry_mut());
        tokio::spawn(return_freed_memory(shutdown.clone()));
        let recorder = crate::cluster::recorder::recorder(client.clone(), args.pod_name.clone());
        let remediation = start_remediation(&client, args, &cluster, &recorder, shutdown);
        let chaos = ChaosBus::new();
        let chaos_settings = ChaosSettings {
            namespace: args.namespace.clone(),
            own_pod: args.pod_name.clone(),
            cooldown: args.dashboard.chaos_cooldown_seconds,
        };
        let button = Arc::new(kube_chaos(
            chaos_settings,
            (clients.clone(), recorder),
            cluster.clone(),
            booth.clone(),
            chaos.clone(),
        ));
        let drains = Arc::new(Drains::new(clients, cluster.clone(), &args.namespace, shutdown.child_token()));
        tokio::spawn(crate::attract::autopilot::run(button.clone(), booth.clone(), chaos.clone(), shutdown.clone()));
        let web_metrics = WebMetrics::register(metrics.registry_mut());
        let availability = start_availability(args, &cluster, &booth, &chaos, metrics.registry_mut(), shutdown)?;
        let theatre = crate::theatre::Theatre::new();
        tokio::spawn(crate::theatre::director::direct(chaos.clone(), theatre.clone(), shutdown.clone()));
        let fog = start_fog(args, &chaos)?;
        let webhooks = start_webhooks(args, &chaos)?;
        let led_inputs = LedInputs { namespace: &args.namespace, cluster: &cluster, chaos: &chaos, booth: &booth };
        let (leds, led_tasks) = crate::leds::start(&args.leds, led_inputs, devices.blinkstick, led_counters, shutdown);
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
        // The print queue takes its jobs from the Leads' status (printed once, in order).
        let print_jobs = crate::leads::print_jobs::LeadPrintJobs::new(leads.store.api().clone());
        let print_queue = labels.start_queue(Arc::new(print_jobs.clone()), booth.clone(), shutdown.clone());
        let visitor = crate::visitor::Visitor::new(leads.store.api().clone(), booth.clone(), &args.visitor);
        let health = start_health(&client, args, (&booth, &cluster), (&leds, &labels, &fog), shutdown);
        tokio::spawn(crate::visitor::press::record_heals(
            availability.subscribe(),
            leads.store.api().clone(),
            leads.stored.clone(),
            shutdown.clone(),
        ));
        let state = AppState {
            cluster,
            booth,
            restarts,
            metrics: Arc::new(metrics),
            credentials,
            chaos,
            fog: fog.clone(),
            leds,
            labels,
            print_jobs,
            button,
            web_metrics,
            sessions: Arc::new(Sessions::new()),
            csrf: Csrf::random(),
            qr_card: QrCard::of(args.dashboard.public_url.as_deref()).map(Arc::new),
            shutdown: shutdown.clone(),
            availability,
            theatre,
            visitor,
            health,
            drains: drains.clone(),
        };
        let tasks = BackgroundTasks { watches, remediation, fog, leds: led_tasks, print_queue, drains };
        Ok(Self { state, limit_metrics, leads, tasks })
    }

    /// The contact form's listener.
    fn public_router(&self, args: &AppArgs) -> axum::Router {
        let state = &self.state;
        crate::web::public::router(
            self.leads.clone(),
            state.booth.clone(),
            &args.leads,
            state.visitor.clone(),
            state.button.clone(),
            state.web_metrics.clone(),
        )
    }

    /// The booth's listener: kiosk, staff, probes and `/config`, with password guessing held back
    /// per client address.
    fn private_router(&self, args: &AppArgs) -> axum::Router {
        let admin = self.state.credentials.admin.clone();
        let logo_max_bytes = self.state.visitor.logo_max_bytes;
        let settings =
            crate::web::settings::router(self.leads.clone(), self.state.booth.clone(), admin, logo_max_bytes);
        let guesses = Arc::new(guess_limiter(args.auth_failures_per_minute));
        private_router(self.state.clone())
            .merge(settings)
            .layer(axum::middleware::from_fn_with_state(guesses, limit_guesses))
    }
}

impl BackgroundTasks {
    /// Stops what runs beside the listeners once they have closed: the fog relay off, the LEDs
    /// dark (well within the pod's grace period), then the watches and the print queue.
    async fn stop(self) {
        if let Some(fog) = self.fog {
            // Joining the watchdog thread blocks; the HTTP relay's thread may need the runtime.
            let _ = tokio::task::spawn_blocking(move || fog.shutdown()).await;
        }
        if let Some(remediation) = self.remediation {
            remediation.abort();
        }
        self.leds.finish(Duration::from_secs(3)).await;
        self.drains.stopped().await;
        for watch in self.watches {
            watch.abort();
        }
        if let Some(queue) = self.print_queue {
            queue.abort();
        }
    }
}

/// Runs the health checks now and every few minutes (the log, the Booth condition) and for the
/// control panel's Booth health card, reading the devices' health from their drivers.
fn start_health(
    client: &kube::Client,
    args: &AppArgs,
    (booth, pods): (&BoothHandle, &ClusterState),
    (leds, labels, fog): (&crate::leds::LedHandle, &crate::labels::LabelService, &Option<Fog>),
    shutdown: &CancellationToken,
) -> HealthMonitor {
    let settings = args.health_settings(args.leds.mode.unwrap_or(crate::leds::LedMode::Virtual));
    let hardware = Hardware::Live { leds: leds.clone(), printer: labels.health.clone(), fog: fog.clone() };
    let cluster = Cluster::new(client.clone(), None);
    let sources = (BoothSource::Live(Box::new(booth.clone())), PodSource::Watched(pods.clone()));
    let context = health::Context::new(settings, Ok(cluster), sources, hardware);
    HealthMonitor::start(context, booth.clone(), shutdown.clone())
}

/// Force-deletes the pods of a lost node after `NODE_LOSS_THRESHOLD_SECONDS` (0: off).
fn start_remediation(
    client: &kube::Client,
    args: &AppArgs,
    cluster: &ClusterState,
    recorder: &Recorder,
    shutdown: &CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    (args.node_loss_threshold_seconds > 0).then(|| {
        let recorder = recorder.clone();
        let remediation = Remediation {
            threshold: Duration::from_secs(args.node_loss_threshold_seconds),
            namespace: args.namespace.clone(),
        };
        tokio::spawn(remediation.run(client.clone(), cluster.clone(), recorder, shutdown.clone()))
    })
}

/// Starts the trickle of requests to the workload's Service (`AVAILABILITY_URL`, else the
/// in-cluster name of `critical-prod` in the target namespace) and the heal timer.
fn start_availability(
    args: &AppArgs,
    cluster: &ClusterState,
    booth: &BoothHandle,
    chaos: &ChaosBus,
    registry: &mut prometheus_client::registry::Registry,
    shutdown: &CancellationToken,
) -> Result<Arc<Availability>, AppError> {
    let settings = &args.availability;
    let default_url = format!("http://critical-prod.{}.svc/", args.namespace);
    let url = settings.url_or(&default_url).map_err(|e| AppError::Availability(format!("AVAILABILITY_URL: {e}")))?;
    let availability = Availability::new(registry, settings.requests_per_second > 0.0);
    let booth = booth.clone();
    let today = Box::new(move || booth.spec().attract.today());
    availability.start(settings, url, cluster.clone(), chaos, today, shutdown.clone())?;
    Ok(availability)
}

/// Opens the fog machine's relay and puffs it on every chaos kill.
fn start_fog(args: &AppArgs, chaos: &ChaosBus) -> Result<Option<Fog>, AppError> {
    let spec = args.fog.spec.clone().unwrap_or(FogSpec::Off);
    let Some(relay) = relay::open(&spec, !args.fog.active_high)? else { return Ok(None) };
    let fog = Fog::start(relay, args.fog.timing());
    let mut kills = chaos.listen();
    let puffing = fog.clone();
    tokio::spawn(async move {
        while kills.next_kill().await.is_some() {
            puffing.puff();
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
    let mut kills = chaos.listen();
    tokio::spawn(async move {
        while let Some(kill) = kills.next_kill().await {
            webhooks.stats.dropped.store(kills.missed(), std::sync::atomic::Ordering::Relaxed);
            webhooks.notify(&kill.target, kill.at, kill.kill_count);
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
pub(crate) fn shutdown_on_signals() -> CancellationToken {
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
