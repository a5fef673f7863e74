//! `GET|POST /chaos` (the red button) and `GET|POST /nightmode` (scripts), both behind HTTP Basic
//! auth with the chaos credentials; the ones that change something also refuse requests a
//! browser says another site's page made (`from_another_site`). Every answer is JSON with a
//! `message` (the button's key binding pipes it through `jq .message`): "Pod critical-prod-3
//! evicted", or "Kubernetes said no: the disruption budget critical-prod needs 3 healthy pods
//! and has 3" (429) when the budget refused. The kill itself is [`crate::chaos`]; this module
//! maps its outcome onto HTTP. It is also used by the control panel's chaos buttons.
//!
//! May call: `crate::booth`, `crate::chaos`, `crate::cluster`.

use super::auth::StaffCredentials;
use super::auth::check_basic;
use super::error::PrivateError;
use super::page::{Message, message};
use super::{AppState, ChaosState};
use crate::booth::BoothHandle;
use crate::chaos::{Aim, ChaosError, PressOutcome};
use crate::cluster::Presser;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chaos", get(chaos).post(chaos).fallback(wrong_method))
        .route("/nightmode", get(night_mode).post(set_night_mode).fallback(wrong_method))
}

/// Scripts pipe every answer through `jq .message`, so even a wrong method answers JSON.
async fn wrong_method() -> PrivateError {
    PrivateError::WrongMethod
}

/// Presses the chaos button and answers as `/chaos` does: 200, or the [`ChaosError`] (404, 429
/// with `Retry-After` during the cool-down, 429 naming the disruption budget that refused the
/// eviction, or 502 when the API failed otherwise).
pub(super) async fn press(state: &ChaosState, aim: Aim, by: Presser) -> Result<Response, PrivateError> {
    let result = state.button.press(aim, by).await;
    state.web_metrics.pressed(PressOutcome::of(&result));
    match result {
        Ok(taken) => Ok(message(StatusCode::OK, taken.message())),
        // A rehearsal did what was asked: pick and announce.
        Err(error @ ChaosError::DryRun(_)) => Ok(message(StatusCode::OK, error.to_string())),
        Err(error) => Err(error.into()),
    }
}

async fn chaos(
    State(state): State<ChaosState>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
) -> Result<Response, PrivateError> {
    check_basic(&headers, &credentials.chaos)?;
    refuse_other_sites(&headers, "the control panel at /control")?;
    press(&state, Aim::Random, Presser::Button).await
}

/// Whether a browser says the request was made by another site's page (a link, an image, a form
/// or a script there). `/chaos` and `POST /nightmode` change things without a CSRF token (the red
/// button's `curl` could not fetch one), so a browser that has cached the Basic credentials must
/// not let another site press them. Scripts send neither header and are let in; browsers send
/// `Sec-Fetch-Site` (`none` when someone typed the address), and an `Origin` on every POST.
pub(crate) fn from_another_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some(site) if site != "same-origin" && site != "none") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return false };
    // `Origin: null` (sandboxed frames, some redirects) has no host and is refused too.
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, host)| host);
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    origin_host.is_none() || origin_host != host
}

/// Refuses a request [`from_another_site`], naming the way in (`use_instead`) that works.
pub(super) fn refuse_other_sites(headers: &HeaderMap, use_instead: &'static str) -> Result<(), PrivateError> {
    if from_another_site(headers) { Err(PrivateError::FromAnotherSite { use_instead }) } else { Ok(()) }
}

/// Sets night mode in the Booth's spec, answering with the mode now in force.
pub(super) async fn apply_night_mode(booth: &BoothHandle, on: bool) -> Result<Response, PrivateError> {
    let spec = booth.change_spec(|spec| spec.night_mode = on).await.map_err(PrivateError::NightModeUnchanged)?;
    Ok(night_mode_answer(spec.night_mode))
}

fn night_mode_answer(on: bool) -> Response {
    let text = if on { "Night mode is on" } else { "Night mode is off" };
    (StatusCode::OK, Json(Message { message: text.into(), night_mode: Some(on) })).into_response()
}

async fn night_mode(
    State(booth): State<BoothHandle>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
) -> Result<Response, PrivateError> {
    check_basic(&headers, &credentials.chaos)?;
    Ok(night_mode_answer(booth.night_mode()))
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
    State(booth): State<BoothHandle>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
    query: Result<Query<NightModeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PrivateError> {
    check_basic(&headers, &credentials.chaos)?;
    refuse_other_sites(&headers, "the control panel at /control")?;
    let Ok(Query(query)) = query else {
        return Err(PrivateError::Invalid("Malformed query: use ?state=on, off or toggle".into()));
    };
    let on = requested_night_mode(query.state.as_deref(), booth.night_mode()).map_err(PrivateError::Invalid)?;
    apply_night_mode(&booth, on).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn requests_from_other_sites_pages_are_told_apart_from_scripts_and_typed_addresses() {
        let host = ("host", "booth.local:32231");
        assert!(!from_another_site(&headers(&[host])), "curl");
        assert!(!from_another_site(&headers(&[host, ("sec-fetch-site", "none")])), "typed in the address bar");
        assert!(!from_another_site(&headers(&[host, ("sec-fetch-site", "same-origin")])));
        assert!(!from_another_site(&headers(&[host, ("origin", "http://booth.local:32231")])));
        assert!(from_another_site(&headers(&[host, ("sec-fetch-site", "cross-site")])));
        assert!(from_another_site(&headers(&[host, ("sec-fetch-site", "same-site")])), "the public form's port");
        assert!(from_another_site(&headers(&[host, ("origin", "http://evil.example")])));
        assert!(from_another_site(&headers(&[host, ("origin", "http://booth.local:8081")])));
        assert!(from_another_site(&headers(&[host, ("origin", "null")])));
    }

    #[test]
    fn night_mode_requests_are_understood() {
        assert_eq!(requested_night_mode(None, false), Ok(true));
        assert_eq!(requested_night_mode(Some("toggle"), true), Ok(false));
        assert_eq!(requested_night_mode(Some("ON"), true), Ok(true));
        assert_eq!(requested_night_mode(Some("off"), true), Ok(false));
        assert!(requested_night_mode(Some("dusk"), true).unwrap_err().contains("on, off or toggle"));
    }
}
