//! The visitor features on the public listener: the accent stylesheet (`GET /static/brand.css`),
//! the logo (`GET /static/logo`: the operator's, re-checked, with its own strict policy, or the
//! embedded one) and the one-time press of the chaos button (`POST /press/{token}`: CSRF token,
//! the form's rate limit, then `visitor::press`; a press that went through is answered 303 to
//! `GET /press/{token}`, its page: the pod it took and, once Kubernetes has it back, how long
//! that took, updating itself until then; before the press, the button). The page shows only
//! what that token earned: its own press, nothing of anyone else's. Refusals are pages in the
//! visitor's language: 404 when presses are off or no sign-up has the token (forged, mistyped or
//! deleted: we cannot tell them apart and say so), 410 for a used token, 429 with `Retry-After`
//! while the button cools down, 429 when the disruption budget says no.
//!
//! May call: `crate::chaos`, `crate::visitor`.

use super::{PublicState, is_https, rate_limited};
use crate::chaos::PressOutcome;
use crate::visitor::branding::brand_css;
use crate::visitor::i18n::{Lang, Text};
use crate::visitor::logo::{self, LOGO_CSP};
use crate::visitor::press::{PressRefusal, PressState};
use crate::web::error::PublicError;
use crate::web::page::render;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Instant;

/// The accent colours as CSS custom properties (changes apply on the next page load).
pub(super) async fn brand_stylesheet(State(state): State<PublicState>) -> Response {
    let css = brand_css(&state.inner.booth.spec().branding.palette());
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], css).into_response()
}

/// The operator's logo if it still passes the checks, else the embedded one.
pub(super) async fn logo(State(state): State<PublicState>) -> Response {
    let stored = state.inner.booth.spec().branding.logo;
    let (content_type, bytes) = stored
        .and_then(|logo| logo.decoded(state.inner.visitor.logo_max_bytes))
        .unwrap_or((logo::SVG, logo::DEFAULT_SVG.to_vec()));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(LOGO_CSP)),
        ],
        bytes,
    )
        .into_response()
}

/// The press form's body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PressForm {
    csrf_token: String,
}

/// `POST /press/{token}`.
pub(super) async fn press(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    t: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PublicError> {
    let state = &state.inner;
    if !state.visitor.presses.enabled() {
        return Err(PublicError::PressRefused(t, PressRefusal::Off));
    }
    let client = state.proxies.client_ip(peer.ip(), &headers);
    state.limiter.check(client, Instant::now()).map_err(|wait| rate_limited(t, wait))?;
    let form = serde_urlencoded::from_bytes::<PressForm>(&body).map_err(|_| PublicError::Unreadable(t))?;
    state.csrf.verify(&headers, Some(&form.csrf_token)).map_err(|error| PublicError::BadToken(t, error))?;
    let result =
        state.visitor.presses.press(&token, &state.leads.stored, &state.button, &state.visitor.announcements).await;
    let outcome = match &result {
        Ok(_) => PressOutcome::killed,
        Err(PressRefusal::CoolingDown(_)) => PressOutcome::cooling_down,
        Err(PressRefusal::NothingToKill) => PressOutcome::nothing_to_kill,
        Err(PressRefusal::Failed(_)) => PressOutcome::api_error,
        Err(PressRefusal::BudgetHeld(_)) => PressOutcome::budget_refused,
        Err(PressRefusal::Off | PressRefusal::Unknown | PressRefusal::Used(_)) => PressOutcome::refused,
    };
    state.web_metrics.pressed(outcome);
    result.map_err(|refused| PublicError::PressRefused(t, refused))?;
    // Its page, at the same link: a reload there is a look, never a second press.
    Ok(Redirect::to(&format!("/press/{token}?lang={}", t.code())).into_response())
}

/// The page of a press (`press.html`).
#[derive(Template)]
#[template(path = "press.html")]
struct PressPage {
    t: Lang,
    brand_title: String,
    title: String,
    message: String,
    /// The pod the press took.
    pod: Option<String>,
    /// How long Kubernetes took to bring it back, written the visitor's way.
    seconds: Option<String>,
    /// Reload in a moment: the heal is still to come.
    refresh: bool,
    token: String,
    /// Not pressed yet: the button, with the form's CSRF token.
    offer: Option<String>,
}

/// `GET /press/{token}`: what that token's press came to (see the module's doc).
pub(super) async fn show_press(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    t: Lang,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let inner = &state.inner;
    let press = inner.visitor.presses.state(&token, &inner.leads.stored).await;
    let press = press.map_err(|refused| PublicError::PressRefused(t, refused))?;
    let mut page = PressPage {
        t,
        brand_title: inner.brand(t).title,
        title: String::new(),
        message: String::new(),
        pod: None,
        seconds: None,
        refresh: false,
        token: token.clone(),
        offer: None,
    };
    let mut set_cookie = None;
    match press {
        PressState::Waiting => {
            let issued = inner.csrf.issue(&headers, is_https(inner, peer, &headers));
            set_cookie = issued.set_cookie;
            (page.title, page.message, page.offer) =
                (t.t(Text::PressTitle).into(), t.t(Text::PressText).into(), Some(issued.token));
        }
        PressState::Pressing => {
            (page.title, page.message, page.refresh) =
                (t.t(Text::PressPressingTitle).into(), t.t(Text::PressPressingText).into(), true);
        }
        PressState::Healing { pod } => {
            page.title = t.t(Text::PressedTitle).into();
            page.message = t.t(Text::PressedText).replace("{pod}", &pod);
            (page.pod, page.refresh) = (Some(pod), true);
        }
        PressState::Healed { pod, milliseconds } => {
            let seconds = t.seconds(milliseconds);
            page.title = t.t(Text::PressHealedTitle).into();
            page.message = t.t(Text::PressHealedText).replace("{seconds}", &seconds);
            (page.pod, page.seconds) = (Some(pod), Some(seconds));
        }
        PressState::Untimed { pod } => {
            (page.title, page.message, page.pod) =
                (t.t(Text::PressUntimedTitle).into(), t.t(Text::PressUntimedText).into(), Some(pod));
        }
    }
    Ok(render(&page).with_cookie(set_cookie).into_response())
}
