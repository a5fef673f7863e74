//! The composition root: starts every feature for a connected client and serves the three
//! listeners until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.
//!
//! Every feature starts the same way, its inputs and the app's [`Tasks`] in, the handle the
//! others need out; [`serve`] gathers the handles into the web layer's substates
//! ([`AppState`]), and at the end waits for every task within `SHUTDOWN_GRACE`
//! (ARCHITECTURE.md, "The composition root").
//!
//! May call: `crate::attract`, `crate::automations`, `crate::availability`, `crate::booth`,
//! `crate::chaos`, `crate::cluster`, `crate::config`, `crate::health`, `crate::http`, `crate::labels`,
//! `crate::leads`, `crate::leds`, `crate::metrics`, `crate::tasks`, `crate::theatre`, `crate::visitor`,
//! `crate::web`.

use crate::automations::relay::FogError;
use crate::availability::Availability;
use crate::booth::BoothHandle;
use crate::chaos::{ChaosSettings, kube_chaos};
use crate::cluster::client::Clients;
use crate::cluster::drain::Drains;
use crate::cluster::remediation::Remediation;
use crate::cluster::{ChaosBus, ClusterState, PodScope};
use crate::config::AppArgs;
use crate::health::hardware::Hardware;
use crate::health::kubernetes::Cluster;
use crate::health::monitor::HealthMonitor;
use crate::health::{self, BoothSource, PodSource};
use crate::leds::LedInputs;
use crate::leds::blinkstick::HidPort;
use crate::leds::blinkt::BlinktProbes;
use crate::metrics::{Metrics, ScrapeTime};
use crate::tasks::Tasks;
use crate::web::auth::StaffCredentials;
use crate::web::auth::{guess_limiter, limit_guesses};
use crate::web::control::Sessions;
use crate::web::csrf::Csrf;
use crate::web::limits::{self, LimitMetrics, ListenerLimits};
use crate::web::metrics::WebMetrics;
use crate::web::qr_card::QrCard;
use crate::web::{AppState, ChaosState, DeviceState, PanelState, ProbeState, StreamsState, private_router};
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

/// How long shutdown waits for the app's tasks once the listeners have closed: the LEDs going
/// dark, the fog relay off, the print queue's job and the lead controller's reconciliations
/// under way. The pod's `terminationGracePeriodSeconds` is 10 (deploy/base/deployment.yaml): the
/// listeners' drain and this wait share it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the booth on `clients` with its listeners bound and `devices`, until `shutdown` fires:
/// the one entry point of `run`, `demo`, the tests and the benchmarks. At shutdown the listeners
/// stop taking connections and finish the requests under way, then every task of the app ends
/// on the same token within `SHUTDOWN_GRACE`.
pub async fn serve(
    clients: Clients,
    args: AppArgs,
    credentials: StaffCredentials,
    listeners: Listeners,
    devices: Devices,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let tasks = Tasks::new(shutdown);
    let served = match AppParts::start(clients, &args, credentials, devices, &tasks) {
        Ok(app) => app.serve(listeners, &args, tasks.token()).await,
        Err(error) => Err(error),
    };
    tasks.shutdown(SHUTDOWN_GRACE).await;
    served
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

/// The running app's parts, built and started for one client: what the listeners serve.
struct AppParts {
    state: AppState,
    /// Connections and refusals of both listeners.
    limit_metrics: LimitMetrics,
    leads: crate::leads::Leads,
}

/// What most features start from: the client, the watched cluster, the Booth, the chaos bus and
/// the app's one Event recorder.
struct Core {
    client: kube::Client,
    cluster: ClusterState,
    booth: BoothHandle,
    bus: ChaosBus,
    recorder: Recorder,
}

impl AppParts {
    /// Starts every feature, each the same way (its inputs and the app's `tasks` in, the handle
    /// the others need out), and gathers the handles into the web layer's substates.
    fn start(
        clients: Clients,
        args: &AppArgs,
        credentials: StaffCredentials,
        devices: Devices,
        tasks: &Tasks,
    ) -> Result<Self, AppError> {
        tasks.spawn("allocator trim", return_freed_memory(tasks.token().clone()));
        let scope = PodScope { namespace: Some(args.namespace.clone()), ..PodScope::default() };
        let watched = crate::cluster::watch::start(clients.client.clone(), scope, None, tasks);
        let core = Core {
            client: clients.client.clone(),
            booth: BoothHandle::start(
                clients.client.clone(),
                &args.booth_namespace,
                &args.booth_name,
                args.booth_defaults.to_spec(),
                tasks,
            ),
            cluster: watched.state,
            bus: ChaosBus::new(),
            recorder: crate::cluster::recorder::recorder(clients.client.clone(), args.pod_name.clone()),
        };
        let mut metrics = Metrics::new();
        let limit_metrics = LimitMetrics::register(metrics.registry_mut());
        let web_metrics = WebMetrics::register(metrics.registry_mut());
        start_remediation(&core, args, tasks);
        let chaos = start_chaos(clients.clone(), args, &core, web_metrics.clone(), tasks);
        let (device_state, leads) = start_devices(args, &core, devices, &mut metrics, tasks)?;
        let streams = start_streams(args, &core, &leads, web_metrics, metrics.registry_mut(), tasks)?;
        let panel = PanelState {
            sessions: Arc::new(Sessions::new()),
            csrf: Csrf::random(),
            health: start_health(args, &core, &device_state, tasks),
            drains: Arc::new(Drains::new(clients, core.cluster.clone(), &args.namespace, tasks)),
        };
        let state = AppState {
            visitor: streams.visitor.clone(),
            cluster: core.cluster,
            booth: core.booth,
            credentials,
            streams,
            chaos,
            panel,
            devices: device_state,
            probes: ProbeState { metrics: Arc::new(metrics), restarts: watched.restarts },
        };
        Ok(Self { state, limit_metrics, leads })
    }

    /// Serves the three listeners until `shutdown`, then until their requests under way are
    /// answered.
    async fn serve(self, listeners: Listeners, args: &AppArgs, shutdown: &CancellationToken) -> Result<(), AppError> {
        let addr = |listener: &tokio::net::TcpListener| listener.local_addr().map_err(AppError::Serve);
        tracing::info!(addr = %addr(&listeners.public)?, "serving the contact form");
        tracing::info!(addr = %addr(&listeners.health)?, "serving the probes and the metrics");
        tracing::info!(addr = %addr(&listeners.private)?, namespace = %args.namespace, "serving the booth");
        let public_limits = args.limits.public(&args.leads.trusted_proxies, &self.limit_metrics);
        let public = limits::serve(listeners.public, self.public_router(args), public_limits, shutdown.clone());
        let health_router = crate::web::health::router(self.state.clone());
        let health_limits = ListenerLimits::health(&self.limit_metrics);
        let health = limits::serve(listeners.health, health_router, health_limits, shutdown.clone());
        let private_limits = args.limits.private(&self.limit_metrics);
        let private = limits::serve(listeners.private, self.private_router(args), private_limits, shutdown.clone());
        let (private, public, health) = tokio::join!(private, public, health);
        private.and(public).and(health).map_err(AppError::Serve)
    }

    /// The contact form's listener.
    fn public_router(&self, args: &AppArgs) -> axum::Router {
        let state = &self.state;
        crate::web::public::router(
            self.leads.clone(),
            state.booth.clone(),
            &args.leads,
            state.visitor.clone(),
            state.chaos.button.clone(),
            state.chaos.web_metrics.clone(),
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

/// The chaos button on the bus, and attract mode's autopilot pressing it.
fn start_chaos(clients: Clients, args: &AppArgs, core: &Core, web_metrics: WebMetrics, tasks: &Tasks) -> ChaosState {
    let settings = ChaosSettings {
        namespace: args.namespace.clone(),
        own_pod: args.pod_name.clone(),
        cooldown: args.dashboard.chaos_cooldown_seconds,
    };
    let button = Arc::new(kube_chaos(
        settings,
        (clients, core.recorder.clone()),
        core.cluster.clone(),
        core.booth.clone(),
        core.bus.clone(),
    ));
    crate::attract::start(button.clone(), core.booth.clone(), core.bus.clone(), tasks);
    ChaosState { button, bus: core.bus.clone(), web_metrics }
}

/// The fog machine, the webhooks, the LEDs, the lead controller and the label print queue,
/// their counters in `metrics`.
fn start_devices(
    args: &AppArgs,
    core: &Core,
    devices: Devices,
    metrics: &mut Metrics,
    tasks: &Tasks,
) -> Result<(DeviceState, crate::leads::Leads), AppError> {
    let fog = crate::automations::start_fog(&args.fog, &core.bus, tasks)?;
    let webhooks = crate::automations::start_webhooks(&args.webhooks, &core.bus, tasks)?;
    let led_counters = crate::leds::driver::LedCounters::register(metrics.registry_mut());
    let led_inputs =
        LedInputs { namespace: &args.namespace, cluster: &core.cluster, chaos: &core.bus, booth: &core.booth };
    let leds = crate::leds::start(&args.leds, led_inputs, devices.blinkstick, led_counters, tasks);
    let labels = crate::labels::LabelService::new(&args.printer);
    labels.metrics.register(metrics.registry_mut());
    let lead_metrics = crate::leads::metrics::LeadMetrics::register(metrics.registry_mut());
    let (namespace, waker) = (&args.booth_namespace, labels.waker.clone());
    let leads = crate::leads::start(
        core.client.clone(),
        namespace,
        &args.leads,
        core.booth.clone(),
        lead_metrics,
        waker,
        tasks,
    )?;
    let scrape = ScrapeTime { fog: fog.clone(), webhooks, leads: leads.stored.clone() };
    metrics.registry_mut().register_collector(Box::new(scrape));
    // The print queue takes its jobs from the Leads' status (printed once, in order).
    let print_jobs = crate::leads::print_jobs::LeadPrintJobs::new(leads.store.api().clone());
    labels.start_queue(Arc::new(print_jobs.clone()), core.booth.clone(), tasks);
    Ok((DeviceState { fog, leds, labels, print_jobs }, leads))
}

/// What the kiosk shows beside the cluster: the workload's counts and heal times, the scenes,
/// the visitors' announcements and the QR card.
fn start_streams(
    args: &AppArgs,
    core: &Core,
    leads: &crate::leads::Leads,
    web_metrics: WebMetrics,
    registry: &mut prometheus_client::registry::Registry,
    tasks: &Tasks,
) -> Result<StreamsState, AppError> {
    let availability = start_availability(args, core, registry, tasks)?;
    let visitor = crate::visitor::Visitor::start(leads, core.booth.clone(), &args.visitor, &availability, tasks);
    Ok(StreamsState {
        cluster: core.cluster.clone(),
        booth: core.booth.clone(),
        bus: core.bus.clone(),
        theatre: crate::theatre::start(&core.bus, tasks),
        availability,
        visitor,
        qr_card: QrCard::of(args.dashboard.public_url.as_deref()).map(Arc::new),
        web_metrics,
        shutdown: tasks.token().clone(),
    })
}

/// Runs the health checks now and every few minutes (the log, the Booth condition) and for the
/// control panel's Booth health card, reading the devices' health from their drivers.
fn start_health(args: &AppArgs, core: &Core, devices: &DeviceState, tasks: &Tasks) -> HealthMonitor {
    let settings = args.health_settings(args.leds.mode.unwrap_or(crate::leds::LedMode::Virtual));
    let hardware =
        Hardware::Live { leds: devices.leds.clone(), printer: devices.labels.health.clone(), fog: devices.fog.clone() };
    let cluster = Cluster::new(core.client.clone(), None);
    let sources = (BoothSource::Live(Box::new(core.booth.clone())), PodSource::Watched(core.cluster.clone()));
    let context = health::Context::new(settings, Ok(cluster), sources, hardware);
    HealthMonitor::start(context, core.booth.clone(), tasks)
}

/// Force-deletes the pods of a lost node after `NODE_LOSS_THRESHOLD_SECONDS` (0: off).
fn start_remediation(core: &Core, args: &AppArgs, tasks: &Tasks) {
    if args.node_loss_threshold_seconds > 0 {
        let recorder = core.recorder.clone();
        let remediation = Remediation {
            threshold: Duration::from_secs(args.node_loss_threshold_seconds),
            namespace: args.namespace.clone(),
        };
        let run = remediation.run(core.client.clone(), core.cluster.clone(), recorder, tasks.token().clone());
        tasks.spawn("node loss remediation", run);
    }
}

/// Starts the trickle of requests to the workload's Service (`AVAILABILITY_URL`, else the
/// in-cluster name of `critical-prod` in the target namespace) and the heal timer.
fn start_availability(
    args: &AppArgs,
    core: &Core,
    registry: &mut prometheus_client::registry::Registry,
    tasks: &Tasks,
) -> Result<Arc<Availability>, AppError> {
    let settings = &args.availability;
    let default_url = format!("http://critical-prod.{}.svc/", args.namespace);
    let url = settings.url_or(&default_url).map_err(|e| AppError::Availability(format!("AVAILABILITY_URL: {e}")))?;
    let availability = Availability::new(registry, settings.requests_per_second > 0.0);
    let booth = core.booth.clone();
    let today = Box::new(move || booth.spec().attract.today());
    availability.start(settings, url, core.cluster.clone(), &core.bus, today, tasks)?;
    Ok(availability)
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
