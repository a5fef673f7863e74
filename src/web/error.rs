//! What goes wrong answering a request, one type per listener, each turned into its answer in
//! one place: [`PrivateError`] for the booth's listener (the staff's scripts and pages, the
//! kiosk, the probes) and [`PublicError`] for the contact form's. Handlers return
//! `Result<_, PrivateError>` or `Result<_, PublicError>` and use `?`.
//!
//! Each type's `IntoResponse` is one match that decides every error's whole answer (status,
//! headers, body) once, its arms grouped by the kind of answer: who is asking (401, 403, and 429
//! for guessers), a request that makes no sense (400, 405, 413, 422), nothing there (404), not
//! now (409, 429 with or without `Retry-After`), and failures of the server's side (500, 502,
//! 503). The answers keep the shapes their clients rely on: the staff's scripts pipe every answer
//! of `/chaos`, `/nightmode`, the control panel's actions, the raffle and the label preview
//! through `jq .message`, so those are JSON `{"message"}`; `/config`, `/leads.csv` and the assets
//! answer plain text; refused logins and forms are the page again with what was wrong; the
//! visitors get pages in their language. Failures of the server's side (the Kubernetes API,
//! Odoo's lead store, a template) are logged here, once, with their cause; what a client did
//! wrong is not.
//!
//! The answers are built from `web::page` and `web::csrf`'s errors only: no handler is named
//! here, so every handler may name this module.
//!
//! May call: `crate::chaos`, `crate::cluster`, `crate::labels`, `crate::leads`, `crate::theatre`,
//! `crate::visitor`.

use super::csrf::CsrfError;
use super::page::{Page, message, problem};
use crate::chaos::ChaosError;
use crate::cluster::drain::DrainError;
use crate::visitor::i18n::{Lang, Text};
use crate::visitor::press::PressRefusal;
use crate::visitor::raffle::DrawError;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The realm browsers and curl show when they ask for credentials.
const REALM: &str = "conferenceli";

/// Why a request's HTTP Basic credentials were not let in (`web::auth` checks them); never says
/// which half of the credentials was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("invalid credentials")]
    Invalid,
}

/// Why a request to the booth's listener was not done, grouped by the kind of answer it gives.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrivateError {
    // Who is asking.
    /// No or wrong Basic credentials: 401 with a challenge.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// A control panel action without a live staff session: 401.
    #[error("Log in at /control first")]
    NotLoggedIn,
    /// Credentials from an address that guessed wrong too often lately: 429 with `Retry-After`.
    #[error("Too many wrong passwords from this address; try again in {retry_after} s")]
    TooManyGuesses { retry_after: u64 },
    /// A browser says another site's page sent a request that changes something: 403.
    #[error("Refused: another site's page sent this; use curl or {use_instead}")]
    FromAnotherSite { use_instead: &'static str },
    /// A control panel action without a valid CSRF token: 403.
    #[error(transparent)]
    BadToken(CsrfError),
    /// `/config` without a valid CSRF token: 403 in plain text (a browser form, not a script's).
    #[error(transparent)]
    SettingsBadToken(CsrfError),
    /// A refused control panel login: the login page again with why.
    #[error("{why}")]
    LoginRefused { why: LoginRefusal, page: Page },

    // A request that makes no sense.
    /// `/chaos` or `/nightmode` with a method other than GET or POST: 405 with `Allow`.
    #[error("Use GET or POST")]
    WrongMethod,
    /// A control panel action's form over the body limit: 413.
    #[error("The form is too large")]
    FormTooLarge,
    /// A query, a path or a form field that makes no sense: 400 with what was expected.
    #[error("{0}")]
    Invalid(String),
    /// A `/config` body that is not the settings form: 400.
    #[error("the form could not be read")]
    UnreadableForm,
    /// A `/config` body that could not be read at all (too large, cut off): axum's answer.
    #[error(transparent)]
    BodyUnread(#[from] BytesRejection),
    /// A `/config` multipart body that could not be read: its status and reason.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
    /// Settings that do not pass the checks: 422, the settings page with what is wrong.
    #[error("the settings were refused")]
    SettingsInvalid(Page),

    // Nothing there.
    /// The control panel asked for a scene the theatre does not have: 404.
    #[error("Unknown scene {:?}", .0.0)]
    UnknownScene(#[from] crate::theatre::UnknownScene),
    /// The control panel's fog button without a fog machine: 404.
    #[error("No fog machine is configured (FOG)")]
    NoFogMachine,
    /// A reprint of a Lead that does not exist: 404.
    #[error("No sign-up {0:?}")]
    NoSuchLead(String),
    /// The voucher preview while the Booth's voucher type is `none`: 404.
    #[error("no voucher configured (voucher type: none)")]
    NoVoucher,
    /// `/static/<file>` that the kiosk does not have: 404.
    #[error("no such file")]
    NoSuchAsset,

    // Outcomes of the features, which may be any of the kinds.
    /// The chaos button did not kill: 404 (nothing to kill), 429 with `Retry-After` (cooling
    /// down), 429 without (the disruption budget refused the eviction: nobody knows when the
    /// replacements will be Ready), 502 (the API failed otherwise), or 200 for a rehearsal.
    #[error(transparent)]
    Chaos(#[from] ChaosError),
    /// A node the control panel asked to drain or uncordon: 404 (no such node), 502 (the API
    /// did not change it).
    #[error(transparent)]
    Drain(#[from] DrainError),
    /// No raffle winner: 404 (nobody signed up), 409 (everybody drawn), 503 (the leads).
    #[error(transparent)]
    Draw(#[from] DrawError),

    // The server's side failed (logged with the cause).
    /// Night mode could not be written to the Booth: 502.
    #[error("The Booth resource could not be changed; try again")]
    NightModeUnchanged(#[source] kube::Error),
    /// A reprint could not be recorded in the Lead's status: 503.
    #[error(transparent)]
    ReprintNotRecorded(crate::labels::queue::StoreError),
    /// Settings that could not be written to the Booth: 503, the page with the reason.
    #[error("the booth settings could not be stored: {error}")]
    SettingsNotStored { error: kube::Error, page: Page },
    /// The CSV export could not list the Leads: 503.
    #[error("the leads could not be listed; try again")]
    LeadsUnlisted(#[source] kube::Error),
    /// The label preview could not be drawn: 500.
    #[error("the preview could not be rendered")]
    PreviewNotRendered(String),
    /// A template failed: 500.
    #[error("the page could not be rendered")]
    PageNotRendered(#[from] askama::Error),
}

/// Why a control panel login was refused (the login page says it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoginRefusal {
    /// 400
    #[error("Please enter the password.")]
    NoPassword,
    /// 403
    #[error(transparent)]
    BadToken(CsrfError),
    /// 429: too many wrong passwords in the last minute.
    #[error("Too many wrong passwords; wait a minute and try again.")]
    TooManyWrongPasswords,
    /// 401
    #[error("Wrong password.")]
    WrongPassword,
}

/// Whole seconds to wait for a `Retry-After`, at least one.
pub(crate) fn retry_after_seconds(left: Duration) -> u64 {
    left.as_secs_f64().ceil().max(1.0) as u64
}

fn with_header(mut response: Response, name: HeaderName, value: HeaderValue) -> Response {
    response.headers_mut().insert(name, value);
    response
}

fn with_retry_after(response: Response, seconds: u64) -> Response {
    with_header(response, header::RETRY_AFTER, HeaderValue::from(seconds))
}

/// A plain text answer (`/config`, `/leads.csv`, the assets: browsers and people read them).
fn plain(status: StatusCode, text: String) -> Response {
    (status, text).into_response()
}

/// What a `401` asks for: Basic credentials of [`REALM`], in UTF-8.
fn challenge() -> HeaderValue {
    HeaderValue::from_str(&format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"))
}

impl IntoResponse for PrivateError {
    /// Every error's answer, decided once (see the module's doc); server-side failures and wrong
    /// control panel passwords (which staff want to see) are logged, a client's mistake is its
    /// answer only. Never logs a credential.
    fn into_response(self) -> Response {
        use PrivateError as E;
        use StatusCode as S;
        let text = self.to_string();
        match self {
            // Who is asking: JSON for the scripts, a challenge where credentials are wanted.
            E::Unauthorized(error) => {
                let answer = message(S::UNAUTHORIZED, format!("Unauthorized: {error}"));
                with_header(answer, header::WWW_AUTHENTICATE, challenge())
            }
            E::NotLoggedIn => message(S::UNAUTHORIZED, text),
            E::TooManyGuesses { retry_after } => with_retry_after(message(S::TOO_MANY_REQUESTS, text), retry_after),
            E::FromAnotherSite { .. } | E::BadToken(_) => message(S::FORBIDDEN, text),
            E::SettingsBadToken(_) => plain(S::FORBIDDEN, text),
            E::LoginRefused { why, page } => page.with_status(match why {
                LoginRefusal::NoPassword => S::BAD_REQUEST,
                LoginRefusal::BadToken(_) => S::FORBIDDEN,
                LoginRefusal::TooManyWrongPasswords => S::TOO_MANY_REQUESTS,
                LoginRefusal::WrongPassword => {
                    tracing::warn!("control panel: wrong password");
                    S::UNAUTHORIZED
                }
            }),

            // A request that makes no sense.
            E::WrongMethod => {
                with_header(message(S::METHOD_NOT_ALLOWED, text), header::ALLOW, HeaderValue::from_static("GET, POST"))
            }
            E::FormTooLarge => message(S::PAYLOAD_TOO_LARGE, text),
            E::Invalid(_) => message(S::BAD_REQUEST, text),
            E::UnreadableForm => plain(S::BAD_REQUEST, text),
            E::BodyUnread(rejection) => rejection.into_response(),
            E::Multipart(error) => plain(error.status(), error.body_text()),
            E::SettingsInvalid(page) => page.with_status(S::UNPROCESSABLE_ENTITY),

            // Nothing there.
            E::UnknownScene(_)
            | E::NoFogMachine
            | E::NoSuchLead(_)
            | E::NoVoucher
            | E::Chaos(ChaosError::NothingToKill | ChaosError::NoSuchOrdinal(_) | ChaosError::AllTooYoung(_))
            | E::Drain(DrainError::NoSuchNode(_))
            | E::Draw(DrawError::NobodySignedUp(_)) => message(S::NOT_FOUND, text),
            E::NoSuchAsset => plain(S::NOT_FOUND, text),

            // Not now: taken already, cooling down, or Kubernetes' disruption budget said no.
            E::Draw(DrawError::EverybodyDrawn { .. }) => message(S::CONFLICT, text),
            E::Chaos(ChaosError::CoolingDown(left)) => {
                with_retry_after(message(S::TOO_MANY_REQUESTS, text), retry_after_seconds(left))
            }
            E::Chaos(ChaosError::BudgetHeld { .. }) => message(S::TOO_MANY_REQUESTS, text),

            // A rehearsal did what was asked (the button answers it as a success).
            E::Chaos(ChaosError::DryRun(_)) => message(S::OK, text),

            // The server's side failed: logged here with the cause.
            E::Chaos(ChaosError::Api { .. }) => message(S::BAD_GATEWAY, text),
            E::Drain(error @ DrainError::Api { .. }) => {
                tracing::warn!(%error, "could not drain or uncordon");
                message(S::BAD_GATEWAY, text)
            }
            E::NightModeUnchanged(error) => {
                tracing::warn!(%error, "could not change night mode");
                message(S::BAD_GATEWAY, text)
            }
            E::Draw(error @ (DrawError::Api(_) | DrawError::KeptChanging)) => {
                tracing::warn!(%error, "raffle draw failed");
                message(S::SERVICE_UNAVAILABLE, text)
            }
            E::ReprintNotRecorded(error) => {
                tracing::warn!(%error, "a reprint could not be recorded");
                message(S::SERVICE_UNAVAILABLE, text)
            }
            E::SettingsNotStored { error, page } => {
                tracing::error!(%error, "the booth settings could not be stored");
                page.with_status(S::SERVICE_UNAVAILABLE)
            }
            E::LeadsUnlisted(error) => {
                tracing::error!(%error, "listing leads for the CSV export failed");
                plain(S::SERVICE_UNAVAILABLE, text)
            }
            E::PreviewNotRendered(error) => {
                tracing::error!(%error, "rendering the label preview failed");
                message(S::INTERNAL_SERVER_ERROR, text)
            }
            E::PageNotRendered(error) => {
                tracing::error!(%error, "rendering a page failed");
                plain(S::INTERNAL_SERVER_ERROR, text)
            }
        }
    }
}

/// Why a request to the contact form's listener was not done; every answer is a page in the
/// visitor's language `Lang`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PublicError {
    /// Too many submissions or presses from this client: 429 with `Retry-After`.
    #[error("too many requests; try again in {retry_after} s")]
    RateLimited { t: Lang, retry_after: u64 },
    /// A body that is not the form: 400.
    #[error("the form could not be read")]
    Unreadable(Lang),
    /// No valid CSRF token: 403, reload the page.
    #[error("{1}")]
    BadToken(Lang, CsrfError),
    /// A submission with invalid fields: 422, the form again with what is wrong.
    #[error("the submission is invalid")]
    Invalid(Page),
    /// A valid submission that could not be stored: 503, the form again, to be sent again.
    #[error("{error}")]
    NotStored { error: crate::leads::StoreError, page: Page },
    /// Anything but the form's routes: 404.
    #[error("no such page")]
    NotFound(Lang),
    /// A refused visitor's press: 404 (off or unknown token), 410 (used), 429 with
    /// `Retry-After` (cooling down), 429 (the disruption budget said no), 503 (nothing to
    /// kill), 502 (failed).
    #[error("{1}")]
    PressRefused(Lang, PressRefusal),
}

/// A CSRF refusal in the visitor's language.
fn csrf_text(error: CsrfError, t: Lang) -> &'static str {
    match error {
        CsrfError::Missing => t.t(Text::CsrfMissing),
        CsrfError::Invalid => t.t(Text::CsrfInvalid),
    }
}

impl IntoResponse for PublicError {
    /// Every refusal's page, decided once; a store or a press that failed is logged.
    fn into_response(self) -> Response {
        use PublicError as E;
        use StatusCode as S;
        match self {
            // Not now: wait and try again.
            E::RateLimited { t, retry_after } => {
                let text = t.t(Text::TooManyText).replace("{seconds}", &retry_after.to_string());
                with_retry_after(problem(S::TOO_MANY_REQUESTS, t, Text::TooManyTitle, text), retry_after)
            }
            E::PressRefused(t, PressRefusal::CoolingDown(left)) => {
                let seconds = retry_after_seconds(left);
                let text = t.t(Text::PressCoolingText).replace("{seconds}", &seconds.to_string());
                with_retry_after(problem(S::TOO_MANY_REQUESTS, t, Text::PressCoolingTitle, text), seconds)
            }
            E::PressRefused(t, PressRefusal::BudgetHeld(budget)) => {
                let text = t.t(Text::PressHeldText).replace("{budget}", budget.budget.as_deref().unwrap_or("?"));
                problem(S::TOO_MANY_REQUESTS, t, Text::PressHeldTitle, text)
            }
            E::PressRefused(t, PressRefusal::Used(_)) => {
                problem(S::GONE, t, Text::PressUsedTitle, t.t(Text::PressUsedText))
            }

            // A request that makes no sense: the form again, or why it cannot be read.
            E::Unreadable(t) => problem(S::BAD_REQUEST, t, Text::UnreadableTitle, t.t(Text::UnreadableText)),
            E::BadToken(t, error) => problem(S::FORBIDDEN, t, Text::ReloadTitle, csrf_text(error, t)),
            E::Invalid(page) => page.with_status(S::UNPROCESSABLE_ENTITY),

            // Nothing there.
            E::NotFound(t) => problem(S::NOT_FOUND, t, Text::NotFoundTitle, t.t(Text::NotFoundText)),
            E::PressRefused(t, PressRefusal::Off) => {
                problem(S::NOT_FOUND, t, Text::PressOffTitle, t.t(Text::PressOffText))
            }
            E::PressRefused(t, PressRefusal::Unknown) => {
                problem(S::NOT_FOUND, t, Text::PressUnknownTitle, t.t(Text::PressUnknownText))
            }

            // The server's side failed (nothing to kill is the cluster's, not the visitor's).
            E::NotStored { error, page } => {
                tracing::error!(%error, "a submission could not be stored; the visitor was asked to send it again");
                page.with_status(S::SERVICE_UNAVAILABLE)
            }
            E::PressRefused(t, PressRefusal::NothingToKill) => {
                problem(S::SERVICE_UNAVAILABLE, t, Text::PressNothingTitle, t.t(Text::PressNothingText))
            }
            E::PressRefused(t, PressRefusal::Failed(reason)) => {
                tracing::warn!(%reason, "a visitor's press failed");
                problem(S::BAD_GATEWAY, t, Text::PressFailedTitle, t.t(Text::PressFailedText))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(response: Response) -> (StatusCode, axum::http::HeaderMap, String) {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_cooling_button_answers_429_with_whole_seconds_to_wait_in_json() {
        let error = PrivateError::Chaos(ChaosError::CoolingDown(Duration::from_millis(1200)));
        let text = error.to_string();
        let (status, headers, body) = answer(error.into_response()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "2");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body, serde_json::json!({ "message": text }).to_string());
    }

    #[tokio::test]
    async fn scripts_get_json_and_the_settings_form_plain_text() {
        let (status, headers, body) = answer(PrivateError::WrongMethod.into_response()).await;
        assert_eq!((status, headers[header::ALLOW].to_str().unwrap()), (StatusCode::METHOD_NOT_ALLOWED, "GET, POST"));
        assert_eq!(body, r#"{"message":"Use GET or POST"}"#);
        let (status, headers, body) = answer(PrivateError::SettingsBadToken(CsrfError::Missing).into_response()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(body, CsrfError::Missing.to_string());
    }

    #[tokio::test]
    async fn unauthorized_answers_carry_a_challenge_and_json() {
        let (status, headers, body) = answer(PrivateError::from(AuthError::Invalid).into_response()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"conferenceli\", charset=\"UTF-8\"");
        assert_eq!(body, r#"{"message":"Unauthorized: invalid credentials"}"#);
    }

    #[test]
    fn csrf_refusals_in_english_are_the_tokens_messages() {
        assert_eq!(csrf_text(CsrfError::Missing, Lang::En), CsrfError::Missing.to_string());
        assert_eq!(csrf_text(CsrfError::Invalid, Lang::En), CsrfError::Invalid.to_string());
    }

    #[tokio::test]
    async fn a_refused_login_is_the_page_again_with_its_status() {
        let page = Page::new("<p>Wrong password.</p>".into()).with_cookie(Some("conferenceli_csrf=x".into()));
        let error = PrivateError::LoginRefused { why: LoginRefusal::WrongPassword, page };
        let (status, headers, body) = answer(error.into_response()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::SET_COOKIE], "conferenceli_csrf=x");
        assert_eq!(body, "<p>Wrong password.</p>");
    }

    #[tokio::test]
    async fn visitors_get_pages_in_their_language_with_retry_after_when_waiting_helps() {
        let (status, headers, body) =
            answer(PublicError::RateLimited { t: Lang::De, retry_after: 7 }.into_response()).await;
        assert_eq!((status, &headers[header::RETRY_AFTER]), (StatusCode::TOO_MANY_REQUESTS, &HeaderValue::from(7)));
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert!(body.contains(&Lang::De.t(Text::TooManyText).replace("{seconds}", "7")), "{body}");
        let cooling = PublicError::PressRefused(Lang::En, PressRefusal::CoolingDown(Duration::from_millis(200)));
        let (status, headers, _) = answer(cooling.into_response()).await;
        assert_eq!((status, &headers[header::RETRY_AFTER]), (StatusCode::TOO_MANY_REQUESTS, &HeaderValue::from(1)));
        let (status, _, _) = answer(
            PublicError::PressRefused(Lang::En, PressRefusal::Used(jiff::Timestamp::UNIX_EPOCH)).into_response(),
        )
        .await;
        assert_eq!(status, StatusCode::GONE);
    }
}
