//! The control panel's node buttons (staff session + CSRF token, like every panel action):
//! `POST /control/nodes/{name}/drain` cordons the node and evicts its pods as the disruption
//! budget allows, `POST /control/nodes/{name}/uncordon` ends a drain and lets the node take pods
//! again ([`crate::cluster::drain`]). Answers are JSON `{"message"}`; a node the cluster does not
//! have is 404. The kiosk shows what happens from the node watch: a drained ship sails out.
//!
//! May call: `crate::cluster`.

use super::control::{NoFields, StaffAction};
use super::error::PrivateError;
use super::page::message;
use super::{AppState, PanelState};
use crate::cluster::drain::Drain;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/control/nodes/{name}/drain", post(drain))
        .route("/control/nodes/{name}/uncordon", post(uncordon))
}

async fn drain(
    State(panel): State<PanelState>,
    Path(name): Path<String>,
    _: StaffAction<NoFields>,
) -> Result<Response, PrivateError> {
    let text = match panel.drains.drain(&name).await? {
        Drain::Started { pods: 0 } => format!("{name} cordoned: it had no pods of ours to evict"),
        Drain::Started { pods } => {
            format!("Draining {name}: cordoned, evicting its {pods} pods as the disruption budget allows")
        }
        Drain::Running => format!("{name} is being drained already"),
    };
    Ok(message(StatusCode::OK, text))
}

async fn uncordon(
    State(panel): State<PanelState>,
    Path(name): Path<String>,
    _: StaffAction<NoFields>,
) -> Result<Response, PrivateError> {
    panel.drains.uncordon(&name).await?;
    Ok(message(StatusCode::OK, format!("{name} uncordoned: it takes new pods again")))
}
