//! The raffle draw over HTTP: `POST /raffle/draw` for scripts (admin Basic auth, refused when a
//! browser says another site's page sent it, since it takes no CSRF token) and
//! `POST /control/raffle/draw` for the control panel's button (staff session and CSRF token).
//! Both answer JSON: `{"message", "winner": {"name", "code"}}`, 404 when no lead of the current
//! campaign consented, 409 when everybody has been drawn already, 503 when the leads cannot be
//! read or written. The draw itself is `visitor::raffle`.
//!
//! May call: `crate::visitor`.

use super::AppState;
use super::auth::StaffCredentials;
use super::auth::check_basic;
use super::chaos::refuse_other_sites;
use super::control::{NoFields, StaffAction};
use super::error::PrivateError;
use crate::visitor::Visitor;
use crate::visitor::raffle::Winner;
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

async fn draw(visitor: &Visitor) -> Result<Response, PrivateError> {
    let winner = visitor.raffle.draw(&visitor.announcements).await?;
    let message = format!("Draw {}: {} ({})", winner.number, winner.name, winner.code);
    Ok((StatusCode::OK, Json(Drawn { message, winner: &winner })).into_response())
}

async fn draw_for_script(
    State(visitor): State<Visitor>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
) -> Result<Response, PrivateError> {
    check_basic(&headers, &credentials.admin)?;
    refuse_other_sites(&headers, "/control")?;
    draw(&visitor).await
}

async fn draw_for_staff(State(visitor): State<Visitor>, _: StaffAction<NoFields>) -> Result<Response, PrivateError> {
    draw(&visitor).await
}
