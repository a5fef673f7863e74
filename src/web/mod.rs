//! The HTTP side of the booth. The private listener (LAN only) serves the kiosk, the staff's
//! tools, `/api/state` and the probes; everything it shows comes from [`ClusterState`] and the
//! Booth, never from a request to the Kubernetes API per browser.
//!
//! It shows the cluster state and the Booth and calls the features (chaos button, LEDs, labels,
//! leads, fog, the visitors' raffle and presses) on behalf of staff and visitors. What belongs
//! to a request lives here (the staff sessions, the CSRF keys, the guess limiter), along with
//! the web layer's own counters (`metrics`), the kiosk's QR card (`qr_card`) and the error
//! types of both listeners (`error`); the booth's state lives in the features, which `app`
//! builds and hands over in [`AppState`]: one substate per area, each handler extracting
//! only the ones it uses through axum's `FromRef`.
//!
//! May call: `crate::attract`, `crate::automations`, `crate::availability`, `crate::booth`,
//! `crate::chaos`, `crate::cluster`, `crate::health`, `crate::labels`, `crate::leads`,
//! `crate::leds`, `crate::metrics`, `crate::rate`, `crate::secret`, `crate::theatre`, `crate::visitor`.

pub(crate) mod assets;
pub mod auth;
pub mod chaos;
pub(crate) mod control;
pub mod csrf;
pub(crate) mod error;
pub(crate) mod health;
pub mod kiosk;
pub mod labels;
pub mod limits;
pub(crate) mod metrics;
pub(crate) mod nodes;
pub(crate) mod page;
pub mod public;
pub(crate) mod qr_card;
pub mod raffle;
pub mod settings;
pub(crate) mod sse;

use crate::automations::{Fog, FogStatus};
use crate::booth::BoothHandle;
use crate::chaos::{Chaos, KubeActions};
use crate::cluster::{ChaosBus, ClusterState, NodeView, PodView, WatchRestarts};
use crate::metrics::Metrics;
use auth::StaffCredentials;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use control::Sessions;
use csrf::Csrf;
use metrics::WebMetrics;
use qr_card::QrCard;
use serde::Serialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the handlers of the private listener may use: one substate per area, each handler
/// extracting only the ones it needs (`State<ChaosState>`, `State<BoothHandle>`, …) through
/// axum's `FromRef`. Every part is a cheap handle: a substate may hold the same handle as
/// another (the kiosk's streams read the Booth too).
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The pods and nodes as the watches see them.
    pub cluster: ClusterState,
    /// The Booth: settings and counters.
    pub booth: BoothHandle,
    /// The staff's passwords (the chaos scripts' and the admin's).
    pub credentials: StaffCredentials,
    pub streams: StreamsState,
    pub chaos: ChaosState,
    pub panel: PanelState,
    pub devices: DeviceState,
    pub probes: ProbeState,
    /// The raffle and the kiosk's visitor announcements.
    pub visitor: crate::visitor::Visitor,
}

/// What the kiosk's page and its event streams read.
#[derive(Clone)]
pub struct StreamsState {
    pub cluster: ClusterState,
    pub booth: BoothHandle,
    /// Where chaos actions are announced (the kiosk's kill animations).
    pub bus: ChaosBus,
    /// The trickle of requests to the workload: counts and heal times.
    pub availability: Arc<crate::availability::Availability>,
    /// The scene channel every kiosk plays from.
    pub theatre: crate::theatre::Theatre,
    /// The kiosk's visitor announcements.
    pub visitor: crate::visitor::Visitor,
    /// The kiosk's QR card of `PUBLIC_URL`, when it is set.
    pub(crate) qr_card: Option<Arc<QrCard>>,
    /// Open event streams (counted by name).
    pub(crate) web_metrics: WebMetrics,
    /// Fires at shutdown: open streams end so the server can stop gracefully.
    pub(crate) shutdown: CancellationToken,
}

/// The chaos button and the bus it announces on.
#[derive(Clone)]
pub struct ChaosState {
    /// The chaos button, shared with attract mode's autopilot (which presses through it too).
    pub(crate) button: Arc<Chaos<KubeActions>>,
    /// Where chaos actions are announced (LED strobe, fog, webhooks listen).
    pub bus: ChaosBus,
    /// Chaos presses by outcome.
    pub(crate) web_metrics: WebMetrics,
}

/// The control panel's own: staff sessions, CSRF keys, the Booth health card, node drains.
#[derive(Clone)]
pub struct PanelState {
    /// The control panel's staff sessions.
    pub(crate) sessions: Arc<Sessions>,
    /// The key of the control panel's CSRF tokens.
    pub(crate) csrf: Csrf,
    /// The setup checks, live (the control panel's Booth health card).
    pub health: crate::health::monitor::HealthMonitor,
    /// Node drains started from the control panel.
    pub(crate) drains: Arc<crate::cluster::drain::Drains>,
}

/// The booth's devices: fog machine, LEDs, label printer and its print jobs.
#[derive(Clone)]
pub struct DeviceState {
    /// The fog machine, when there is one.
    pub fog: Option<Fog>,
    /// The LEDs' current frame and health.
    pub leds: crate::leds::LedHandle,
    /// Label printing: tape size, printer health, the print queue's wake-up.
    pub labels: crate::labels::LabelService,
    /// The Leads as print jobs (the control panel's reprint).
    pub(crate) print_jobs: crate::leads::print_jobs::LeadPrintJobs,
}

/// What `/metrics` and the probes read besides the cluster and the Booth.
#[derive(Clone)]
pub struct ProbeState {
    pub metrics: Arc<Metrics>,
    pub restarts: Arc<WatchRestarts>,
}

/// The kiosk's display mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayMode {
    Day,
    Night,
}

/// `GET /api/state`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateResponse {
    pub pods: Vec<PodView>,
    pub nodes: Vec<NodeView>,
    pub kill_count: u64,
    pub mode: DisplayMode,
    pub fog: FogStatus,
    /// The BlinkStick frame: `[{"index": 0, "color": "#00ff00"}, ...]`.
    pub leds: crate::leds::frame::Frame,
    /// Requests to the workload's Service: `{requests, failures, byPod, heals}`.
    pub availability: crate::availability::AvailabilityView,
}

impl DisplayMode {
    /// The mode the Booth asks for now.
    pub(crate) fn of(booth: &BoothHandle) -> Self {
        if booth.night_mode() { DisplayMode::Night } else { DisplayMode::Day }
    }
}

/// Routes of the private listener.
pub(crate) fn private_router(state: AppState) -> Router {
    let router = Router::new()
        .merge(kiosk::routes())
        .merge(sse::routes())
        .merge(chaos::routes())
        .merge(control::routes())
        .merge(assets::routes())
        .route("/api/state", get(api_state))
        .merge(health::routes())
        .merge(labels::routes())
        .merge(raffle::routes())
        .merge(nodes::routes())
        .with_state(state);
    with_private_headers(router)
}

/// The headers every answer of the private listener carries: no other site may frame its pages
/// (a framed staff button could be clicked by a visitor who thinks they are somewhere else),
/// browsers do not guess content types, and no address leaks in a `Referer`. Only
/// `frame-ancestors` is set: the kiosk and the control panel load their own scripts, and a
/// fuller policy for them is a change of its own.
pub(crate) fn with_private_headers(router: Router) -> Router {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}

async fn api_state(State(state): State<StreamsState>, State(devices): State<DeviceState>) -> Json<StateResponse> {
    let snapshot = state.cluster.snapshot();
    Json(StateResponse {
        pods: snapshot.pods.clone(),
        nodes: snapshot.nodes.clone(),
        kill_count: state.booth.kill_count(),
        mode: DisplayMode::of(&state.booth),
        fog: devices
            .fog
            .as_ref()
            .map(Fog::status)
            .unwrap_or_else(|| FogStatus { relay: "off".into(), ..FogStatus::default() }),
        leds: devices.leds.frame(),
        availability: state.availability.view(),
    })
}

async fn metrics(State(probes): State<ProbeState>, State(cluster): State<ClusterState>) -> impl IntoResponse {
    let body = probes.metrics.render(&cluster, &probes.restarts);
    ([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}

async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Readiness {
    ready: bool,
    checks: ReadinessChecks,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadinessChecks {
    pods_watch: &'static str,
    nodes_watch: &'static str,
    booth: String,
    watch_restarts: u64,
    /// The LEDs: `off`, `virtual`, `connected`, `disconnected: <why>` (never affects readiness).
    leds: String,
    /// The label printer's state (informational: a printer out of labels does not make the app unready).
    printer: String,
}

fn synced(yes: bool) -> &'static str {
    if yes { "synced" } else { "syncing" }
}

/// Ready once both watches have listed their resources and the Booth has been read.
async fn readyz(
    State(cluster): State<ClusterState>,
    State(booth): State<BoothHandle>,
    State(probes): State<ProbeState>,
    State(devices): State<DeviceState>,
) -> impl IntoResponse {
    use std::sync::atomic::Ordering::Relaxed;
    let checks = ReadinessChecks {
        pods_watch: synced(cluster.pods_synced()),
        nodes_watch: synced(cluster.nodes_synced()),
        booth: match booth.problem() {
            Some(problem) => problem,
            None => synced(booth.synced()).to_string(),
        },
        watch_restarts: probes.restarts.pods.load(Relaxed) + probes.restarts.nodes.load(Relaxed),
        leds: devices.leds.health().to_string(),
        printer: devices.labels.health.summary(),
    };
    let ready = cluster.is_synced() && booth.synced();
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { ready, checks }))
}
