//! The staff control panel (`/control`, for phones): password login, a signed session cookie,
//! logout, and buttons for random chaos, chaos by ordinal, night mode, the kill counter and the
//! kiosk's scene events, with a live list of the pods (from `/stream`) and, at the top, the Booth
//! health card: the setup checks (`crate::health`), refreshed from `/control/health` while the
//! panel is open.
//!
//! Sessions: a random id, signed with a per-process HMAC key, sent as an `HttpOnly`,
//! `SameSite=Strict` cookie and remembered server-side until logout or expiry, so logging out
//! really ends a session. A restart logs staff out. Every form carries a CSRF token
//! ([`super::csrf`]); action answers are JSON `{"message"}` like `/chaos`.
//!
//! This module may use the chaos button, the Booth, the theatre's scene channel, the raffle's
//! list of winners and the health checks.
//!
//! May call: `crate::booth`, `crate::chaos`, `crate::cluster`, `crate::labels`, `crate::rate`, `crate::secret`,
//! `crate::theatre`, `crate::visitor`.

use super::auth::StaffCredentials;
use super::chaos::{apply_night_mode, press};
use super::csrf::{FIELD, cookie_value};
use super::error::{LoginRefusal, PrivateError};
use super::kiosk::script_json;
use super::page::{Page, message};
use super::{AppState, ChaosState, DeviceState, PanelState, StreamsState};
use crate::booth::BoothHandle;
use crate::chaos::Aim;
use crate::cluster::Presser;
use crate::labels::queue::StoreError;
use crate::rate::SlidingWindow;
use crate::secret::SigningKey;
use crate::theatre::{SCENES, SceneInfo, SceneKind};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRef, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SESSION_COOKIE: &str = "conferenceli_session";
/// A conference day and then some.
const SESSION_TTL: Duration = Duration::from_secs(14 * 3600);
/// Sessions kept at most; the oldest are forgotten first (a password guesser cannot grow memory).
const MAX_SESSIONS: usize = 256;

/// Wrong passwords allowed per [`FAILURE_WINDOW`] before logins are refused for a while.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// The live staff sessions.
pub(crate) struct Sessions {
    key: SigningKey,
    live: Mutex<HashMap<String, Instant>>,
    /// Recent wrong passwords (all clients together: the panel has one password to guess).
    failures: SlidingWindow<()>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    pub fn new() -> Self {
        Self {
            key: SigningKey::random(),
            live: Mutex::new(HashMap::new()),
            failures: SlidingWindow::new(MAX_FAILURES, FAILURE_WINDOW, 1),
        }
    }

    /// Whether a login may be tried now: not after `MAX_FAILURES` wrong passwords in the last
    /// `FAILURE_WINDOW`.
    pub(crate) fn login_allowed(&self, now: Instant) -> bool {
        self.failures.blocked_for(&(), now).is_none()
    }

    pub(crate) fn note_failure(&self, now: Instant) {
        self.failures.record((), now);
    }

    /// Starts a session; returns the `Set-Cookie` value.
    pub fn start(&self, now: Instant) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, expires| *expires > now);
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone())
        {
            live.remove(&oldest);
        }
        live.insert(id.clone(), now + SESSION_TTL);
        format!(
            "{SESSION_COOKIE}={id}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            self.key.sign(id.as_bytes()),
            SESSION_TTL.as_secs()
        )
    }

    /// The session id of a request, if its cookie is well signed (checked in constant time).
    fn id_of(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie_value(headers, SESSION_COOKIE)?;
        let (id, signature) = value.split_once('.')?;
        self.key.verifies(id.as_bytes(), signature).then(|| id.to_string())
    }

    /// Whether the request belongs to a live session.
    pub fn is_valid(&self, headers: &HeaderMap, now: Instant) -> bool {
        let Some(id) = self.id_of(headers) else { return false };
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(&id).is_some_and(|expires| *expires > now)
    }

    /// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
    pub fn end(&self, headers: &HeaderMap) -> String {
        if let Some(id) = self.id_of(headers) {
            self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        }
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/control", get(panel))
        .route("/control/login", post(login))
        .route("/control/logout", post(logout))
        .route("/control/chaos", post(chaos_random))
        .route("/control/chaos/{index}", post(chaos_ordinal))
        .route("/control/nightmode", post(night_mode))
        .route("/control/kills", post(set_kills))
        .route("/control/scene/{name}", post(scene))
        .route("/control/fog", post(fog))
        .route("/control/leads/{name}/reprint", post(reprint))
        .route("/control/health", get(health))
}

#[derive(Template)]
#[template(path = "control_login.html")]
struct LoginPage {
    csrf_field: &'static str,
    csrf_token: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "control.html")]
struct PanelPage {
    csrf_field: &'static str,
    csrf_token: String,
    night: bool,
    kill_count: u64,
    /// Ambient events and cameos the staff can start.
    shows: Vec<&'static SceneInfo>,
    /// Kill animations, the guard and the node scenes, previewed on a drill crate or ship.
    kills: Vec<&'static SceneInfo>,
    initial_json: String,
    /// Whether a fog machine is configured (the fog button).
    fog: bool,
    /// The latest sign-ups with their label state (the reprint buttons).
    leads: Vec<LeadRow>,
    /// The current campaign's raffle winners, first draw first.
    winners: Vec<crate::visitor::raffle::Winner>,
    /// The last health report (`null` before the first run ends), for the Booth health card.
    health_json: String,
}

/// One sign-up in the panel's label list.
struct LeadRow {
    name: String,
    visitor: String,
    code: String,
    print_state: &'static str,
}

/// How many of the latest sign-ups the panel lists.
const LEADS_SHOWN: usize = 20;

/// The latest sign-ups that have labels, newest first (empty when the Leads cannot be read).
async fn latest_leads(devices: &DeviceState) -> Vec<LeadRow> {
    let mut leads = match devices.print_jobs.leads().await {
        Ok(leads) => leads,
        Err(error) => {
            tracing::warn!(%error, "control panel: cannot list the leads");
            return Vec::new();
        }
    };
    leads.retain(|lead| !lead.spec.labels.is_empty());
    leads.sort_by_key(|lead| std::cmp::Reverse(lead.spec.submitted_at));
    leads
        .into_iter()
        .take(LEADS_SHOWN)
        .map(|lead| LeadRow {
            print_state: lead.status.as_ref().map_or("Pending", |s| s.print_state.as_str()),
            name: lead.metadata.name.unwrap_or_default(),
            visitor: lead.spec.name,
            code: lead.spec.code,
        })
        .collect()
}

/// The login page, with `error` when a login was refused.
fn login_page(state: &PanelState, headers: &HeaderMap, error: Option<String>) -> Result<Page, PrivateError> {
    let issued = state.csrf.issue(headers, false);
    let page = LoginPage { csrf_field: FIELD, csrf_token: issued.token, error };
    Ok(Page::render(&page)?.with_cookie(issued.set_cookie))
}

/// A refused login: the login page again, saying why.
fn refuse_login(state: &PanelState, headers: &HeaderMap, why: LoginRefusal) -> PrivateError {
    match login_page(state, headers, Some(why.to_string())) {
        Ok(page) => PrivateError::LoginRefused { why, page },
        Err(error) => error,
    }
}

async fn panel(
    State(state): State<PanelState>,
    State(streams): State<StreamsState>,
    State(devices): State<DeviceState>,
    headers: HeaderMap,
) -> Result<Page, PrivateError> {
    if !state.sessions.is_valid(&headers, Instant::now()) {
        return login_page(&state, &headers, None);
    }
    let issued = state.csrf.issue(&headers, false);
    let page = PanelPage {
        csrf_field: FIELD,
        csrf_token: issued.token,
        night: streams.booth.night_mode(),
        kill_count: streams.booth.kill_count(),
        shows: SCENES.iter().filter(|s| matches!(s.kind, SceneKind::Ambient | SceneKind::Cameo)).collect(),
        kills: SCENES.iter().filter(|s| !matches!(s.kind, SceneKind::Ambient | SceneKind::Cameo)).collect(),
        initial_json: script_json(&super::kiosk::KioskState::now(&streams)),
        fog: devices.fog.is_some(),
        leads: latest_leads(&devices).await,
        winners: streams.visitor.raffle.winners().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "control panel: cannot list the raffle winners");
            Vec::new()
        }),
        health_json: script_json(&state.health.latest()),
    };
    Ok(Page::render(&page)?.with_cookie(issued.set_cookie))
}

#[derive(Deserialize)]
struct LoginForm {
    password: String,
    csrf_token: Option<String>,
}

/// Starts a session for the right password; returns its `Set-Cookie` value.
fn log_in(
    state: &PanelState,
    credentials: &StaffCredentials,
    headers: &HeaderMap,
    form: Option<LoginForm>,
) -> Result<String, LoginRefusal> {
    let form = form.ok_or(LoginRefusal::NoPassword)?;
    state.csrf.verify(headers, form.csrf_token.as_deref()).map_err(LoginRefusal::BadToken)?;
    let now = Instant::now();
    if !state.sessions.login_allowed(now) {
        return Err(LoginRefusal::TooManyWrongPasswords);
    }
    let chaos = &credentials.chaos;
    if !chaos.matches(&chaos.username, &form.password) {
        state.sessions.note_failure(now);
        return Err(LoginRefusal::WrongPassword);
    }
    Ok(state.sessions.start(Instant::now()))
}

async fn login(
    State(state): State<PanelState>,
    State(credentials): State<StaffCredentials>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PrivateError> {
    let form = form.ok().map(|Form(form)| form);
    let cookie = log_in(&state, &credentials, &headers, form).map_err(|why| refuse_login(&state, &headers, why))?;
    Ok(with_cookie(Redirect::to("/control").into_response(), cookie))
}

/// Adds a session cookie to a response.
fn with_cookie(mut response: Response, set_cookie: String) -> Response {
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Just the CSRF token of a form.
#[derive(Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

/// The fields of a staff action's form, let in only with a live session and a valid CSRF
/// token: the one gate every state-changing panel action goes through. `None` when the fields
/// do not parse (each action says what it expected).
pub(super) struct StaffAction<T>(Option<T>);

impl<S, T> FromRequest<S> for StaffAction<T>
where
    S: Send + Sync,
    PanelState: FromRef<S>,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = PrivateError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PrivateError> {
        let panel = PanelState::from_ref(state);
        let headers = request.headers().clone();
        if !panel.sessions.is_valid(&headers, Instant::now()) {
            return Err(PrivateError::NotLoggedIn);
        }
        let body = Bytes::from_request(request, state).await.map_err(|_| PrivateError::FormTooLarge)?;
        let token = serde_urlencoded::from_bytes::<CsrfField>(&body).ok().and_then(|f| f.csrf_token);
        panel.csrf.verify(&headers, token.as_deref()).map_err(PrivateError::BadToken)?;
        Ok(Self(serde_urlencoded::from_bytes(&body).ok()))
    }
}

/// An action without fields of its own.
#[derive(Deserialize)]
pub(super) struct NoFields {}

async fn logout(
    State(state): State<PanelState>,
    headers: HeaderMap,
    form: Result<Form<CsrfField>, FormRejection>,
) -> Result<Response, PrivateError> {
    let token = form.ok().and_then(|Form(f)| f.csrf_token);
    state.csrf.verify(&headers, token.as_deref()).map_err(PrivateError::BadToken)?;
    let cookie = state.sessions.end(&headers);
    Ok(with_cookie(Redirect::to("/control").into_response(), cookie))
}

async fn chaos_random(State(state): State<ChaosState>, _: StaffAction<NoFields>) -> Result<Response, PrivateError> {
    press(&state, Aim::Random, Presser::Button).await
}

/// Reads a pod ordinal from the path.
fn parse_ordinal(text: &str) -> Result<u32, String> {
    text.parse::<u32>().map_err(|_| format!("Not a pod ordinal: {text:?} (expected 0, 1, 2, ...)"))
}

async fn chaos_ordinal(
    State(state): State<ChaosState>,
    Path(index): Path<String>,
    _: StaffAction<NoFields>,
) -> Result<Response, PrivateError> {
    let ordinal = parse_ordinal(&index).map_err(PrivateError::Invalid)?;
    press(&state, Aim::Ordinal(ordinal), Presser::Button).await
}

#[derive(Deserialize)]
struct NightModeForm {
    /// `on` or `off`.
    night: String,
}

async fn night_mode(
    State(booth): State<BoothHandle>,
    StaffAction(form): StaffAction<NightModeForm>,
) -> Result<Response, PrivateError> {
    match form.as_ref().map(|f| f.night.as_str()) {
        Some("on") => apply_night_mode(&booth, true).await,
        Some("off") => apply_night_mode(&booth, false).await,
        _ => Err(PrivateError::Invalid("Choose night mode on or off".into())),
    }
}

#[derive(Deserialize)]
struct KillsForm {
    count: String,
}

/// The kill counter's highest value.
const MAX_KILL_COUNT: u64 = 1_000_000_000;

async fn set_kills(
    State(booth): State<BoothHandle>,
    StaffAction(form): StaffAction<KillsForm>,
) -> Result<Response, PrivateError> {
    let count =
        form.and_then(|f| f.count.trim().parse::<u64>().ok()).filter(|count| *count <= MAX_KILL_COUNT).ok_or_else(
            || PrivateError::Invalid(format!("The kill counter takes a whole number from 0 to {MAX_KILL_COUNT}")),
        )?;
    booth.set_kill_count(count);
    Ok(message(StatusCode::OK, format!("Kill counter set to {count}")))
}

async fn scene(
    State(state): State<StreamsState>,
    Path(name): Path<String>,
    _: StaffAction<NoFields>,
) -> Result<Response, PrivateError> {
    let scene = state.theatre.play(&name)?;
    let text = match scene.kind {
        SceneKind::Kill | SceneKind::Guard => format!("Previewing {name} on a drill crate on the kiosk"),
        SceneKind::Node => format!("Previewing {name} on a drill ship on the kiosk"),
        SceneKind::Ambient | SceneKind::Cameo => format!("Playing {name} on the kiosk"),
    };
    Ok(message(StatusCode::OK, text))
}

/// `GET /control/health`: the Booth health card's report, at most a few seconds old.
async fn health(State(state): State<PanelState>, headers: HeaderMap) -> Result<Response, PrivateError> {
    if !state.sessions.is_valid(&headers, Instant::now()) {
        return Err(PrivateError::NotLoggedIn);
    }
    let report = state.health.report().await;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(report)).into_response())
}

async fn fog(State(devices): State<DeviceState>, _: StaffAction<NoFields>) -> Result<Response, PrivateError> {
    devices.fog.as_ref().ok_or(PrivateError::NoFogMachine)?.puff();
    Ok(message(StatusCode::OK, "Fog!"))
}

async fn reprint(
    State(devices): State<DeviceState>,
    Path(name): Path<String>,
    _: StaffAction<NoFields>,
) -> Result<Response, PrivateError> {
    devices.print_jobs.reprint(&name).await.map_err(|error| match error {
        StoreError::UnknownJob(_) => PrivateError::NoSuchLead(name.clone()),
        error => PrivateError::ReprintNotRecorded(error),
    })?;
    Ok(message(StatusCode::OK, format!("The labels of {name} print again")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_headers(set_cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let pair = set_cookie.split(';').next().unwrap();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        headers
    }

    #[test]
    fn sessions_are_signed_expire_and_end_at_logout() {
        let sessions = Sessions::new();
        let now = Instant::now();
        let set_cookie = sessions.start(now);
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
        let headers = cookie_headers(&set_cookie);
        assert!(sessions.is_valid(&headers, now));
        assert!(!sessions.is_valid(&headers, now + SESSION_TTL + Duration::from_secs(1)));
        let forged = set_cookie.replacen('.', ".0", 1);
        assert!(!sessions.is_valid(&cookie_headers(&forged), now));
        assert!(!Sessions::new().is_valid(&headers, now), "another key does not accept it");
        assert!(sessions.end(&headers).contains("Max-Age=0"));
        assert!(!sessions.is_valid(&headers, now), "logged out");
    }

    #[test]
    fn the_session_store_is_bounded() {
        let sessions = Sessions::new();
        let now = Instant::now();
        let first = cookie_headers(&sessions.start(now));
        for i in 1..=MAX_SESSIONS {
            sessions.start(now + Duration::from_millis(i as u64));
        }
        assert_eq!(sessions.live.lock().unwrap().len(), MAX_SESSIONS);
        assert!(!sessions.is_valid(&first, now), "the oldest session was dropped");
    }

    #[test]
    fn wrong_passwords_are_limited_per_minute() {
        let sessions = Sessions::new();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(sessions.login_allowed(now), "attempt {i}");
            sessions.note_failure(now);
        }
        assert!(!sessions.login_allowed(now + Duration::from_secs(59)));
        assert!(sessions.login_allowed(now + FAILURE_WINDOW), "allowed again after a minute");
    }

    #[test]
    fn ordinals_are_numbers() {
        assert_eq!(parse_ordinal("3"), Ok(3));
        assert!(parse_ordinal("three").unwrap_err().contains("Not a pod ordinal"));
        assert!(parse_ordinal("-1").is_err());
    }
}
