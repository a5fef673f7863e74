//! Wiring: starts the watch loops, the Booth follower and the listeners for a connected client,
//! and runs them until shutdown. `run` and `demo` both end up here, with a client for a real
//! cluster or for the simulated one: the same code path either way.
//!
//! May call: `crate::attract`, `crate::automations`, `crate::availability`, `crate::booth`,
//! `crate::chaos`, `crate::cluster`, `crate::config`, `crate::health`, `crate::http`, `crate::labels`,
//! `crate::leads`, `crate::leds`, `crate::metrics`, `crate::tasks`, `crate::theatre`, `crate::visitor`,
//! `crate::web`.

use crate::automations::Fog;
use crate::automations::relay::FogError;
use crate::availability::Availability;
use crate::booth::BoothHandle;
use crate::chaos::{ChaosSettings, kube_chaos};
use crate::cluster::client::Clients;
use crate::cluster::drain::Drains;
use crate::cluster::remediation::Remediation;
use crate::cluster::watch::Watched;
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
use crate::web::{AppState, private_router};
use kube::runtime::events::{Recorder, Reporter};
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
/// on the same token within [`SHUTDOWN_GRACE`].
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

impl AppParts {
    /// Starts the watches, the Booth follower, the chaos button, the automations, the LEDs, the
    /// lead controller and the print queue, every task among `tasks`.
    fn start(
        clients: Clients,
        args: &AppArgs,
        credentials: StaffCredentials,
        devices: Devices,
        tasks: &Tasks,
    ) -> Result<Self, AppError> {
        tasks.spawn("allocator trim", return_freed_memory(tasks.token().clone()));
        let client = clients.client.clone();
        let scope = PodScope { namespace: Some(args.namespace.clone()), ..PodScope::default() };
        let Watched { state: cluster, restarts } = crate::cluster::watch::start(client.clone(), scope, None, tasks);
        let defaults = args.booth_defaults.to_spec();
        let booth = BoothHandle::start(client.clone(), &args.booth_namespace, &args.booth_name, defaults, tasks);
        let labels = crate::labels::LabelService::new(&args.printer);
        let mut metrics = Metrics::new();
        labels.metrics.register(metrics.registry_mut());
        let lead_metrics = crate::leads::metrics::LeadMetrics::register(metrics.registry_mut());
        let led_counters = crate::leds::driver::LedCounters::register(metrics.registry_mut());
        let limit_metrics = LimitMetrics::register(metrics.registry_mut());
        start_remediation(&client, args, &cluster, tasks);
        let chaos = ChaosBus::new();
        let chaos_settings = ChaosSettings {
            namespace: args.namespace.clone(),
            own_pod: args.pod_name.clone(),
            cooldown: args.dashboard.chaos_cooldown_seconds,
        };
        let button =
            Arc::new(kube_chaos(chaos_settings, clients.clone(), cluster.clone(), booth.clone(), chaos.clone()));
        let drains = Arc::new(Drains::new(clients, cluster.clone(), &args.namespace, tasks));
        crate::attract::start(button.clone(), booth.clone(), chaos.clone(), tasks);
        let web_metrics = WebMetrics::register(metrics.registry_mut());
        let availability = start_availability(args, &cluster, &booth, &chaos, metrics.registry_mut(), tasks)?;
        let theatre = crate::theatre::start(&chaos, tasks);
        let fog = crate::automations::start_fog(&args.fog, &chaos, tasks)?;
        let webhooks = crate::automations::start_webhooks(&args.webhooks, &chaos, tasks)?;
        let led_inputs = LedInputs { namespace: &args.namespace, cluster: &cluster, chaos: &chaos, booth: &booth };
        let leds = crate::leds::start(&args.leds, led_inputs, devices.blinkstick, led_counters, tasks);
        let leads = crate::leads::start(
            client.clone(),
            &args.booth_namespace,
            &args.leads,
            booth.clone(),
            lead_metrics,
            labels.waker.clone(),
            tasks,
        )?;
        metrics.registry_mut().register_collector(Box::new(ScrapeTime {
            fog: fog.clone(),
            webhooks,
            leads: leads.stored.clone(),
        }));
        // The print queue takes its jobs from the Leads' status (printed once, in order).
        let print_jobs = crate::leads::print_jobs::LeadPrintJobs::new(leads.store.api().clone());
        labels.start_queue(Arc::new(print_jobs.clone()), booth.clone(), tasks);
        let visitor = crate::visitor::Visitor::start(&leads, booth.clone(), &args.visitor, &availability, tasks);
        let health = start_health(&client, args, (&booth, &cluster), (&leds, &labels, &fog), tasks);
        let state = AppState {
            cluster,
            booth,
            restarts,
            metrics: Arc::new(metrics),
            credentials,
            chaos,
            fog,
            leds,
            labels,
            print_jobs,
            button,
            web_metrics,
            sessions: Arc::new(Sessions::new()),
            csrf: Csrf::random(),
            qr_card: QrCard::of(args.dashboard.public_url.as_deref()).map(Arc::new),
            shutdown: tasks.token().clone(),
            availability,
            theatre,
            visitor,
            health,
            drains,
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

/// Runs the health checks now and every few minutes (the log, the Booth condition) and for the
/// control panel's Booth health card, reading the devices' health from their drivers.
fn start_health(
    client: &kube::Client,
    args: &AppArgs,
    (booth, pods): (&BoothHandle, &ClusterState),
    (leds, labels, fog): (&crate::leds::LedHandle, &crate::labels::LabelService, &Option<Fog>),
    tasks: &Tasks,
) -> HealthMonitor {
    let settings = args.health_settings(args.leds.mode.unwrap_or(crate::leds::LedMode::Virtual));
    let hardware = Hardware::Live { leds: leds.clone(), printer: labels.health.clone(), fog: fog.clone() };
    let cluster = Cluster::new(client.clone(), None);
    let sources = (BoothSource::Live(Box::new(booth.clone())), PodSource::Watched(pods.clone()));
    let context = health::Context::new(settings, Ok(cluster), sources, hardware);
    HealthMonitor::start(context, booth.clone(), tasks)
}

/// Force-deletes the pods of a lost node after `NODE_LOSS_THRESHOLD_SECONDS` (0: off).
fn start_remediation(client: &kube::Client, args: &AppArgs, cluster: &ClusterState, tasks: &Tasks) {
    if args.node_loss_threshold_seconds > 0 {
        let recorder = Recorder::new(
            client.clone(),
            Reporter { controller: "conferenceli".into(), instance: args.pod_name.clone() },
        );
        let remediation = Remediation {
            threshold: Duration::from_secs(args.node_loss_threshold_seconds),
            namespace: args.namespace.clone(),
        };
        tasks.spawn(
            "node loss remediation",
            remediation.run(client.clone(), cluster.clone(), recorder, tasks.token().clone()),
        );
    }
}

/// Starts the trickle of requests to the workload's Service (`AVAILABILITY_URL`, else the
/// in-cluster name of `critical-prod` in the target namespace) and the heal timer.
fn start_availability(
    args: &AppArgs,
    cluster: &ClusterState,
    booth: &BoothHandle,
    chaos: &ChaosBus,
    registry: &mut prometheus_client::registry::Registry,
    tasks: &Tasks,
) -> Result<Arc<Availability>, AppError> {
    let settings = &args.availability;
    let default_url = format!("http://critical-prod.{}.svc/", args.namespace);
    let url = settings.url_or(&default_url).map_err(|e| AppError::Availability(format!("AVAILABILITY_URL: {e}")))?;
    let availability = Availability::new(registry, settings.requests_per_second > 0.0);
    let booth = booth.clone();
    let today = Box::new(move || booth.spec().attract.today());
    availability.start(settings, url, cluster.clone(), chaos, today, tasks)?;
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
