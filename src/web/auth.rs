//! HTTP Basic authentication for the staff routes (`/chaos`, `/config`, `/leads.csv`, ...).
//!
//! Credentials are compared in constant time: both sides are hashed with SHA-256 and the digests
//! compared with `subtle`, so neither the content nor the length of the secret leaks through
//! timing. Failures are an `AuthError`, which `web::error` answers: 401 with `WWW-Authenticate`
//! and a JSON `{"message": ...}` body (the red button's key binding pipes every answer through
//! `jq .message`).
//!
//! Guessing is slowed per client address: after `AUTH_FAILURES_PER_MINUTE` wrong credentials in
//! a minute, `limit_guesses` answers that address's requests that carry credentials with 429
//! until the oldest failure is a minute old. Per address, so a guesser on the booth LAN cannot
//! lock the red button out for everyone.
//!
//! May call: `crate::rate`, `crate::secret`.

use super::error::{AuthError, PrivateError};
use crate::rate::SlidingWindow;
use crate::secret::Secret;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The credentials of the staff routes.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    /// `/chaos`, `/nightmode` and the control panel (upstream: the dashboard's CHAOS_BASIC_AUTH_*).
    pub chaos: Credentials,
    /// `/config`, `/leads.csv`, `/labels/preview.png` (upstream: the contact form's BASIC_AUTH_*).
    pub admin: Credentials,
}

/// A username and password pair that a request must present.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Credentials {
    #[cfg(any(test, feature = "test-support"))]
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: Secret::new(password) }
    }

    /// Compares both halves in constant time, without short-circuiting on the first.
    pub fn matches(&self, username: &str, password: &str) -> bool {
        let user_ok = digest(username.as_bytes()).ct_eq(&digest(self.username.as_bytes()));
        let pass_ok = digest(password.as_bytes()).ct_eq(&digest(self.password.expose().as_bytes()));
        (user_ok & pass_ok).into()
    }
}

/// Reads `Authorization: Basic base64(user:password)`.
pub fn parse_basic(value: &HeaderValue) -> Result<(String, String), AuthError> {
    let text = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| AuthError::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (user, password) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
    Ok((user.to_string(), password.to_string()))
}

/// Checks a request's Basic credentials.
pub fn check_basic(headers: &HeaderMap, expected: &Credentials) -> Result<(), AuthError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let (user, password) = parse_basic(value)?;
    if expected.matches(&user, &password) { Ok(()) } else { Err(AuthError::Invalid) }
}

/// The window in which wrong credentials are counted.
pub(crate) const GUESS_WINDOW: Duration = Duration::from_secs(60);
/// Client addresses tracked at most (a scan from many addresses cannot grow memory without end).
const MAX_TRACKED_CLIENTS: usize = 4096;

/// Recent wrong credentials per client address: at most the configured number per
/// [`GUESS_WINDOW`], [`MAX_TRACKED_CLIENTS`] addresses tracked.
pub(crate) type GuessLimiter = SlidingWindow<IpAddr>;

/// Allows `limit` wrong credentials per address and [`GUESS_WINDOW`].
pub(crate) fn guess_limiter(limit: u32) -> GuessLimiter {
    SlidingWindow::new(limit, GUESS_WINDOW, MAX_TRACKED_CLIENTS)
}

/// Middleware of the private listener: refuses the requests that carry credentials from an
/// address that guessed wrong too often (429 with `Retry-After`), and counts every 401 answered
/// to a request that carried credentials.
pub(crate) async fn limit_guesses(State(limiter): State<Arc<GuessLimiter>>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let Some(client) = client.filter(|_| request.headers().contains_key(header::AUTHORIZATION)) else {
        return next.run(request).await;
    };
    if let Some(wait) = limiter.blocked_for(&client, Instant::now()) {
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return PrivateError::TooManyGuesses { retry_after }.into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        limiter.record(client, Instant::now());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_checked() {
        let creds = Credentials::new("admin", "s3cret");
        // "admin:s3cret", "admin:wrong", "admin" (no colon)
        assert_eq!(check_basic(&header("Basic YWRtaW46czNjcmV0"), &creds), Ok(()));
        assert_eq!(check_basic(&header("basic YWRtaW46czNjcmV0"), &creds), Ok(()));
        assert_eq!(check_basic(&header("Basic YWRtaW46d3Jvbmc="), &creds), Err(AuthError::Invalid));
        assert_eq!(check_basic(&header("Basic YWRtaW4="), &creds), Err(AuthError::Malformed));
        assert_eq!(check_basic(&header("Basic !!!"), &creds), Err(AuthError::Malformed));
        assert_eq!(check_basic(&header("Bearer YWRtaW46czNjcmV0"), &creds), Err(AuthError::Malformed));
        assert_eq!(check_basic(&header("Basic"), &creds), Err(AuthError::Malformed));
        assert_eq!(check_basic(&HeaderMap::new(), &creds), Err(AuthError::Missing));
        assert!(!creds.matches("admin", "s3cret "));
        assert!(!creds.matches("Admin", "s3cret"));
    }
}
