//! What goes wrong answering a request, one type per listener, each turned into its answer in
//! one place: [`PrivateError`] for the booth's listener (the staff's scripts and pages, the
//! kiosk, the probes) and [`PublicError`] for the contact form's. Handlers return
//! `Result<_, PrivateError>` or `Result<_, PublicError>` and use `?`.
//!
//! The answers keep the shapes their clients rely on: the staff's scripts pipe every answer of
//! `/chaos`, `/nightmode`, the control panel's actions, the raffle and the label preview through
//! `jq .message`, so those are JSON `{"message"}`; `/config`, `/leads.csv` and the assets answer
//! plain text; refused logins and forms are the page again with what was wrong; the visitors
//! get pages in their language. Failures of the server's side (the Kubernetes API, Odoo's lead
//! store, a template) are logged here, once, with their cause; what a client did wrong is not.
//!
//! May call: `crate::chaos`, `crate::cluster`, `crate::labels`, `crate::leads`, `crate::theatre`,
//! `crate::visitor`.

use super::auth::AuthError;
use super::chaos::message;
use super::csrf::CsrfError;
use super::page::Page;
use super::public::{csrf_text, problem};
use crate::chaos::ChaosError;
use crate::cluster::drain::DrainError;
use crate::visitor::i18n::{Lang, Text};
use crate::visitor::press::PressRefusal;
use crate::visitor::raffle::DrawError;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Why a request to the booth's listener was not done.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrivateError {
    /// No or wrong Basic credentials: 401 with a challenge.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// Credentials from an address that guessed wrong too often lately: 429 with `Retry-After`.
    #[error("Too many wrong passwords from this address; try again in {retry_after} s")]
    TooManyGuesses { retry_after: u64 },
    /// `/chaos` or `/nightmode` with a method other than GET or POST: 405 with `Allow`.
    #[error("Use GET or POST")]
    WrongMethod,
    /// A browser says another site's page sent a request that changes something: 403.
    #[error("Refused: another site's page sent this; use curl or {use_instead}")]
    FromAnotherSite { use_instead: &'static str },
    /// A control panel action without a live staff session: 401.
    #[error("Log in at /control first")]
    NotLoggedIn,
    /// A control panel action's form over the body limit: 413.
    #[error("The form is too large")]
    FormTooLarge,
    /// A control panel action without a valid CSRF token: 403.
    #[error(transparent)]
    BadToken(CsrfError),
    /// A query, a path or a form field that makes no sense: 400 with what was expected.
    #[error("{0}")]
    Invalid(String),
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
    /// The chaos button did not kill: 404 (nothing to kill), 429 with `Retry-After` (cooling
    /// down), 429 without (the disruption budget refused the eviction: nobody knows when the
    /// replacements will be Ready) or 502 (the API failed otherwise).
    #[error(transparent)]
    Chaos(#[from] ChaosError),
    /// A node the control panel asked to drain or uncordon: 404 (no such node), 502 (the API
    /// did not change it).
    #[error(transparent)]
    Drain(#[from] crate::cluster::drain::DrainError),
    /// Night mode could not be written to the Booth: 502.
    #[error("The Booth resource could not be changed; try again")]
    NightModeUnchanged(#[source] kube::Error),
    /// No raffle winner: 404 (nobody signed up), 409 (everybody drawn), 503 (the leads).
    #[error(transparent)]
    Draw(#[from] DrawError),
    /// A reprint could not be recorded in the Lead's status: 503.
    #[error(transparent)]
    ReprintNotRecorded(crate::labels::queue::StoreError),
    /// The label preview could not be drawn: 500.
    #[error("the preview could not be rendered")]
    PreviewNotRendered(String),
    /// A template failed: 500.
    #[error("the page could not be rendered")]
    PageNotRendered(#[from] askama::Error),
    /// A `/config` body that is not the settings form: 400.
    #[error("the form could not be read")]
    UnreadableForm,
    /// A `/config` body that could not be read at all (too large, cut off): axum's answer.
    #[error(transparent)]
    BodyUnread(#[from] BytesRejection),
    /// A `/config` multipart body that could not be read: its status and reason.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
    /// `/config` without a valid CSRF token: 403 in plain text (a browser form, not a script's).
    #[error(transparent)]
    SettingsBadToken(CsrfError),
    /// Settings that do not pass the checks: 422, the settings page with what is wrong.
    #[error("the settings were refused")]
    SettingsInvalid(Page),
    /// Settings that could not be written to the Booth: 503, the page with the reason.
    #[error("the booth settings could not be stored: {error}")]
    SettingsNotStored { error: kube::Error, page: Page },
    /// The CSV export could not list the Leads: 503.
    #[error("the leads could not be listed; try again")]
    LeadsUnlisted(#[source] kube::Error),
    /// `/static/<file>` that the kiosk does not have: 404.
    #[error("no such file")]
    NoSuchAsset,
    /// A refused control panel login: the login page again with why.
    #[error("{why}")]
    LoginRefused { why: LoginRefusal, page: Page },
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

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl PrivateError {
    fn status(&self) -> StatusCode {
        match self {
            PrivateError::Unauthorized(_) | PrivateError::NotLoggedIn => StatusCode::UNAUTHORIZED,
            PrivateError::TooManyGuesses { .. } => StatusCode::TOO_MANY_REQUESTS,
            PrivateError::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            PrivateError::FromAnotherSite { .. } | PrivateError::BadToken(_) | PrivateError::SettingsBadToken(_) => {
                StatusCode::FORBIDDEN
            }
            PrivateError::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PrivateError::Invalid(_) | PrivateError::UnreadableForm => StatusCode::BAD_REQUEST,
            PrivateError::UnknownScene(_)
            | PrivateError::NoFogMachine
            | PrivateError::NoSuchLead(_)
            | PrivateError::NoVoucher
            | PrivateError::NoSuchAsset => StatusCode::NOT_FOUND,
            PrivateError::Chaos(error) => match error {
                ChaosError::NothingToKill | ChaosError::NoSuchOrdinal(_) | ChaosError::AllTooYoung(_) => {
                    StatusCode::NOT_FOUND
                }
                // A rehearsal did what was asked (the button answers it as a success).
                ChaosError::DryRun(_) => StatusCode::OK,
                ChaosError::CoolingDown(_) | ChaosError::BudgetHeld { .. } => StatusCode::TOO_MANY_REQUESTS,
                ChaosError::Api { .. } => StatusCode::BAD_GATEWAY,
            },
            PrivateError::NightModeUnchanged(_) => StatusCode::BAD_GATEWAY,
            PrivateError::Drain(error) => match error {
                DrainError::NoSuchNode(_) => StatusCode::NOT_FOUND,
                DrainError::Api { .. } => StatusCode::BAD_GATEWAY,
            },
            PrivateError::Draw(error) => match error {
                DrawError::NobodySignedUp(_) => StatusCode::NOT_FOUND,
                DrawError::EverybodyDrawn { .. } => StatusCode::CONFLICT,
                DrawError::Api(_) | DrawError::KeptChanging => StatusCode::SERVICE_UNAVAILABLE,
            },
            PrivateError::ReprintNotRecorded(_)
            | PrivateError::SettingsNotStored { .. }
            | PrivateError::LeadsUnlisted(_) => StatusCode::SERVICE_UNAVAILABLE,
            PrivateError::PreviewNotRendered(_) | PrivateError::PageNotRendered(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PrivateError::BodyUnread(rejection) => rejection.status(),
            PrivateError::Multipart(error) => error.status(),
            PrivateError::SettingsInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PrivateError::LoginRefused { why, .. } => match why {
                LoginRefusal::NoPassword => StatusCode::BAD_REQUEST,
                LoginRefusal::BadToken(_) => StatusCode::FORBIDDEN,
                LoginRefusal::TooManyWrongPasswords => StatusCode::TOO_MANY_REQUESTS,
                LoginRefusal::WrongPassword => StatusCode::UNAUTHORIZED,
            },
        }
    }

    /// Logs what failed on the server's side (and wrong control panel passwords, which staff
    /// want to see); a client's mistake is its answer only. Never logs a credential.
    fn log(&self) {
        match self {
            PrivateError::NightModeUnchanged(error) => tracing::warn!(%error, "could not change night mode"),
            PrivateError::Drain(error @ DrainError::Api { .. }) => {
                tracing::warn!(%error, "could not drain or uncordon")
            }
            PrivateError::Draw(error @ (DrawError::Api(_) | DrawError::KeptChanging)) => {
                tracing::warn!(%error, "raffle draw failed");
            }
            PrivateError::ReprintNotRecorded(error) => tracing::warn!(%error, "a reprint could not be recorded"),
            PrivateError::PreviewNotRendered(error) => tracing::error!(%error, "rendering the label preview failed"),
            PrivateError::PageNotRendered(error) => tracing::error!(%error, "rendering a page failed"),
            PrivateError::SettingsNotStored { error, .. } => {
                tracing::error!(%error, "the booth settings could not be stored");
            }
            PrivateError::LeadsUnlisted(error) => tracing::error!(%error, "listing leads for the CSV export failed"),
            PrivateError::LoginRefused { why: LoginRefusal::WrongPassword, .. } => {
                tracing::warn!("control panel: wrong password");
            }
            _ => {}
        }
    }
}

impl IntoResponse for PrivateError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        match self {
            PrivateError::Unauthorized(error) => error.into_response(),
            PrivateError::WrongMethod => {
                let mut response = message(status, self.to_string());
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                response
            }
            PrivateError::TooManyGuesses { retry_after } => {
                with_retry_after(message(status, self.to_string()), retry_after)
            }
            PrivateError::Chaos(ChaosError::CoolingDown(left)) => {
                with_retry_after(message(status, self.to_string()), retry_after_seconds(left))
            }
            PrivateError::PageNotRendered(_)
            | PrivateError::UnreadableForm
            | PrivateError::SettingsBadToken(_)
            | PrivateError::LeadsUnlisted(_)
            | PrivateError::NoSuchAsset => (status, self.to_string()).into_response(),
            PrivateError::BodyUnread(rejection) => rejection.into_response(),
            PrivateError::Multipart(error) => (status, error.body_text()).into_response(),
            PrivateError::SettingsInvalid(page)
            | PrivateError::SettingsNotStored { page, .. }
            | PrivateError::LoginRefused { page, .. } => page.with_status(status),
            PrivateError::FromAnotherSite { .. }
            | PrivateError::NotLoggedIn
            | PrivateError::FormTooLarge
            | PrivateError::BadToken(_)
            | PrivateError::Invalid(_)
            | PrivateError::UnknownScene(_)
            | PrivateError::NoFogMachine
            | PrivateError::NoSuchLead(_)
            | PrivateError::NoVoucher
            | PrivateError::Chaos(_)
            | PrivateError::Drain(_)
            | PrivateError::NightModeUnchanged(_)
            | PrivateError::Draw(_)
            | PrivateError::ReprintNotRecorded(_)
            | PrivateError::PreviewNotRendered(_) => message(status, self.to_string()),
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

impl IntoResponse for PublicError {
    fn into_response(self) -> Response {
        match self {
            PublicError::RateLimited { t, retry_after } => {
                let text = t.t(Text::TooManyText).replace("{seconds}", &retry_after.to_string());
                with_retry_after(problem(StatusCode::TOO_MANY_REQUESTS, t, Text::TooManyTitle, text), retry_after)
            }
            PublicError::Unreadable(t) => {
                problem(StatusCode::BAD_REQUEST, t, Text::UnreadableTitle, t.t(Text::UnreadableText))
            }
            PublicError::BadToken(t, error) => {
                problem(StatusCode::FORBIDDEN, t, Text::ReloadTitle, csrf_text(error, t))
            }
            PublicError::Invalid(page) => page.with_status(StatusCode::UNPROCESSABLE_ENTITY),
            PublicError::NotStored { error, page } => {
                tracing::error!(%error, "a submission could not be stored; the visitor was asked to send it again");
                page.with_status(StatusCode::SERVICE_UNAVAILABLE)
            }
            PublicError::NotFound(t) => problem(StatusCode::NOT_FOUND, t, Text::NotFoundTitle, t.t(Text::NotFoundText)),
            PublicError::PressRefused(t, refused) => press_refusal(t, refused),
        }
    }
}

/// The page for a refused press.
fn press_refusal(t: Lang, refused: PressRefusal) -> Response {
    let (status, title, text) = match &refused {
        PressRefusal::Off => (StatusCode::NOT_FOUND, Text::PressOffTitle, Text::PressOffText),
        PressRefusal::Unknown => (StatusCode::NOT_FOUND, Text::PressUnknownTitle, Text::PressUnknownText),
        PressRefusal::Used(_) => (StatusCode::GONE, Text::PressUsedTitle, Text::PressUsedText),
        PressRefusal::CoolingDown(_) => {
            (StatusCode::TOO_MANY_REQUESTS, Text::PressCoolingTitle, Text::PressCoolingText)
        }
        PressRefusal::NothingToKill => {
            (StatusCode::SERVICE_UNAVAILABLE, Text::PressNothingTitle, Text::PressNothingText)
        }
        PressRefusal::BudgetHeld(_) => (StatusCode::TOO_MANY_REQUESTS, Text::PressHeldTitle, Text::PressHeldText),
        PressRefusal::Failed(reason) => {
            tracing::warn!(%reason, "a visitor's press failed");
            (StatusCode::BAD_GATEWAY, Text::PressFailedTitle, Text::PressFailedText)
        }
    };
    if let PressRefusal::CoolingDown(left) = refused {
        let seconds = retry_after_seconds(left);
        let message = t.t(text).replace("{seconds}", &seconds.to_string());
        return with_retry_after(problem(status, t, title, message), seconds);
    }
    if let PressRefusal::BudgetHeld(budget) = &refused {
        let name = budget.budget.as_deref().unwrap_or("?");
        return problem(status, t, title, t.t(text).replace("{budget}", name));
    }
    problem(status, t, title, t.t(text))
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
