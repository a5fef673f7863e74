//! The probes and the metrics. The booth's `/healthz`, `/readyz` and `/metrics` are served on the
//! private listener and, alone, on the health listener (`HEALTH_LISTEN_ADDR`), where the
//! kubelet's probes and Prometheus's scrapes are never held back by the booth LAN's limits (a
//! crowd holding every connection of the private listener must not get the booth restarted).
//! `conferenceli blinkt` serves its own two probes there.
//!
//! May call: `crate::leds` (the Blinkt!'s probes).

use super::{AppState, healthz, metrics, readyz, synced, with_private_headers};
use crate::leds::blinkt::BlinktProbes;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;

/// `/healthz`, `/readyz` and `/metrics`, wherever the booth serves them.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The health listener of `run` and `demo`: the probes and the metrics, nothing else.
pub(crate) fn router(state: AppState) -> Router {
    with_private_headers(routes().with_state(state))
}

/// The health listener of `conferenceli blinkt`: `/healthz` while the process serves, `/readyz`
/// once this node and its pods are listed.
pub(crate) fn blinkt_router(probes: BlinktProbes) -> Router {
    let router = Router::new().route("/healthz", get(healthz)).route("/readyz", get(blinkt_ready)).with_state(probes);
    with_private_headers(router)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlinktReadiness {
    ready: bool,
    pods_watch: &'static str,
    nodes_watch: &'static str,
    /// Informational: a Blinkt! that lost its GPIO is reconnected, not restarted.
    leds: String,
}

async fn blinkt_ready(State(probes): State<BlinktProbes>) -> impl IntoResponse {
    let ready = probes.ready();
    let readiness = BlinktReadiness {
        ready,
        pods_watch: synced(probes.pods_synced()),
        nodes_watch: synced(probes.nodes_synced()),
        leds: probes.leds(),
    };
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(readiness))
}
