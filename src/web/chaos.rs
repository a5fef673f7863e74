//! `GET|POST /chaos` (the red button) and `GET|POST /nightmode` (scripts), both behind HTTP Basic
//! auth with the chaos credentials. Every answer is JSON with a `message` (the button's key
//! binding pipes it through `jq .message`). The kill itself is [`crate::cluster::chaos`]; this
//! module maps its outcome onto HTTP. It is also used by the control panel's chaos buttons.

use super::AppState;
use super::auth::check_basic;
use super::kiosk::OutcomeLabel;
use crate::cluster::chaos::{Aim, ChaosError};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chaos", get(chaos).post(chaos).fallback(wrong_method))
        .route("/nightmode", get(night_mode).post(set_night_mode).fallback(wrong_method))
}

/// Scripts pipe every answer through `jq .message`, so even a wrong method answers JSON.
async fn wrong_method() -> Response {
    let mut response = message(StatusCode::METHOD_NOT_ALLOWED, "Use GET or POST");
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

/// Every answer of these routes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub night_mode: Option<bool>,
}

/// A JSON `{"message"}` answer with `status`.
pub fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(Message { message: text.into(), night_mode: None })).into_response()
}

/// Presses the chaos button and answers as `/chaos` does: 200, 404, 429 (with `Retry-After`) or
/// 502 when the API refused the delete.
pub async fn press(state: &AppState, aim: Aim) -> Response {
    let result = state.dashboard.chaos.press(aim).await;
    let outcome = match &result {
        Ok(_) => "killed",
        Err(ChaosError::NothingToKill | ChaosError::NoSuchOrdinal(_)) => "nothing_to_kill",
        Err(ChaosError::CoolingDown(_)) => "cooling_down",
        Err(ChaosError::Api { .. }) => "api_error",
    };
    state.dashboard.metrics.chaos_presses.get_or_create(&OutcomeLabel { outcome }).inc();
    match result {
        Ok(pod) => message(StatusCode::OK, format!("Pod {} deleted", pod.name)),
        Err(error) => {
            let status = match &error {
                ChaosError::NothingToKill | ChaosError::NoSuchOrdinal(_) => StatusCode::NOT_FOUND,
                ChaosError::CoolingDown(_) => StatusCode::TOO_MANY_REQUESTS,
                ChaosError::Api { .. } => StatusCode::BAD_GATEWAY,
            };
            let mut response = message(status, error.to_string());
            if let ChaosError::CoolingDown(left) = error {
                let seconds = left.as_secs_f64().ceil().max(1.0) as u64;
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

async fn chaos(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = check_basic(&headers, &state.credentials.chaos) {
        return error.into_response();
    }
    press(&state, Aim::Random).await
}

/// Sets night mode in the Booth's spec, answering with the mode now in force.
pub async fn apply_night_mode(state: &AppState, on: bool) -> Response {
    match state.booth.patch_spec(serde_json::json!({ "nightMode": on })).await {
        Ok(booth) => night_mode_answer(booth.spec.night_mode),
        Err(error) => {
            tracing::warn!(%error, "could not change night mode");
            message(StatusCode::BAD_GATEWAY, "The Booth resource could not be changed; try again")
        }
    }
}

fn night_mode_answer(on: bool) -> Response {
    let text = if on { "Night mode is on" } else { "Night mode is off" };
    (StatusCode::OK, Json(Message { message: text.into(), night_mode: Some(on) })).into_response()
}

async fn night_mode(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = check_basic(&headers, &state.credentials.chaos) {
        return error.into_response();
    }
    night_mode_answer(state.booth.night_mode())
}

#[derive(Deserialize)]
struct NightModeQuery {
    /// `on`, `off` or `toggle` (the default).
    state: Option<String>,
}

/// The requested night mode given the current one, or why the request makes no sense.
fn requested_night_mode(requested: Option<&str>, current: bool) -> Result<bool, String> {
    match requested.map(str::to_ascii_lowercase).as_deref() {
        None | Some("toggle") => Ok(!current),
        Some("on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(other) => Err(format!("Unknown night mode state {other:?}: use on, off or toggle")),
    }
}

async fn set_night_mode(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<NightModeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(error) = check_basic(&headers, &state.credentials.chaos) {
        return error.into_response();
    }
    let requested = match query {
        Ok(Query(q)) => q.state,
        Err(_) => return message(StatusCode::BAD_REQUEST, "Malformed query: use ?state=on, off or toggle"),
    };
    match requested_night_mode(requested.as_deref(), state.booth.night_mode()) {
        Ok(on) => apply_night_mode(&state, on).await,
        Err(text) => message(StatusCode::BAD_REQUEST, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn night_mode_requests_are_understood() {
        assert_eq!(requested_night_mode(None, false), Ok(true));
        assert_eq!(requested_night_mode(Some("toggle"), true), Ok(false));
        assert_eq!(requested_night_mode(Some("ON"), true), Ok(true));
        assert_eq!(requested_night_mode(Some("off"), true), Ok(false));
        assert!(requested_night_mode(Some("dusk"), true).unwrap_err().contains("on, off or toggle"));
    }
}
