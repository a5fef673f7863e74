//! Lead capture: the visitors' contact form feeds a durable outbox of `Lead` resources, and a
//! controller moves each lead into Odoo's CRM exactly once.
//!
//! - [`crd`]: the `Lead` resource (what the visitor entered; sync and print state);
//! - [`form`]: validation of the form; [`code`]: pronounceable lead codes; [`countries`]: the
//!   country list; `ratelimit`: client address and per-client submission limit;
//! - [`controller`]: the outbox (Leads → Odoo, retries, clean-up);
//! - [`odoo`]: the `Odoo` trait and its JSON-2 and JSON-RPC clients;
//! - `print_jobs`: the Leads as the label print queue's durable job store.
//!
//! The HTTP side lives in `web::public` (the form) and `web::settings` (`/config`, `/leads.csv`).
//! This module may call the Kubernetes API (Leads in the booth namespace), the Booth handle and
//! Odoo; it never blocks a visitor on Odoo.
//!
//! May call: `crate::backoff`, `crate::booth`, `crate::cluster`, `crate::http`, `crate::labels`,
//! `crate::rate`, `crate::secret`, `crate::tasks`.

pub mod code;
pub mod controller;
pub mod countries;
pub mod crd;
pub(crate) mod export;
pub mod form;
pub mod metrics;
pub mod odoo;
pub(crate) mod print_jobs;
pub(crate) mod ratelimit;

use crate::booth::BoothHandle;
use crate::cluster::api_calls::{ApiCall, Scope};
use crate::labels::queue::QueueWaker;
use crate::secret::Secret;
use crate::tasks::Tasks;
use clap::Args;
use crd::{Lead, LeadCountry, LeadSpec};
use kube::api::{Api, PostParams};
use odoo::{Odoo, OdooSettings, SearchRead};
use ratelimit::TrustedProxies;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The API requests of lead capture (see [`crate::cluster::api_calls`]): the form creates
/// Leads, the controller watches them, writes their status and deletes them after the retention,
/// `/leads.csv` lists them.
pub(crate) const API_CALLS: [ApiCall; 6] = [
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads", "create"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads", "list"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads", "watch"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads", "delete"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "leads/status", "patch"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths", "patch"),
];

/// Settings of lead capture (environment variables of the original contact form where it had
/// them).
#[derive(Debug, Clone, Args)]
pub struct LeadsArgs {
    /// Address of the public listener (the contact form, reachable from the Internet).
    #[arg(long, env = "PUBLIC_LISTEN_ADDR", default_value = "0.0.0.0:8081", value_parser = parse_addr)]
    pub(crate) public_listen_addr: SocketAddr,
    /// Odoo base URL, e.g. `https://example.odoo.com`; without it leads are kept, not sent.
    #[arg(long, env = "ODOO_URL", value_parser = parse_url)]
    pub(crate) odoo_url: Option<String>,
    /// Odoo database name.
    #[arg(long, env = "ODOO_DB", default_value = "")]
    pub(crate) odoo_db: String,
    /// Odoo login for the legacy JSON-RPC API.
    #[arg(long, env = "ODOO_USERNAME", default_value = "")]
    pub(crate) odoo_username: String,
    /// Odoo password for the legacy JSON-RPC API.
    #[arg(long, env = "ODOO_PASSWORD", hide_env_values = true)]
    pub(crate) odoo_password: Option<Secret>,
    /// Odoo API key: when set, the JSON-2 API (Odoo 19+) is used instead of JSON-RPC.
    #[arg(long, env = "ODOO_API_KEY", hide_env_values = true)]
    pub(crate) odoo_api_key: Option<Secret>,
    /// Timeout of every call to Odoo, in seconds.
    #[arg(long, env = "ODOO_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub(crate) odoo_timeout_seconds: u64,
    /// First retry delay after a failed Odoo call, in milliseconds (doubles each time, with jitter).
    #[arg(long, env = "ODOO_RETRY_MIN_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub(crate) odoo_retry_min_ms: u64,
    /// Longest retry delay, in seconds.
    #[arg(long, env = "ODOO_RETRY_MAX_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) odoo_retry_max_seconds: u64,
    /// Odoo UTM source of the leads (utm.source name).
    #[arg(long, env = "SOURCE_NAME", default_value = "")]
    pub(crate) source_name: String,
    /// Odoo CRM tag of the leads (crm.tag name).
    #[arg(long, env = "TAG_NAME", default_value = "")]
    pub(crate) tag_name: String,
    /// Text next to the consent checkbox.
    #[arg(
        long,
        env = "PRIVACY_TEXT",
        default_value = "I agree that my details are stored to contact me about my request."
    )]
    pub(crate) privacy_text: String,
    /// Link to the privacy policy, shown with the consent text.
    #[arg(long, env = "PRIVACY_URL", value_parser = parse_url)]
    pub(crate) privacy_url: Option<String>,
    /// Where to send visitors after a sign-up, with the SHA-256 of their e-mail appended as
    /// `email_sha256=` (or put in place of `{email_sha256}`); our own page when unset.
    #[arg(long, env = "SUCCESS_REDIRECT_URL", value_parser = parse_url)]
    pub(crate) success_redirect_url: Option<String>,
    /// Proxies whose X-Forwarded-For is trusted: addresses or CIDR networks, comma separated.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub(crate) trusted_proxies: TrustedProxies,
    /// Form submissions allowed per client and minute (burst and refill).
    #[arg(long, env = "FORM_RATE_LIMIT_PER_MINUTE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) form_rate_limit_per_minute: u32,
    /// Seconds a lead is kept after it is in Odoo and its label is printed (privacy clean-up).
    #[arg(long, env = "LEAD_RETENTION_SECONDS", default_value_t = 30 * 24 * 3600, value_parser = clap::value_parser!(u64).range(0..=10 * 365 * 24 * 3600))]
    pub(crate) lead_retention_seconds: u64,
}

fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| "expected an address and port such as 0.0.0.0:8081".to_string())
}

fn parse_url(value: &str) -> Result<String, String> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(value.to_string()),
        _ => Err("expected an http:// or https:// URL".into()),
    }
}

impl LeadsArgs {
    /// How to reach Odoo, when it is configured.
    pub(crate) fn odoo_settings(&self) -> Option<OdooSettings> {
        let url = self.odoo_url.clone()?;
        Some(OdooSettings {
            url,
            database: self.odoo_db.clone(),
            username: self.odoo_username.clone(),
            password: self.odoo_password.clone(),
            api_key: self.odoo_api_key.clone().filter(|k| !k.expose().is_empty()),
            timeout: Duration::from_secs(self.odoo_timeout_seconds),
        })
    }
}

/// Why a submission could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("this e-mail address already signed up for this campaign")]
    AlreadySignedUp,
    #[error("the lead could not be stored: {0}")]
    Kubernetes(#[source] kube::Error),
}

/// Stores submissions as `Lead` resources.
#[derive(Clone)]
pub struct LeadStore {
    api: Api<Lead>,
    booth: BoothHandle,
}

impl LeadStore {
    pub fn new(api: Api<Lead>, booth: BoothHandle) -> Self {
        Self { api, booth }
    }

    pub fn api(&self) -> &Api<Lead> {
        &self.api
    }

    /// Creates the lead (durable once this returns `Ok`), in the Booth's current campaign, with
    /// the hash of the visitor's press token.
    pub async fn store(
        &self,
        submission: form::Submission,
        press_token_sha256: Option<String>,
    ) -> Result<Lead, StoreError> {
        let booth = self.booth.spec();
        let name = crd::lead_name(&booth.campaign_name, &submission.email);
        let code = code::generate();
        let labels = crate::labels::layout::labels_for(&booth, &submission.name, &code);
        let spec = LeadSpec {
            name: submission.name,
            email: submission.email,
            company: submission.company,
            job_position: submission.job_position,
            phone: submission.phone,
            country: submission.country.map(|c| LeadCountry { id: c.id, code: c.code, name: c.name }),
            notes: submission.notes,
            consent: true,
            campaign: booth.campaign_name.clone(),
            code,
            labels,
            submitted_at: crate::cluster::resource::now(),
            press_token_sha256,
        };
        match self.api.create(&PostParams::default(), &Lead::new(&name, spec)).await {
            Ok(lead) => Ok(lead),
            Err(kube::Error::Api(status)) if status.code == 409 => Err(StoreError::AlreadySignedUp),
            Err(error) => Err(StoreError::Kubernetes(error)),
        }
    }
}

/// What the HTTP side needs from lead capture.
#[derive(Clone)]
pub struct Leads {
    pub store: LeadStore,
    pub odoo: Option<Arc<dyn Odoo>>,
    pub countries: countries::CountryCache,
    pub metrics: metrics::LeadMetrics,
    /// Every Lead as the outbox controller sees it (counted by state on `/metrics`).
    pub stored: kube::runtime::reflector::Store<Lead>,
}

/// Starts the outbox controller and the country list refresher; Odoo being down only delays
/// them. Returns what the form and the settings page use.
pub fn start(
    client: kube::Client,
    namespace: &str,
    args: &LeadsArgs,
    booth: BoothHandle,
    metrics: metrics::LeadMetrics,
    printing: QueueWaker,
    tasks: &Tasks,
) -> Result<Leads, odoo::OdooSetupError> {
    let api: Api<Lead> = Api::namespaced(client, namespace);
    let odoo = args.odoo_settings().map(|s| odoo::connect(&s)).transpose()?;
    match &odoo {
        Some(client) => tracing::info!(api = client.api(), "leads go to Odoo"),
        None => tracing::warn!("ODOO_URL is not set: leads are kept as Lead resources and not sent to Odoo"),
    }
    let countries = countries::CountryCache::new();
    if let Some(odoo) = &odoo {
        let refresh = refresh_countries(odoo.clone(), countries.clone(), tasks.token().clone());
        tasks.spawn("country list refresh", refresh);
    }
    let ctx = Arc::new(controller::Context {
        api: api.clone(),
        booth: booth.clone(),
        odoo: odoo.clone(),
        settings: controller::SyncSettings {
            source_name: args.source_name.clone(),
            tag_name: args.tag_name.clone(),
            retention: Duration::from_secs(args.lead_retention_seconds),
            retry_min: Duration::from_millis(args.odoo_retry_min_ms),
            retry_max: Duration::from_secs(args.odoo_retry_max_seconds),
        },
        ids: controller::IdCache::default(),
        metrics: metrics.clone(),
        printing,
    });
    let stored = controller::start(ctx, tasks);
    Ok(Leads { store: LeadStore::new(api, booth), odoo, countries, metrics, stored })
}

/// Loads Odoo's country list: retried every 30 s until it succeeds, then refreshed hourly.
async fn refresh_countries(odoo: Arc<dyn Odoo>, cache: countries::CountryCache, shutdown: CancellationToken) {
    loop {
        let query = SearchRead::new("res.country", serde_json::json!([]), &["id", "name", "code"]);
        let wait = match odoo.search_read(query).await {
            Ok(records) => {
                let list: Vec<countries::Country> = records
                    .iter()
                    .filter_map(|r| {
                        Some(countries::Country {
                            id: Some(r.get("id")?.as_i64()?),
                            code: r.get("code")?.as_str()?.to_string(),
                            name: r.get("name")?.as_str()?.to_string(),
                        })
                    })
                    .collect();
                tracing::debug!(countries = list.len(), "country list loaded from Odoo");
                cache.set_from_odoo(list);
                Duration::from_secs(3600)
            }
            Err(error) => {
                tracing::debug!(%error, "country list not loaded from Odoo; using the cached one");
                Duration::from_secs(30)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
