//! The raffle draw over HTTP: `POST /raffle/draw` for scripts (admin Basic auth, refused when a
//! browser says another site's page sent it, since it takes no CSRF token) and
//! `POST /control/raffle/draw` for the control panel's button (staff session and CSRF token).
//! Both answer JSON: `{"message", "winner": {"name", "code"}}`, 404 when no lead of the current
//! campaign consented, 409 when everybody has been drawn already, 503 when the leads cannot be
//! read or written. The draw itself is `visitor::raffle`.
//!
//! May call: `crate::visitor`.

use super::AppState;
use super::auth::check_basic;
use super::chaos::{from_another_site, message};
use super::control::{NoFields, StaffAction};
use crate::visitor::raffle::{DrawError, Winner};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/raffle/draw", post(draw_for_script)).route("/control/raffle/draw", post(draw_for_staff))
}

#[derive(Serialize)]
struct Drawn<'a> {
    message: String,
    winner: &'a Winner,
}

async fn draw(state: &AppState) -> Response {
    match state.visitor.raffle.draw(&state.visitor.announcements).await {
        Ok(winner) => {
            let message = format!("Draw {}: {} ({})", winner.number, winner.name, winner.code);
            (StatusCode::OK, Json(Drawn { message, winner: &winner })).into_response()
        }
        Err(error) => {
            let status = match &error {
                DrawError::NobodySignedUp(_) => StatusCode::NOT_FOUND,
                DrawError::EverybodyDrawn { .. } => StatusCode::CONFLICT,
                DrawError::Api(_) | DrawError::KeptChanging => {
                    tracing::warn!(%error, "raffle draw failed");
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            message(status, error.to_string())
        }
    }
}

async fn draw_for_script(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = check_basic(&headers, &state.credentials.admin) {
        return error.into_response();
    }
    if from_another_site(&headers) {
        return message(StatusCode::FORBIDDEN, "Refused: another site's page sent this; use curl or /control");
    }
    draw(&state).await
}

async fn draw_for_staff(State(state): State<AppState>, _: StaffAction<NoFields>) -> Response {
    draw(&state).await
}
