//! The public listener: the visitors' contact form (`GET /`, `POST /`), its result pages, its
//! static assets (the stylesheet, the logo, the accent colours), and, only while the Booth's
//! `visitorChaos` is on, the one-time press a sign-up earns (`POST /press/<token>`, handled in
//! its child `visitor`, whose routes this router assembles). Nothing else answers here (404):
//! this side is reachable from the Internet through the tunnel.
//!
//! A submission is rate limited per client, size limited, CSRF checked and validated; it becomes
//! a `Lead` resource before the visitor sees "thank you". Odoo is never called on this path: the
//! lead controller sends the lead afterwards. Every page is in the visitor's language
//! (`?lang=`, else `Accept-Language`) and carries the Booth's branding.
//!
//! May call: `crate::leads` (validation, store, country list), `crate::booth` (the Booth
//! handle), `crate::visitor` (branding, languages, press tokens), `crate::chaos` (the press);
//! within `web`, `csrf`, the error pages and the chaos press counter.

mod visitor;

use super::csrf::Csrf;
use super::error::PublicError;
use super::metrics::WebMetrics;
use super::page::{Page, render};
use crate::booth::BoothHandle;
use crate::chaos::{Chaos, KubeActions};
use crate::leads::form::{self, FieldError, FieldErrors, FormInput};
use crate::leads::metrics::Submission;
use crate::leads::ratelimit::{RateLimiter, TrustedProxies};
use crate::leads::{Leads, LeadsArgs, StoreError, crd};
use crate::visitor::Visitor;
use crate::visitor::branding::Branding;
use crate::visitor::i18n::{CONSENT_EN, Lang, Text};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest accepted form body: every field at its limit, URL-encoded, fits comfortably.
pub(crate) const BODY_LIMIT: usize = 32 * 1024;

/// The form's stylesheet, embedded.
pub(crate) const FORM_CSS: &str = include_str!("../../../templates/static/form.css");

/// What the public handlers share.
#[derive(Clone)]
pub(crate) struct PublicState {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) leads: Leads,
    pub(super) booth: BoothHandle,
    pub(super) csrf: Csrf,
    pub(super) limiter: RateLimiter,
    pub(super) proxies: TrustedProxies,
    privacy_text: String,
    privacy_url: Option<String>,
    redirect: Option<String>,
    pub(super) visitor: Visitor,
    /// The chaos button a sign-up's press presses.
    pub(super) button: Arc<Chaos<KubeActions>>,
    pub(super) web_metrics: WebMetrics,
}

/// The public router, with its security headers, body limit and 404 for everything else.
pub(crate) fn router(
    leads: Leads,
    booth: BoothHandle,
    args: &LeadsArgs,
    visitor: Visitor,
    button: Arc<Chaos<KubeActions>>,
    web_metrics: WebMetrics,
) -> Router {
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
            visitor,
            button,
            web_metrics,
        }),
    };
    Router::new()
        .route("/", get(show_form).post(submit))
        .route("/static/form.css", get(stylesheet))
        .route("/static/brand.css", get(visitor::brand_stylesheet))
        .route("/static/logo", get(visitor::logo))
        .route("/press/{token}", get(visitor::show_press).post(visitor::press))
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

/// The booth's branding as one page shows it: operator texts as written, defaults in the
/// visitor's language.
pub(super) struct Brand {
    pub(super) title: String,
    pub(super) intro: String,
    pub(super) prize: String,
    pub(super) draw_time: String,
}

impl Brand {
    pub(super) fn of(branding: &Branding, label_header: &str, t: Lang) -> Self {
        let or = |value: &str, default: &str| if value.is_empty() { default.to_string() } else { value.to_string() };
        let title_default = if label_header.is_empty() { t.t(Text::DefaultTitle) } else { label_header };
        Brand {
            title: or(&branding.title, title_default),
            intro: or(&branding.intro, t.t(Text::DefaultIntro)),
            prize: or(&branding.prize, t.t(Text::DefaultPrize)),
            draw_time: or(&branding.draw_time, t.t(Text::DefaultDrawTime)),
        }
    }
}

/// The language switch: one plain link per language.
pub(super) struct LangLink {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) current: bool,
}

pub(super) fn lang_links(t: Lang) -> Vec<LangLink> {
    Lang::ALL.iter().map(|l| LangLink { code: l.code(), name: l.name(), current: *l == t }).collect()
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    t: Lang,
    langs: Vec<LangLink>,
    brand: Brand,
    problem: Option<String>,
    errors: FieldErrors,
    csrf_token: String,
    fields: Vec<FieldView>,
    countries: Vec<CountryOption>,
    country_label: &'static str,
    country_error: Option<String>,
    consent_checked: bool,
    consent_error: Option<String>,
    privacy_text: String,
    privacy_url: Option<String>,
}

#[derive(Template)]
#[template(path = "form_done.html")]
struct DonePage {
    t: Lang,
    brand: Brand,
    already: bool,
    heading: String,
    text: String,
    code: String,
    /// The press offer: the token and the CSRF token for its form.
    press: Option<(String, String)>,
}

/// Whether the visitor reached us over HTTPS (through a trusted proxy saying so).
pub(super) fn is_https(state: &Inner, peer: SocketAddr, headers: &HeaderMap) -> bool {
    state.proxies.trusts(peer.ip())
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// `?lang=` of a page.
#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The visitor's language, for every handler of the public listener: `?lang=` (the switch),
/// else `Accept-Language`, else English. A malformed query is ignored rather than refused (the
/// form must always open).
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, std::convert::Infallible> {
        let param = Query::<LangQuery>::try_from_uri(&parts.uri).ok().and_then(|Query(q)| q.lang);
        let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Lang::choose(param.as_deref(), accept))
    }
}

/// A field's problem in the visitor's language.
pub(crate) fn field_error_text(error: FieldError, t: Lang) -> String {
    match error {
        FieldError::Required => t.t(Text::ErrRequired).into(),
        FieldError::TooLong(max) => t.t(Text::ErrTooLong).replace("{max}", &max.to_string()),
        FieldError::NotAllowed => t.t(Text::ErrNotAllowed).into(),
        FieldError::Email => t.t(Text::ErrEmail).into(),
        FieldError::Phone => t.t(Text::ErrPhone).into(),
        FieldError::Country => t.t(Text::ErrCountry).into(),
        FieldError::Consent => t.t(Text::ErrConsent).into(),
    }
}

impl Inner {
    pub(super) fn brand(&self, t: Lang) -> Brand {
        let spec = self.booth.spec();
        Brand::of(&spec.branding, &spec.label_header, t)
    }

    fn form_page(
        &self,
        t: Lang,
        input: &FormInput,
        errors: FieldErrors,
        csrf_token: String,
        problem: Option<String>,
    ) -> FormPage {
        let field = |name: &'static str,
                     label: Text,
                     value: &str,
                     required: bool,
                     max: usize,
                     input_type: &'static str,
                     autocomplete: &'static str,
                     inputmode: &'static str| FieldView {
            name,
            label: t.t(label),
            value: value.to_string(),
            error: errors.kind(name).map(|e| field_error_text(e, t)),
            required,
            max,
            input_type,
            autocomplete,
            inputmode,
        };
        let fields = vec![
            field("name", Text::Name, &input.name, true, form::MAX_NAME, "text", "name", ""),
            field("email", Text::Email, &input.email, true, form::MAX_EMAIL, "email", "email", "email"),
            field("company", Text::Company, &input.company, false, form::MAX_COMPANY, "text", "organization", ""),
            field(
                "job_position",
                Text::JobPosition,
                &input.job_position,
                false,
                form::MAX_JOB_POSITION,
                "text",
                "organization-title",
                "",
            ),
            field("phone", Text::Phone, &input.phone, false, form::MAX_PHONE, "tel", "tel", "tel"),
            field("notes", Text::Notes, &input.notes, false, form::MAX_NOTES, "text", "off", ""),
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
        // The operator's own consent text is shown as written; the default one is translated.
        let privacy_text =
            if self.privacy_text == CONSENT_EN { t.t(Text::Consent).to_string() } else { self.privacy_text.clone() };
        FormPage {
            t,
            langs: lang_links(t),
            brand: self.brand(t),
            problem,
            country_label: t.t(Text::Country),
            country_error: errors.kind("country").map(|e| field_error_text(e, t)),
            consent_checked: !input.consent.is_empty(),
            consent_error: errors.kind("consent").map(|e| field_error_text(e, t)),
            errors,
            csrf_token,
            fields,
            countries,
            privacy_text,
            privacy_url: self.privacy_url.clone(),
        }
    }
}

async fn show_form(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    t: Lang,
    headers: HeaderMap,
) -> Page {
    let state = &state.inner;
    let issued = state.csrf.issue(&headers, is_https(state, peer, &headers));
    render(&state.form_page(t, &FormInput::default(), FieldErrors::default(), issued.token, None))
        .with_cookie(issued.set_cookie)
}

async fn submit(
    State(state): State<PublicState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    t: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PublicError> {
    let state = &state.inner;
    let client = state.proxies.client_ip(peer.ip(), &headers);
    let metrics = &state.leads.metrics;
    let refused = |outcome: Submission, error: PublicError| {
        metrics.submission(outcome);
        error
    };
    state
        .limiter
        .check(client, Instant::now())
        .map_err(|wait| refused(Submission::rate_limited, rate_limited(t, wait)))?;
    let input = serde_urlencoded::from_bytes::<FormInput>(&body)
        .map_err(|_| refused(Submission::invalid, PublicError::Unreadable(t)))?;
    state
        .csrf
        .verify(&headers, Some(&input.csrf_token))
        .map_err(|error| refused(Submission::forbidden, PublicError::BadToken(t, error)))?;
    let issued = state.csrf.issue(&headers, is_https(state, peer, &headers));
    let form_again = |errors: FieldErrors, problem: Option<String>| {
        render(&state.form_page(t, &input, errors, issued.token.clone(), problem))
            .with_cookie(issued.set_cookie.clone())
    };
    let submission = form::validate(&input, &state.leads.countries)
        .map_err(|errors| refused(Submission::invalid, PublicError::Invalid(form_again(errors, None))))?;
    let email = submission.email.clone();
    let name = submission.name.clone();
    let (press_token, press_hash) = crate::visitor::press::new_token();
    let lead = match state.leads.store.store(submission, Some(press_hash.clone())).await {
        Ok(lead) => lead,
        Err(StoreError::AlreadySignedUp) => {
            metrics.submission(Submission::duplicate);
            let campaign = state.booth.spec().campaign_name;
            let campaign = if campaign.is_empty() { t.t(Text::ThisEvent).to_string() } else { campaign };
            let done = DonePage {
                t,
                brand: state.brand(t),
                already: true,
                heading: t.t(Text::AlreadyTitle).into(),
                text: t.t(Text::AlreadyText).replace("{campaign}", &campaign).replace("{name}", &name),
                code: String::new(),
                press: None,
            };
            return Ok(render(&done).into_response());
        }
        Err(error) => {
            let page = form_again(FieldErrors::default(), Some(t.t(Text::StoreFailed).to_string()));
            return Err(refused(Submission::store_failed, PublicError::NotStored { error, page }));
        }
    };
    metrics.submission(Submission::stored);
    tracing::info!(lead = %kube::ResourceExt::name_any(&lead), code = lead.spec.code, "lead stored");
    state.visitor.presses.issued(&press_hash, &kube::ResourceExt::name_any(&lead));
    if let Some(url) = &state.redirect {
        return Ok(Redirect::to(&redirect_url(url, &crd::email_sha256(&email))).into_response());
    }
    let press = state.visitor.presses.enabled().then_some((press_token, issued.token.clone()));
    let done = DonePage {
        t,
        brand: state.brand(t),
        already: false,
        heading: t.t(Text::ThanksTitle).replace("{name}", &name),
        text: t.t(Text::ThanksText).into(),
        code: lead.spec.code,
        press,
    };
    Ok(render(&done).into_response())
}

/// A client over the form's rate limit, told to wait `wait` (rounded up to whole seconds).
pub(super) fn rate_limited(t: Lang, wait: std::time::Duration) -> PublicError {
    PublicError::RateLimited { t, retry_after: wait.as_secs() + 1 }
}

/// The redirect target: `{email_sha256}` replaced, or `email_sha256=<hash>` appended.
pub(crate) fn redirect_url(template: &str, hash: &str) -> String {
    if template.contains("{email_sha256}") {
        return template.replace("{email_sha256}", hash);
    }
    let separator = if template.contains('?') { '&' } else { '?' };
    format!("{template}{separator}email_sha256={hash}")
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], FORM_CSS)
}

async fn not_found(t: Lang) -> PublicError {
    PublicError::NotFound(t)
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
    fn field_errors_in_english_are_the_validation_messages() {
        for error in [
            FieldError::Required,
            FieldError::TooLong(100),
            FieldError::NotAllowed,
            FieldError::Email,
            FieldError::Phone,
            FieldError::Country,
            FieldError::Consent,
        ] {
            assert_eq!(field_error_text(error, Lang::En), error.english());
            assert_ne!(field_error_text(error, Lang::De), error.english(), "{error:?} is translated");
        }
    }

    #[test]
    fn the_redirect_carries_the_hash() {
        assert_eq!(redirect_url("https://x.ch/thanks", "ab"), "https://x.ch/thanks?email_sha256=ab");
        assert_eq!(redirect_url("https://x.ch/t?utm=1", "ab"), "https://x.ch/t?utm=1&email_sha256=ab");
        assert_eq!(redirect_url("https://x.ch/t?h={email_sha256}", "ab"), "https://x.ch/t?h=ab");
    }
}
