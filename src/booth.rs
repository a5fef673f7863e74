//! The `Booth` custom resource: the booth's settings in `spec` (what staff change on `/config`
//! and the control panel) and what the booth has lived through in `status` (the kill counter,
//! the health of its parts).
//!
//! Keeping them in the cluster rather than in a file means they survive restarts and pod moves,
//! and every view (kiosks, control panel, phones) reads the same truth through the one watch this
//! module runs on the single Booth object. All status writes go through one writer task
//! ([`BoothHandle::add_kills`], [`BoothHandle::report_health`], ...), which coalesces them and
//! retries on conflicts, so concurrent parts never overwrite each other's fields.
//!
//! May call: `crate::backoff`, `crate::cluster`.

use crate::backoff::Backoff;
use crate::cluster::api_calls::{ApiCall, Scope};
use clap::Args;
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The API requests of this module (see [`crate::cluster::api_calls`]): creating the Booth,
/// watching it, patching its spec, and the status writer's get + replace.
pub(crate) const API_CALLS: [ApiCall; 6] = [
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths", "create"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths", "list"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths", "watch"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths", "patch"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths/status", "get"),
    ApiCall::new(Scope::Own, "conferenceli.dev", "booths/status", "update"),
];

/// Which voucher label the booth prints after a sign-up.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VoucherType {
    #[default]
    None,
    Appuio,
    Servala,
}

/// The booth's settings. Created from the environment (`CAMPAIGN_NAME`, `LABEL_HEADER`, ...) when
/// the Booth does not exist yet; from then on the resource is the truth and `/config` changes it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "conferenceli.dev",
    version = "v1alpha1",
    kind = "Booth",
    namespaced,
    status = "BoothStatus",
    shortname = "booth",
    printcolumn = r#"{"name":"Campaign","type":"string","jsonPath":".spec.campaignName"}"#,
    printcolumn = r#"{"name":"Kills","type":"integer","jsonPath":".status.killCount"}"#,
    printcolumn = r#"{"name":"Night","type":"boolean","jsonPath":".spec.nightMode"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BoothSpec {
    /// Night mode on the kiosk (dark harbour, dimmer LEDs).
    #[serde(default)]
    pub night_mode: bool,
    /// Odoo campaign the leads are filed under.
    #[serde(default)]
    pub campaign_name: String,
    /// Header line printed on raffle tickets (usually the event's name).
    #[serde(default)]
    pub label_header: String,
    /// Voucher label printed after a sign-up.
    #[serde(default)]
    pub voucher_type: VoucherType,
    /// The code printed on Servala vouchers.
    #[serde(default)]
    pub servala_voucher_code: String,
    /// Whether a raffle ticket is printed for every sign-up.
    #[serde(default)]
    pub print_raffle_ticket: bool,
    /// Whether leads are sent to Odoo (otherwise kept and marked as not sent).
    #[serde(default = "enabled")]
    pub odoo_create_lead_enabled: bool,
    /// Attract mode: the autopilot presses the chaos button when nobody has for a while.
    #[serde(default)]
    pub attract: AttractSettings,
    /// Chaos safety: minimum pod age, dry run, evict or delete.
    #[serde(default)]
    pub chaos_safety: ChaosSafety,
    /// How the visitors' pages look (see `crate::visitor::branding`).
    #[serde(default)]
    pub branding: Branding,
    /// Whether a sign-up earns the visitor one press of the chaos button from their phone.
    #[serde(default)]
    pub visitor_chaos: bool,
    /// The kiosk's QR card text, a call to action pointing at `PUBLIC_URL`.
    #[serde(default = "default_call_to_action")]
    pub call_to_action: String,
    /// How often the kiosk plays events of its own (`lively`, `calm`, `still`): calm for a busy Pi.
    #[serde(default)]
    pub show_pace: ShowPace,
}

/// How often the kiosk's theatre plays events of its own (`crate::theatre` and kiosk.js decide
/// what each means); kill animations and what staff start play at any pace.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShowPace {
    /// About one ambient event a minute, now and then a cameo.
    #[default]
    Lively,
    /// About one ambient event in five minutes, no cameos: for a Pi with other work to do.
    Calm,
    /// None: the harbour's own slow motion only.
    Still,
}

/// What the kiosk's QR card says unless the Booth says otherwise.
pub(crate) const DEFAULT_CALL_TO_ACTION: &str = "Scan to win a prize";

fn default_call_to_action() -> String {
    DEFAULT_CALL_TO_ACTION.into()
}

fn enabled() -> bool {
    true
}

impl Default for BoothSpec {
    fn default() -> Self {
        Self {
            night_mode: false,
            campaign_name: String::new(),
            label_header: String::new(),
            voucher_type: VoucherType::None,
            servala_voucher_code: String::new(),
            print_raffle_ticket: false,
            odoo_create_lead_enabled: true,
            attract: Default::default(),
            branding: Branding::default(),
            visitor_chaos: false,
            call_to_action: default_call_to_action(),
            chaos_safety: Default::default(),
            show_pace: ShowPace::Lively,
        }
    }
}

/// Settings that seed the Booth resource when it is created (then `/config` changes them there).
#[derive(Debug, Clone, Args)]
pub(crate) struct BoothDefaults {
    /// Odoo campaign the leads are filed under.
    #[arg(long, env = "CAMPAIGN_NAME", default_value = "")]
    pub campaign_name: String,
    /// Header printed on raffle tickets (usually the event's name).
    #[arg(long, env = "LABEL_HEADER", default_value = "")]
    pub label_header: String,
    /// Voucher label printed after a sign-up.
    #[arg(long, env = "VOUCHER_TYPE", value_enum, default_value = "none")]
    pub voucher_type: VoucherType,
    /// Code printed on Servala vouchers.
    #[arg(long, env = "SERVALA_VOUCHER_CODE", default_value = "")]
    pub servala_voucher_code: String,
    /// Print a raffle ticket for every sign-up (true/false).
    #[arg(long, env = "PRINT_RAFFLE_TICKET", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub print_raffle_ticket: bool,
    /// Create CRM leads in Odoo (true/false); when off, leads are kept and marked as not sent.
    #[arg(long = "odoo-createlead-enabled", env = "ODOO_CREATELEAD_ENABLED", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub odoo_create_lead_enabled: bool,
    /// The kiosk QR card's call to action (Booth `spec.callToAction`, then edited on /config).
    #[arg(long, env = "CALL_TO_ACTION", default_value = DEFAULT_CALL_TO_ACTION, value_parser = check_call_to_action)]
    pub call_to_action: String,
}

/// The longest call to action the QR card shows on one or two lines at 1280×800.
pub(crate) const CALL_TO_ACTION_MAX: usize = 60;

/// A call to action as the card shows it: trimmed, one line, at most [`CALL_TO_ACTION_MAX`]
/// characters; empty means the default.
pub(crate) fn check_call_to_action(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err("The call to action must be a single line of text.".into());
    }
    if value.chars().count() > CALL_TO_ACTION_MAX {
        return Err(format!("The call to action must be at most {CALL_TO_ACTION_MAX} characters."));
    }
    Ok(if value.is_empty() { DEFAULT_CALL_TO_ACTION.to_string() } else { value.to_string() })
}

impl BoothDefaults {
    pub(crate) fn to_spec(&self) -> BoothSpec {
        BoothSpec {
            night_mode: false,
            campaign_name: self.campaign_name.clone(),
            label_header: self.label_header.clone(),
            voucher_type: self.voucher_type,
            servala_voucher_code: self.servala_voucher_code.clone(),
            print_raffle_ticket: self.print_raffle_ticket,
            odoo_create_lead_enabled: self.odoo_create_lead_enabled,
            call_to_action: self.call_to_action.clone(),
            ..BoothSpec::default()
        }
    }
}

/// Attract mode's settings (`spec.attract`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttractSettings {
    /// Whether the autopilot may press the button at all.
    #[serde(default)]
    pub enabled: bool,
    /// Minutes without a press (decimals allowed) before the autopilot presses; also its pace.
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: f64,
    /// When the booth opens, `HH:MM` in `timeZone`.
    #[serde(default = "default_opens")]
    pub opens: String,
    /// When the booth closes, `HH:MM` in `timeZone` (`24:00` for midnight); after `opens`.
    #[serde(default = "default_closes")]
    pub closes: String,
    /// Days the booth is open: `mon` ... `sun`.
    #[serde(default = "default_weekdays")]
    pub weekdays: Vec<String>,
    /// IANA time zone of the booth hours (`Europe/Zurich`).
    #[serde(default = "default_time_zone")]
    pub(crate) time_zone: String,
}

impl AttractSettings {
    /// Today's date at the booth: in `timeZone` (UTC if the zone is unknown, which `/config`
    /// refuses to store anyway).
    pub(crate) fn today(&self) -> jiff::civil::Date {
        let zone = jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::now().to_zoned(zone).date()
    }
}

fn default_idle_minutes() -> f64 {
    5.0
}
fn default_opens() -> String {
    "09:00".into()
}
fn default_closes() -> String {
    "18:00".into()
}
fn default_weekdays() -> Vec<String> {
    WEEKDAYS.iter().map(|(name, _)| name.to_string()).collect()
}
fn default_time_zone() -> String {
    "UTC".into()
}

impl Default for AttractSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            idle_minutes: default_idle_minutes(),
            opens: default_opens(),
            closes: default_closes(),
            weekdays: default_weekdays(),
            time_zone: default_time_zone(),
        }
    }
}

/// Chaos safety (`spec.chaosSafety`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChaosSafety {
    /// Pods younger than this many seconds are never picked (0: any age).
    #[serde(default)]
    pub minimum_age_seconds: u64,
    /// Announce the pick without deleting anything (rehearsals).
    #[serde(default)]
    pub dry_run: bool,
    /// How a press takes the pod away: an eviction (the default), which the pod's disruption
    /// budget may refuse, or a plain delete, which no budget stops.
    #[serde(default)]
    pub mode: ChaosMode,
}

/// How the chaos button takes a pod away (`spec.chaosSafety.mode`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChaosMode {
    /// A `policy/v1` Eviction, as `kubectl drain` does: refused (429) while the pod's
    /// PodDisruptionBudget allows no disruption.
    #[default]
    Evict,
    /// A plain delete, as the button did before evictions: disruption budgets do not apply.
    Delete,
}

impl ChaosSafety {
    pub(crate) fn minimum_age(&self) -> Duration {
        Duration::from_secs(self.minimum_age_seconds)
    }
}

/// The weekday names the settings use.
pub const WEEKDAYS: [(&str, jiff::civil::Weekday); 7] = [
    ("mon", jiff::civil::Weekday::Monday),
    ("tue", jiff::civil::Weekday::Tuesday),
    ("wed", jiff::civil::Weekday::Wednesday),
    ("thu", jiff::civil::Weekday::Thursday),
    ("fri", jiff::civil::Weekday::Friday),
    ("sat", jiff::civil::Weekday::Saturday),
    ("sun", jiff::civil::Weekday::Sunday),
];

/// How the visitors' pages look. Stored in the Booth; every text may be empty (the default).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    /// The page's headline, e.g. the event or booth name.
    #[serde(default)]
    pub title: String,
    /// One or two sentences under the title.
    #[serde(default)]
    pub(crate) intro: String,
    /// What the raffle wins.
    #[serde(default)]
    pub(crate) prize: String,
    /// `#rrggbb`: buttons, the prize card and links.
    #[serde(default)]
    pub accent_color: String,
    /// When and where the draw is, shown on the thank-you page.
    #[serde(default)]
    pub(crate) draw_time: String,
    /// The operator's own logo; the embedded one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
}

/// An uploaded logo as stored in the Booth.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logo {
    /// `image/svg+xml` or `image/png`.
    pub content_type: String,
    /// The file, base64 (standard alphabet, padded).
    pub data: String,
}

/// A part of the booth whose health the Booth's status reports (a condition each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoothPart {
    BlinkStick,
    Printer,
    Odoo,
}

impl BoothPart {
    /// The condition's `type`.
    pub(crate) fn condition_type(self) -> &'static str {
        match self {
            BoothPart::BlinkStick => "BlinkStick",
            BoothPart::Printer => "Printer",
            BoothPart::Odoo => "Odoo",
        }
    }
}

/// The health of one part of the booth (BlinkStick, printer, Odoo, ...).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothCondition {
    /// The part: `BlinkStick`, `Printer`, `Odoo`, ...
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` when the part works.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub(crate) last_transition_time: String,
}

/// What the booth has done and how its parts are.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothStatus {
    /// Pods destroyed by the chaos button since the counter was last set.
    #[serde(default)]
    pub kill_count: u64,
    /// One condition per part of the booth.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<BoothCondition>,
}

/// Errors of the Booth resource's upkeep.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BoothError {
    #[error("could not create the Booth {name:?} in namespace {namespace:?} (is crds/ applied?): {source}")]
    Create {
        name: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("could not write the Booth status: {0}")]
    Status(#[source] kube::Error),
}

/// A change to the Booth status, applied by the writer task.
#[derive(Debug, Clone, PartialEq)]
enum StatusChange {
    AddKills(u64),
    SetKillCount(u64),
    Health { part: BoothPart, healthy: bool, reason: String, message: String },
}

/// The latest Booth object as the app sees it (`None` until it has been read once), and the way
/// to change its status.
#[derive(Clone)]
pub struct BoothHandle {
    api: Api<Booth>,
    name: String,
    latest: watch::Receiver<Option<Booth>>,
    problem: Arc<Mutex<Option<String>>>,
    status_changes: mpsc::UnboundedSender<StatusChange>,
}

impl BoothHandle {
    /// Follows the Booth with one watch, creating it with `defaults` first if it does not exist.
    /// Runs in the background and retries with backoff, so an API that is down at start-up
    /// delays readiness, never the listeners.
    pub fn start(client: Client, namespace: &str, name: &str, defaults: BoothSpec) -> Self {
        let api: Api<Booth> = Api::namespaced(client, namespace);
        let (tx, latest) = watch::channel(None);
        let problem = Arc::new(Mutex::new(None));
        let (status_changes, status_rx) = mpsc::unbounded_channel();
        let handle = Self { api: api.clone(), name: name.into(), latest, problem: problem.clone(), status_changes };
        let (namespace, name) = (namespace.to_string(), name.to_string());
        let follower = Follower { api: api.clone(), namespace, name: name.clone(), defaults, problem };
        tokio::spawn(async move {
            follower.ensure_exists_with_retry().await;
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let stream = watcher::watcher(api, config).default_backoff();
            follower.follow(stream, tx).await;
        });
        tokio::spawn(write_status(handle.api.clone(), handle.name.clone(), handle.latest.clone(), status_rx));
        handle
    }

    #[cfg(any(test, feature = "test-support"))]
    pub fn current(&self) -> Option<Booth> {
        self.latest.borrow().clone()
    }

    /// The settings now (defaults until the Booth has been read).
    pub fn spec(&self) -> BoothSpec {
        self.latest.borrow().as_ref().map(|b| b.spec.clone()).unwrap_or_default()
    }

    pub fn kill_count(&self) -> u64 {
        self.latest.borrow().as_ref().and_then(|b| b.status.as_ref()).map_or(0, |s| s.kill_count)
    }

    pub fn night_mode(&self) -> bool {
        self.latest.borrow().as_ref().is_some_and(|b| b.spec.night_mode)
    }

    /// Whether the Booth has been read at least once.
    pub fn synced(&self) -> bool {
        self.latest.borrow().is_some()
    }

    /// What stands in the way of reading the Booth, if anything (for `/readyz`).
    pub(crate) fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn api(&self) -> &Api<Booth> {
        &self.api
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Resolves on every change of the Booth.
    pub fn subscribe(&self) -> watch::Receiver<Option<Booth>> {
        self.latest.clone()
    }

    /// Adds to the kill counter (never lost: written with retries by the status writer).
    pub fn add_kills(&self, kills: u64) {
        let _ = self.status_changes.send(StatusChange::AddKills(kills));
    }

    /// Sets the kill counter (the control panel's "set counter").
    pub(crate) fn set_kill_count(&self, count: u64) {
        let _ = self.status_changes.send(StatusChange::SetKillCount(count));
    }

    /// Records the health of a part as a status condition; only transitions are written.
    pub fn report_health(&self, part: BoothPart, healthy: bool, reason: &str, message: &str) {
        let _ = self.status_changes.send(StatusChange::Health {
            part,
            healthy,
            reason: reason.into(),
            message: message.into(),
        });
    }

    /// Changes the settings with a merge patch of `spec` (the `/config` page, night mode).
    pub async fn patch_spec(&self, spec_patch: serde_json::Value) -> Result<Booth, kube::Error> {
        let patch = serde_json::json!({ "spec": spec_patch });
        self.api.patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)).await
    }
}

/// Applies changes to a status: the pure part of the writer.
fn apply_changes(status: &mut BoothStatus, changes: &[StatusChange], now: &str) {
    for change in changes {
        match change {
            StatusChange::AddKills(n) => status.kill_count = status.kill_count.saturating_add(*n),
            StatusChange::SetKillCount(n) => status.kill_count = *n,
            StatusChange::Health { part, healthy, reason, message } => {
                let state = if *healthy { "True" } else { "False" };
                let mut conditions: BTreeMap<String, BoothCondition> =
                    status.conditions.drain(..).map(|c| (c.type_.clone(), c)).collect();
                let entry = conditions.entry(part.condition_type().into()).or_insert_with(|| BoothCondition {
                    type_: part.condition_type().into(),
                    status: String::new(),
                    reason: String::new(),
                    message: String::new(),
                    last_transition_time: now.to_string(),
                });
                if entry.status != state {
                    entry.last_transition_time = now.to_string();
                }
                entry.status = state.into();
                entry.reason = reason.clone();
                entry.message = message.clone();
                status.conditions = conditions.into_values().collect();
            }
        }
    }
}

/// The one writer of the Booth status: drains every pending change, applies them to the current
/// status and replaces it with an optimistic-concurrency check, retrying on conflict. It starts
/// writing once the Booth has been read (the follower creates it first).
async fn write_status(
    api: Api<Booth>,
    name: String,
    mut latest: watch::Receiver<Option<Booth>>,
    mut changes: mpsc::UnboundedReceiver<StatusChange>,
) {
    if latest.wait_for(Option::is_some).await.is_err() {
        return;
    }
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = changes.try_recv() {
            batch.push(more);
        }
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match write_once(&api, &name, &batch).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "Booth status not written yet; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    while let Ok(more) = changes.try_recv() {
                        batch.push(more);
                    }
                }
            }
        }
    }
}

async fn write_once(api: &Api<Booth>, name: &str, batch: &[StatusChange]) -> Result<(), BoothError> {
    let mut booth = api.get_status(name).await.map_err(BoothError::Status)?;
    let before = booth.status.clone().unwrap_or_default();
    let mut status = before.clone();
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default();
    apply_changes(&mut status, batch, &now);
    if status == before {
        return Ok(());
    }
    booth.status = Some(status);
    api.replace_status(name, &PostParams::default(), &booth).await.map_err(BoothError::Status)?;
    Ok(())
}

/// Keeps the Booth existing and its latest state published.
struct Follower {
    api: Api<Booth>,
    namespace: String,
    name: String,
    defaults: BoothSpec,
    problem: Arc<Mutex<Option<String>>>,
}

impl Follower {
    async fn ensure_exists(&self) -> Result<(), BoothError> {
        let booth = Booth::new(&self.name, self.defaults.clone());
        match self.api.create(&PostParams::default(), &booth).await {
            Ok(_) => {
                tracing::info!(booth = self.name, namespace = self.namespace, "created the Booth resource");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(source) => {
                Err(BoothError::Create { name: self.name.clone(), namespace: self.namespace.clone(), source })
            }
        }
    }

    /// Retries creation with capped exponential backoff, logging once per distinct problem.
    async fn ensure_exists_with_retry(&self) {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        loop {
            match self.ensure_exists().await {
                Ok(()) => {
                    *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    return;
                }
                Err(error) => {
                    let message = error.to_string();
                    let mut current = self.problem.lock().unwrap_or_else(|p| p.into_inner());
                    if current.as_deref() != Some(message.as_str()) {
                        tracing::warn!(%message, "Booth resource not available yet; retrying");
                        *current = Some(message);
                    }
                }
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    /// Feeds the Booth's watch into `tx`; a deleted Booth is created again with the defaults.
    async fn follow(
        &self,
        stream: impl futures::Stream<Item = watcher::Result<watcher::Event<Booth>>> + Send,
        tx: watch::Sender<Option<Booth>>,
    ) {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(booth) | watcher::Event::InitApply(booth)) => {
                    tx.send_replace(Some(booth));
                }
                Ok(watcher::Event::Delete(_)) => {
                    tracing::warn!(booth = self.name, "the Booth resource was deleted; creating it again");
                    self.ensure_exists_with_retry().await;
                }
                Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
                Err(error) => tracing::warn!(%error, "Booth watch interrupted; resuming"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_accumulate_and_health_records_transitions() {
        let mut status = BoothStatus::default();
        apply_changes(&mut status, &[StatusChange::AddKills(2), StatusChange::AddKills(3)], "t1");
        assert_eq!(status.kill_count, 5);
        let health = |healthy, message: &str| StatusChange::Health {
            part: BoothPart::Printer,
            healthy,
            reason: if healthy { "Ready" } else { "NoMedia" }.into(),
            message: message.into(),
        };
        apply_changes(&mut status, &[health(false, "out of labels")], "t2");
        apply_changes(&mut status, &[health(false, "still out of labels")], "t3");
        let printer = &status.conditions[0];
        assert_eq!((printer.status.as_str(), printer.last_transition_time.as_str()), ("False", "t2"));
        assert_eq!(printer.message, "still out of labels");
        apply_changes(&mut status, &[health(true, ""), StatusChange::SetKillCount(1)], "t4");
        assert_eq!(
            (status.conditions[0].status.as_str(), status.conditions[0].last_transition_time.as_str()),
            ("True", "t4")
        );
        assert_eq!(status.kill_count, 1);
    }

    #[test]
    fn missing_settings_take_their_defaults() {
        let spec: BoothSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(spec, BoothSpec::default());
        assert!(spec.odoo_create_lead_enabled);
    }
}
