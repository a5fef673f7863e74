//! The public listener: the visitors' contact form (`GET /`, `POST /`), its result pages and its
//! one static asset. Nothing else answers here (404): this side is reachable from the Internet
//! through the tunnel.
//!
//! A submission is rate limited per client, size limited, CSRF checked and validated; it becomes
//! a `Lead` resource before the visitor sees "thank you". Odoo is never called on this path: the
//! lead controller sends the lead afterwards.
//!
//! May call: `crate::leads` (validation, store, country list), `crate::booth` (the Booth
//! handle); within `web`, `csrf`.

use super::csrf::Csrf;
use crate::booth::BoothHandle;
use crate::leads::form::{self, FieldErrors, FormInput};
use crate::leads::ratelimit::{RateLimiter, TrustedProxies};
use crate::leads::{Leads, LeadsArgs, StoreError, crd};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest accepted form body: every field at its limit, URL-encoded, fits comfortably.
pub const BODY_LIMIT: usize = 32 * 1024;

/// The form's stylesheet, embedded.
pub const FORM_CSS: &str = include_str!("../../templates/static/form.css");

/// What the public handlers share.
#[derive(Clone)]
pub struct PublicState {
    inner: Arc<Inner>,
}

struct Inner {
    leads: Leads,
    booth: BoothHandle,
    csrf: Csrf,
    limiter: RateLimiter,
    proxies: TrustedProxies,
    privacy_text: String,
    privacy_url: Option<String>,
    redirect: Option<String>,
}

/// The public router, with its security headers, body limit and 404 for everything else.
pub fn router(leads: Leads, booth: BoothHandle, args: &LeadsArgs) -> Router {
    let csp = content_security_policy(args.success_redirect_url.as_deref());
    let state = PublicState {
        inner: Arc::new(Inner {
            leads,
            booth,
            csrf: Csrf::random(),
            limiter: RateLimiter::new(args.form_rate_limit_per_minute),
            proxies: args.trusted_proxies.clone(),
            privacy_text: args.privacy_text.clone(),
            privacy_url: args.privacy_url.clone(),
            redirect: args.success_redirect_url.clone(),
        }),
    };
    Router::new()
        .route("/", get(show_form).post(submit))
        .route("/static/form.css", get(stylesheet))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .with_state(state)
}

/// No scripts, styles and images from ourselves only; the form may post to us and be redirected
/// to the configured success URL's origin.
fn content_security_policy(redirect: Option<&str>) -> HeaderValue {
    let origin = redirect
        .and_then(|url| reqwest::Url::parse(url).ok())
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null");
    let form_action = match origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".into(),
    };
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; style-src 'self'"))
}

/// One text field of the form as the template shows it.
struct FieldView {
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    required: bool,
    max: usize,
    input_type: &'static str,
    autocomplete: &'static str,
    inputmode: &'static str,
}

struct CountryOption {
    value: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    event: String,
    problem: Option<String>,
    errors: FieldErrors,
    csrf_token: String,
    fields: Vec<FieldView>,
    countries: Vec<CountryOption>,
    country_error: Option<String>,
    consent_checked: bool,
    consent_error: Option<String>,
    privacy_text: String,
    privacy_url: Option<String>,
}

#[derive(Template)]
#[template(path = "form_done.html")]
struct DonePage {
    already: bool,
    name: String,
    code: String,
    campaign: String,
}

#[derive(Template)]
#[template(path = "form_problem.html")]
struct ProblemPage {
    title: &'static str,
    message: String,
}

fn render(template: &impl Template) -> Html<String> {
    match template.render() {
        Ok(html) => Html(html),
        Err(error) => {
            tracing::error!(%error, "rendering a form page failed");
            Html("<!doctype html><title>Error</title><p>This page could not be shown.</p>".into())
        }
    }
}

/// HTML pages change per visitor: never cached by the tunnel or the phone.
fn page(status: StatusCode, html: Html<String>, set_cookie: Option<String>) -> Response {
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], html).into_response();
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn problem(status: StatusCode, title: &'static str, message: impl Into<String>) -> Response {
    page(status, render(&ProblemPage { title, message: message.into() }), None)
}

/// Whether the visitor reached us over HTTPS (through a trusted proxy saying so).
fn is_https(state: &Inner, peer: SocketAddr, headers: &HeaderMap) -> bool {
    state.proxies.trusts(peer.ip())
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

impl Inner {
    fn form_page(
        &self,
        input: &FormInput,
        errors: FieldErrors,
        csrf_token: String,
        problem: Option<String>,
    ) -> FormPage {
        let field = |name: &'static str,
                     label: &'static str,
                     value: &str,
                     required: bool,
                     max: usize,
                     input_type: &'static str,
                     autocomplete: &'static str,
                     inputmode: &'static str| FieldView {
            name,
            label,
            value: value.to_string(),
            error: errors.get(name).map(str::to_string),
            required,
            max,
            input_type,
            autocomplete,
            inputmode,
        };
        let fields = vec![
            field("name", "Name", &input.name, true, form::MAX_NAME, "text", "name", ""),
            field("email", "E-mail", &input.email, true, form::MAX_EMAIL, "email", "email", "email"),
            field("company", "Company", &input.company, false, form::MAX_COMPANY, "text", "organization", ""),
            field(
                "job_position",
                "Job position",
                &input.job_position,
                false,
                form::MAX_JOB_POSITION,
                "text",
                "organization-title",
                "",
            ),
            field("phone", "Phone", &input.phone, false, form::MAX_PHONE, "tel", "tel", "tel"),
            field("notes", "What can we help you with?", &input.notes, false, form::MAX_NOTES, "text", "off", ""),
        ];
        let selected = input.country.trim();
        let countries = self
            .leads
            .countries
            .list()
            .iter()
            .map(|c| CountryOption {
                value: c.value(),
                name: c.name.clone(),
                selected: !selected.is_empty() && c.value() == selected,
            })
            .collect();
        FormPage {
            event: self.booth.spec().label_header,
            problem,
            country_error: errors.get("country").map(str::to_string),
            consent_checked: !input.consent.is_empty(),
            consent_error: errors.get("consent").map(str::to_string),
            errors,
            csrf_token,
            fields,
            countries,
            privacy_text: self.privacy_text.clone(),
            privacy_url: self.privacy_url.clone(),
        }
    }
}

async fn show_form(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let state = &state.inner;
    let issued = state.csrf.issue(&headers, is_https(state, peer, &headers));
    let html = render(&state.form_page(&FormInput::default(), FieldErrors::default(), issued.token, None));
    page(StatusCode::OK, html, issued.set_cookie)
}

async fn submit(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = &state.inner;
    let client = state.proxies.client_ip(peer.ip(), &headers);
    let metrics = &state.leads.metrics;
    if let Err(wait) = state.limiter.check(client, Instant::now()) {
        metrics.submission("rate_limited");
        let seconds = wait.as_secs() + 1;
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many submissions",
            format!("Please wait {seconds} seconds and try again."),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let Ok(input) = serde_urlencoded::from_bytes::<FormInput>(&body) else {
        metrics.submission("invalid");
        return problem(StatusCode::BAD_REQUEST, "Unreadable form", "The form could not be read. Please try again.");
    };
    if let Err(error) = state.csrf.verify(&headers, Some(&input.csrf_token)) {
        metrics.submission("forbidden");
        return problem(StatusCode::FORBIDDEN, "Please reload the form", error.to_string());
    }
    let issued = state.csrf.issue(&headers, is_https(state, peer, &headers));
    let submission = match form::validate(&input, &state.leads.countries) {
        Ok(submission) => submission,
        Err(errors) => {
            metrics.submission("invalid");
            let html = render(&state.form_page(&input, errors, issued.token, None));
            return page(StatusCode::UNPROCESSABLE_ENTITY, html, issued.set_cookie);
        }
    };
    let email = submission.email.clone();
    let name = submission.name.clone();
    match state.leads.store.store(submission).await {
        Ok(lead) => {
            metrics.submission("stored");
            tracing::info!(lead = %kube::ResourceExt::name_any(&lead), code = lead.spec.code, "lead stored");
            match &state.redirect {
                Some(url) => Redirect::to(&redirect_url(url, &crd::email_sha256(&email))).into_response(),
                None => {
                    let done = DonePage { already: false, name, code: lead.spec.code, campaign: lead.spec.campaign };
                    page(StatusCode::OK, render(&done), None)
                }
            }
        }
        Err(StoreError::AlreadySignedUp) => {
            metrics.submission("duplicate");
            let campaign = state.booth.spec().campaign_name;
            page(StatusCode::OK, render(&DonePage { already: true, name, code: String::new(), campaign }), None)
        }
        Err(error) => {
            metrics.submission("store_failed");
            tracing::error!(%error, "a submission could not be stored; the visitor was asked to send it again");
            let message = "We could not save your details just now. Please press Send again in a moment.".to_string();
            let html = render(&state.form_page(&input, FieldErrors::default(), issued.token, Some(message)));
            page(StatusCode::SERVICE_UNAVAILABLE, html, issued.set_cookie)
        }
    }
}

/// The redirect target: `{email_sha256}` replaced, or `email_sha256=<hash>` appended.
pub fn redirect_url(template: &str, hash: &str) -> String {
    if template.contains("{email_sha256}") {
        return template.replace("{email_sha256}", hash);
    }
    let separator = if template.contains('?') { '&' } else { '?' };
    format!("{template}{separator}email_sha256={hash}")
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], FORM_CSS)
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_the_form_redirect_only_to_the_configured_origin() {
        let plain = content_security_policy(None);
        assert!(plain.to_str().unwrap().contains("form-action 'self';"));
        let with_redirect = content_security_policy(Some("https://example.com/thanks?x=1"));
        assert!(with_redirect.to_str().unwrap().contains("form-action 'self' https://example.com;"));
    }

    #[test]
    fn the_redirect_carries_the_hash() {
        assert_eq!(redirect_url("https://x.ch/thanks", "ab"), "https://x.ch/thanks?email_sha256=ab");
        assert_eq!(redirect_url("https://x.ch/t?utm=1", "ab"), "https://x.ch/t?utm=1&email_sha256=ab");
        assert_eq!(redirect_url("https://x.ch/t?h={email_sha256}", "ab"), "https://x.ch/t?h=ab");
    }
}
