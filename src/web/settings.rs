//! Staff pages of lead capture on the private listener, behind Basic auth with the admin
//! credentials: `/config` (the booth settings stored in the Booth resource, applied live) and
//! `GET /leads.csv` (every lead with its sync and print state).
//!
//! The form is read into the Booth's typed settings and applied with
//! `BoothHandle::change_spec`, which writes the merge patch: no key of the spec is typed here.
//! Bad settings are refused with a message naming the field (422) and change nothing; the
//! campaign name is checked against Odoo when Odoo answers. Values of the Booth the booth
//! refuses (written with kubectl) are listed above the form, which shows the ones in use. The
//! visitors' pages' branding and the visitor press switch are a fieldset of their own,
//! validated by `visitor::branding` and `visitor::logo`; the form is sent as
//! `multipart/form-data` for the logo upload (URL-encoded bodies are read as well, for scripts).
//!
//! May call: `crate::booth` (the Booth handle), `crate::attract` (its fieldset), `crate::leads`
//! (the Lead API, the `Odoo` trait), `crate::theatre` (the kiosk card's call to action),
//! `crate::visitor` (branding and logo checks); within `web`, `auth` and `csrf`.

use super::auth::{self, Credentials};
use super::csrf::Csrf;
use super::error::PrivateError;
use super::page::Page;
use super::public::FORM_CSS;
use crate::attract::{self, AttractSettings, ChaosSafety, form::AttractInput};
use crate::booth::values::sentence;
use crate::booth::{BoothHandle, BoothSpec, Branding, ShowPace, VoucherType};
use crate::leads::Leads;
use crate::leads::odoo::{OdooError, SearchRead};
use crate::theatre::furniture::{self, CALL_TO_ACTION_MAX, check_call_to_action};
use crate::visitor::branding::{self, BrandingForm};
use crate::visitor::logo::Logo;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kube::api::ListParams;
use serde::Deserialize;
use std::sync::Arc;

/// What the staff pages share.
#[derive(Clone)]
pub(crate) struct SettingsState {
    inner: Arc<Inner>,
}

struct Inner {
    leads: Leads,
    booth: BoothHandle,
    admin: Credentials,
    csrf: Csrf,
    logo_max_bytes: usize,
}

/// Room in a `/config` body beyond the logo: the form's fields, and an oversized logo up to this
/// much too large still gets the settings page with a clear message rather than a bare 413.
/// Small, so that `/config` stays near the private listener's `MAX_BODY_BYTES` (64 KiB) with
/// the default `LOGO_MAX_BYTES`.
const BODY_HEADROOM: usize = 32 * 1024;

/// `/config`, `/config/form.css` and `/leads.csv`.
pub fn router(leads: Leads, booth: BoothHandle, admin: Credentials, logo_max_bytes: usize) -> Router {
    let state = SettingsState { inner: Arc::new(Inner { leads, booth, admin, csrf: Csrf::random(), logo_max_bytes }) };
    let router = Router::new()
        .route("/config", get(show).post(save))
        .route("/config/form.css", get(stylesheet))
        .route("/leads.csv", get(leads_csv))
        .layer(DefaultBodyLimit::max(logo_max_bytes.saturating_add(BODY_HEADROOM)))
        .with_state(state);
    super::with_private_headers(router)
}

/// The settings form as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub campaign_name: String,
    pub label_header: String,
    pub voucher_type: String,
    pub servala_voucher_code: String,
    pub print_raffle_ticket: String,
    pub odoo_create_lead_enabled: String,
    pub call_to_action: String,
    pub title: String,
    pub(crate) intro: String,
    pub(crate) prize: String,
    pub accent_color: String,
    pub(crate) draw_time: String,
    pub(crate) visitor_chaos: String,
    /// `lively`, `calm` or `still` (`crate::theatre::furniture`).
    pub(crate) show_pace: String,
    /// Ticked: back to the embedded logo.
    pub(crate) logo_reset: String,
    pub csrf_token: String,
    /// The attract-mode and chaos-safety fieldset (`crate::attract::form`).
    #[serde(flatten)]
    pub attract: AttractInput,
}

/// What happens to the logo.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LogoChange {
    Keep,
    Reset,
    Set(Logo),
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    notice: Option<String>,
    errors: Vec<String>,
    csrf_token: String,
    campaign_name: String,
    label_header: String,
    voucher_type: String,
    voucher_options: [&'static str; 3],
    servala_voucher_code: String,
    /// The values of the Booth the booth refuses (written with kubectl), each with what it keeps.
    refused: Vec<String>,
    print_raffle_ticket: bool,
    odoo_create_lead_enabled: bool,
    call_to_action: String,
    call_to_action_max: usize,
    show_pace: String,
    pace_options: [&'static str; 3],
    odoo: String,
    attract: AttractInput,
    title: String,
    intro: String,
    prize: String,
    accent_color: String,
    accent_default: String,
    draw_time: String,
    visitor_chaos: bool,
    /// The logo in use: "the embedded default" or its type and size.
    logo: String,
    logo_max_bytes: usize,
}

/// The settings' changes, checked and typed: only these fields of the Booth spec are touched.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsChange {
    pub campaign_name: String,
    pub label_header: String,
    pub voucher_type: VoucherType,
    pub servala_voucher_code: String,
    pub print_raffle_ticket: bool,
    pub odoo_create_lead_enabled: bool,
    pub call_to_action: String,
    /// The branding's texts and colour; its logo is the `LogoChange`'s.
    pub branding: Branding,
    pub(crate) visitor_chaos: bool,
    pub(crate) show_pace: ShowPace,
}

impl SettingsChange {
    /// Makes the change, and the logo's, to `spec`.
    pub(crate) fn apply(&self, logo: &LogoChange, spec: &mut BoothSpec) {
        let logo = match logo {
            LogoChange::Keep => spec.branding.logo.take(),
            LogoChange::Reset => None,
            LogoChange::Set(logo) => Some(logo.clone()),
        };
        spec.campaign_name.clone_from(&self.campaign_name);
        spec.label_header.clone_from(&self.label_header);
        spec.voucher_type = self.voucher_type;
        spec.servala_voucher_code.clone_from(&self.servala_voucher_code);
        spec.print_raffle_ticket = self.print_raffle_ticket;
        spec.odoo_create_lead_enabled = self.odoo_create_lead_enabled;
        spec.call_to_action.clone_from(&self.call_to_action);
        spec.branding = Branding { logo, ..self.branding.clone() };
        spec.visitor_chaos = self.visitor_chaos;
        spec.show_pace = self.show_pace;
    }
}

fn checked(value: &str) -> bool {
    matches!(value, "on" | "true" | "yes" | "1")
}

fn check_text(errors: &mut Vec<String>, label: &str, value: &str, max: usize) -> String {
    let value = value.trim().to_string();
    if value.chars().count() > max {
        errors.push(format!("{label} must be at most {max} characters."));
    } else if value.chars().any(char::is_control) {
        errors.push(format!("{label} must be a single line of text."));
    }
    value
}

/// Checks the submitted settings (pure; the Odoo campaign check comes after).
pub fn validate(input: &SettingsInput) -> Result<SettingsChange, Vec<String>> {
    let mut errors = Vec::new();
    let campaign_name = check_text(&mut errors, "The campaign", &input.campaign_name, 100);
    let label_header = check_text(&mut errors, "The label header", &input.label_header, 60);
    let voucher_type = match input.voucher_type.trim() {
        "" => VoucherType::None,
        text => text.parse().unwrap_or_else(|error| {
            errors.push(sentence(&error));
            VoucherType::None
        }),
    };
    let servala_voucher_code = input.servala_voucher_code.trim().to_string();
    if servala_voucher_code.chars().count() > 40
        || !servala_voucher_code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push("The Servala voucher code may have at most 40 letters, digits, '-' and '_'.".into());
    } else if voucher_type == VoucherType::Servala && servala_voucher_code.is_empty() {
        errors.push("Servala vouchers need a voucher code.".into());
    }
    let call_to_action = check_call_to_action(&input.call_to_action).unwrap_or_else(|error| {
        errors.push(error);
        String::new()
    });
    let show_pace = furniture::check_pace(&input.show_pace).unwrap_or_else(|error| {
        errors.push(error);
        ShowPace::default()
    });
    let branding = branding::validate(&BrandingForm {
        title: &input.title,
        intro: &input.intro,
        prize: &input.prize,
        accent_color: &input.accent_color,
        draw_time: &input.draw_time,
    })
    .map_err(|problems| errors.extend(problems))
    .ok();
    let (Some(branding), true) = (branding, errors.is_empty()) else { return Err(errors) };
    Ok(SettingsChange {
        branding,
        visitor_chaos: checked(&input.visitor_chaos),
        campaign_name,
        label_header,
        voucher_type,
        servala_voucher_code,
        print_raffle_ticket: checked(&input.print_raffle_ticket),
        odoo_create_lead_enabled: checked(&input.odoo_create_lead_enabled),
        call_to_action,
        show_pace,
    })
}

/// The whole form: the lead-capture settings and, when the form carried it, the attract-mode
/// fieldset; every problem of both is reported at once.
fn validate_all(input: &SettingsInput) -> Result<(SettingsChange, Option<AttractChange>), Vec<String>> {
    let attract = input.attract.submitted().then(|| attract::form::validate(&input.attract));
    match (validate(input), attract) {
        (Ok(change), None) => Ok((change, None)),
        (Ok(change), Some(Ok(attract))) => Ok((change, Some(attract))),
        (Err(errors), None | Some(Ok(_))) | (Ok(_), Some(Err(errors))) => Err(errors),
        (Err(mut errors), Some(Err(more))) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

type AttractChange = (AttractSettings, ChaosSafety);

impl Inner {
    fn refused(&self) -> Vec<String> {
        self.booth.refused().iter().map(ToString::to_string).collect()
    }

    fn odoo_description(&self) -> String {
        match &self.leads.odoo {
            Some(odoo) => format!(
                "{} API; country list from {}",
                odoo.api(),
                if self.leads.countries.is_from_odoo() { "Odoo" } else { "the built-in list (Odoo not reached yet)" }
            ),
            None => "not configured (ODOO_URL); leads are kept here".into(),
        }
    }

    fn page_for_spec(&self, spec: &BoothSpec, token: String, notice: Option<String>) -> SettingsPage {
        SettingsPage {
            notice,
            errors: Vec::new(),
            csrf_token: token,
            campaign_name: spec.campaign_name.clone(),
            label_header: spec.label_header.clone(),
            voucher_type: spec.voucher_type.to_string(),
            voucher_options: VoucherType::ALL.map(VoucherType::name),
            servala_voucher_code: spec.servala_voucher_code.clone(),
            refused: self.refused(),
            print_raffle_ticket: spec.print_raffle_ticket,
            odoo_create_lead_enabled: spec.odoo_create_lead_enabled,
            call_to_action: furniture::call_to_action(spec),
            call_to_action_max: CALL_TO_ACTION_MAX,
            show_pace: spec.show_pace.to_string(),
            pace_options: ShowPace::ALL.map(ShowPace::name),
            odoo: self.odoo_description(),
            attract: AttractInput::from_settings(&spec.attract, &spec.chaos_safety),
            title: spec.branding.title.clone(),
            intro: spec.branding.intro.clone(),
            prize: spec.branding.prize.clone(),
            accent_color: spec.branding.accent_color.map(|c| c.to_string()).unwrap_or_default(),
            accent_default: branding::DEFAULT_ACCENT.to_string(),
            draw_time: spec.branding.draw_time.clone(),
            visitor_chaos: spec.visitor_chaos,
            logo: self.logo_description(spec),
            logo_max_bytes: self.logo_max_bytes,
        }
    }

    fn logo_description(&self, spec: &BoothSpec) -> String {
        match &spec.branding.logo {
            None => "the embedded default".into(),
            Some(logo) => match logo.decoded(self.logo_max_bytes) {
                Some((content_type, bytes)) => format!("your own ({content_type}, {} bytes)", bytes.len()),
                None => "your own, but it no longer passes the checks: the default is shown".into(),
            },
        }
    }

    fn page_for_input(&self, input: &SettingsInput, token: String, errors: Vec<String>) -> SettingsPage {
        SettingsPage {
            notice: None,
            errors,
            csrf_token: token,
            campaign_name: input.campaign_name.clone(),
            label_header: input.label_header.clone(),
            voucher_type: input.voucher_type.clone(),
            voucher_options: VoucherType::ALL.map(VoucherType::name),
            servala_voucher_code: input.servala_voucher_code.clone(),
            refused: self.refused(),
            print_raffle_ticket: checked(&input.print_raffle_ticket),
            odoo_create_lead_enabled: checked(&input.odoo_create_lead_enabled),
            call_to_action: input.call_to_action.clone(),
            call_to_action_max: CALL_TO_ACTION_MAX,
            show_pace: input.show_pace.clone(),
            pace_options: ShowPace::ALL.map(ShowPace::name),
            odoo: self.odoo_description(),
            attract: input.attract.clone(),
            title: input.title.clone(),
            intro: input.intro.clone(),
            prize: input.prize.clone(),
            accent_color: input.accent_color.clone(),
            accent_default: branding::DEFAULT_ACCENT.to_string(),
            draw_time: input.draw_time.clone(),
            visitor_chaos: checked(&input.visitor_chaos),
            logo: self.logo_description(&self.booth.spec()),
            logo_max_bytes: self.logo_max_bytes,
        }
    }

    /// `Ok(None)`: the campaign exists (or is empty); `Ok(Some(warning))`: Odoo could not tell;
    /// `Err`: Odoo has no such campaign.
    async fn check_campaign(&self, campaign: &str) -> Result<Option<String>, String> {
        let Some(odoo) = &self.leads.odoo else { return Ok(None) };
        if campaign.is_empty() {
            return Ok(None);
        }
        let query = SearchRead::new("utm.campaign", serde_json::json!([["name", "=", campaign]]), &["id"]).limit(1);
        match odoo.search_read(query).await {
            Ok(found) if !found.is_empty() => Ok(None),
            Ok(_) => Err(format!("Odoo has no campaign named {campaign:?}; create it in Odoo first or fix the name.")),
            Err(error @ (OdooError::Unreachable(_) | OdooError::Authentication(_) | OdooError::Protocol(_))) => {
                Ok(Some(format!("The campaign name could not be checked against Odoo ({error}).")))
            }
            Err(OdooError::Rejected(message)) => {
                Ok(Some(format!("The campaign name could not be checked against Odoo ({message}).")))
            }
        }
    }
}

async fn show(State(state): State<SettingsState>, headers: HeaderMap) -> Result<Page, PrivateError> {
    let state = &state.inner;
    auth::check_basic(&headers, &state.admin)?;
    let issued = state.csrf.issue(&headers, false);
    let page = state.page_for_spec(&state.booth.spec(), issued.token, None);
    Ok(Page::render(&page)?.with_cookie(issued.set_cookie))
}

/// The submitted fields and the uploaded logo file (empty when none was chosen), from a
/// `multipart/form-data` body (the page) or a URL-encoded one (scripts).
async fn read_settings(request: Request) -> Result<(SettingsInput, Vec<u8>), PrivateError> {
    let unreadable = |_| PrivateError::UnreadableForm;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let body = Bytes::from_request(request, &()).await?;
        let input = serde_urlencoded::from_bytes::<SettingsInput>(&body).map_err(unreadable)?;
        return Ok((input, Vec::new()));
    }
    let mut form = Multipart::from_request(request, &()).await.map_err(|_| PrivateError::UnreadableForm)?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut logo = Vec::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "logo" {
            logo = field.bytes().await?.to_vec();
        } else {
            fields.push((name, field.text().await.map_err(|_| PrivateError::UnreadableForm)?));
        }
    }
    let encoded = serde_urlencoded::to_string(&fields).map_err(|_| PrivateError::UnreadableForm)?;
    let input = serde_urlencoded::from_str::<SettingsInput>(&encoded).map_err(unreadable)?;
    Ok((input, logo))
}

/// The logo's change: a new file is checked; an empty one keeps the logo unless reset is ticked.
fn logo_change(input: &SettingsInput, file: &[u8], max_bytes: usize) -> Result<LogoChange, String> {
    if !file.is_empty() {
        return Logo::from_upload(file, max_bytes).map(LogoChange::Set).map_err(|e| e.to_string());
    }
    Ok(if checked(&input.logo_reset) { LogoChange::Reset } else { LogoChange::Keep })
}

async fn save(State(state): State<SettingsState>, request: Request) -> Result<Page, PrivateError> {
    let state = &state.inner;
    let headers = request.headers().clone();
    auth::check_basic(&headers, &state.admin)?;
    let (input, file) = read_settings(request).await?;
    state.csrf.verify(&headers, Some(&input.csrf_token)).map_err(PrivateError::SettingsBadToken)?;
    let issued = state.csrf.issue(&headers, false);
    let refused = |errors: Vec<String>| match Page::render(&state.page_for_input(&input, issued.token.clone(), errors))
    {
        Ok(page) => PrivateError::SettingsInvalid(page),
        Err(error) => PrivateError::from(error),
    };
    let checked_logo = logo_change(&input, &file, state.logo_max_bytes);
    let ((change, attract), logo) = match (validate_all(&input), checked_logo) {
        (Ok(change), Ok(logo)) => (change, logo),
        (validated, logo) => {
            let mut errors = validated.err().unwrap_or_default();
            errors.extend(logo.err());
            return Err(refused(errors));
        }
    };
    let warning = state.check_campaign(&change.campaign_name).await.map_err(|refusal| refused(vec![refusal]))?;
    let stored = state
        .booth
        .change_spec(|spec| {
            change.apply(&logo, spec);
            if let Some((attract, safety)) = &attract {
                spec.attract = attract.clone();
                spec.chaos_safety = safety.clone();
            }
        })
        .await;
    let spec = match stored {
        Ok(spec) => spec,
        Err(error) => {
            let errors = vec![format!("The settings could not be stored in the Booth resource: {error}")];
            let page = Page::render(&state.page_for_input(&input, issued.token, errors))?;
            return Err(PrivateError::SettingsNotStored { error, page });
        }
    };
    tracing::info!(campaign = change.campaign_name, "booth settings changed on /config");
    let notice = match warning {
        Some(warning) => format!("Saved. {warning}"),
        None => "Saved.".to_string(),
    };
    Ok(Page::render(&state.page_for_spec(&spec, issued.token, Some(notice)))?)
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], FORM_CSS)
}

async fn leads_csv(State(state): State<SettingsState>, headers: HeaderMap) -> Result<Response, PrivateError> {
    let state = &state.inner;
    auth::check_basic(&headers, &state.admin)?;
    let mut leads =
        state.leads.store.api().list(&ListParams::default()).await.map_err(PrivateError::LeadsUnlisted)?.items;
    let csv = crate::leads::export::leads_to_csv(&mut leads);
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"leads.csv\""),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, csv).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated_before_anything_changes() {
        let input = SettingsInput {
            campaign_name: " KubeCon 2026 ".into(),
            voucher_type: "servala".into(),
            servala_voucher_code: "BOOTH-26".into(),
            print_raffle_ticket: "on".into(),
            ..SettingsInput::default()
        };
        let change = validate(&input).unwrap();
        assert_eq!(change.campaign_name, "KubeCon 2026");
        assert!(change.print_raffle_ticket && !change.odoo_create_lead_enabled);
        let mut spec = BoothSpec::default();
        change.apply(&LogoChange::Keep, &mut spec);
        let stored = serde_json::to_value(&spec).unwrap();
        assert_eq!(stored["voucherType"], "servala");
        let bad = |change: fn(&mut SettingsInput)| {
            let mut input = input.clone();
            change(&mut input);
            validate(&input).unwrap_err()
        };
        assert!(bad(|i| i.voucher_type = "gold".into())[0].contains("Unknown voucher type"));
        assert!(bad(|i| i.servala_voucher_code = String::new())[0].contains("need a voucher code"));
        assert!(bad(|i| i.servala_voucher_code = "a b".into())[0].contains("Servala voucher code"));
        assert!(bad(|i| i.campaign_name = "x".repeat(101))[0].contains("campaign"));
        assert!(bad(|i| i.label_header = "a\nb".into())[0].contains("single line"));
        // The kiosk card's call to action: bounded, one line; empty means the default.
        assert_eq!(change.call_to_action, crate::booth::DEFAULT_CALL_TO_ACTION);
        assert_eq!(stored["callToAction"], "Scan to win a prize");
        let long = bad(|i| i.call_to_action = "x".repeat(61));
        assert_eq!(long, ["The call to action must be at most 60 characters."]);
        let mut own = input.clone();
        own.call_to_action = " Win a Pi ".into();
        assert_eq!(validate(&own).unwrap().call_to_action, "Win a Pi");
        // The show's pace: one of three names, lively when not sent.
        assert_eq!(stored["showPace"], "lively");
        own.show_pace = "calm".into();
        validate(&own).unwrap().apply(&LogoChange::Keep, &mut spec);
        assert_eq!(serde_json::to_value(&spec).unwrap()["showPace"], "calm");
        assert_eq!(
            bad(|i| i.show_pace = "frantic".into()),
            ["Unknown show pace \"frantic\": choose lively, calm or still."]
        );
    }
}
