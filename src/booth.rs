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
//! Each setting is declared once, here, with a type of its own ([`values`]: times of day,
//! weekdays, time zones, colours, voucher types, [`IdleMinutes`]), so the CRD schema, the watch,
//! `/config` and every reader agree on what a value is. A value the schema cannot refuse (a time
//! zone the database does not know, a booth that closes before it opens) is refused when the
//! Booth is read (`usable`): the booth keeps the value it ran on and says so in the log and in
//! the `Settings` condition of the Booth's status.
//!
//! May call: `crate::backoff`, `crate::cluster`, `crate::tasks`.

mod usable;
pub mod values;

pub use usable::Refusal;
pub use values::{ChaosMode, Colour, ShowPace, TimeOfDay, TimeZoneName, VoucherType, Weekday};

use crate::backoff::Backoff;

use crate::cluster::api_calls::{ApiCall, Scope};
use crate::cluster::resource::{Condition, ConditionStatus, SpecPatch, Version, now, set_condition};
use crate::tasks::Tasks;
use clap::Args;
use futures::StreamExt;
use kube::api::{Api, ApiResource, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
    #[serde(default, deserialize_with = "AttractSettings::deserialize_checked")]
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
    #[serde(default)]
    pub idle_minutes: IdleMinutes,
    /// When the booth opens, `HH:MM` in `timeZone`.
    #[serde(default = "default_opens")]
    pub opens: TimeOfDay,
    /// When the booth closes, `HH:MM` in `timeZone` (`24:00` for midnight); after `opens`.
    #[serde(default = "default_closes")]
    pub closes: TimeOfDay,
    /// Days the booth is open: `mon` ... `sun`.
    #[serde(default = "default_weekdays")]
    pub weekdays: Vec<Weekday>,
    /// IANA time zone of the booth hours (`Europe/Zurich`).
    #[serde(default = "TimeZoneName::utc")]
    pub time_zone: TimeZoneName,
}

/// Booth hours that end before they begin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the booth must close after it opens (on the same day), not open from {opens} to {closes}")]
pub(crate) struct ClosesBeforeOpening {
    opens: TimeOfDay,
    closes: TimeOfDay,
}

impl AttractSettings {
    /// What one value cannot say: the booth closes after it opens.
    pub(crate) fn check(&self) -> Result<(), ClosesBeforeOpening> {
        if self.closes > self.opens {
            Ok(())
        } else {
            Err(ClosesBeforeOpening { opens: self.opens, closes: self.closes })
        }
    }

    /// Reads the settings and refuses them as a whole when [`Self::check`] does.
    fn deserialize_checked<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let settings = Self::deserialize(deserializer)?;
        settings.check().map_err(serde::de::Error::custom)?;
        Ok(settings)
    }

    /// Today's date at the booth, in its time zone.
    pub(crate) fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::now().to_zoned(self.time_zone.zone().clone()).date()
    }
}

/// Minutes without a press before the autopilot presses: a number from
/// [`IdleMinutes::MIN`] to [`IdleMinutes::MAX`] (decimals allowed).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, PartialOrd, JsonSchema)]
#[schemars(transparent)]
pub struct IdleMinutes(#[schemars(range(min = IdleMinutes::MIN, max = IdleMinutes::MAX))] f64);

/// An idle time out of bounds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the idle time must be a number of minutes from {min} to {max} (decimals allowed, such as 2.5), not {0}",
    min = IdleMinutes::MIN,
    max = IdleMinutes::MAX
)]
pub struct IdleOutOfBounds(f64);

impl IdleMinutes {
    /// Shortest idle time, in minutes (3 s: for rehearsals and tests).
    pub const MIN: f64 = 0.05;
    /// Longest idle time, in minutes (a day).
    pub const MAX: f64 = 1440.0;

    pub fn new(minutes: f64) -> Result<Self, IdleOutOfBounds> {
        if (Self::MIN..=Self::MAX).contains(&minutes) {
            Ok(IdleMinutes(minutes))
        } else {
            Err(IdleOutOfBounds(minutes))
        }
    }

    pub(crate) fn duration(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_secs_f64(self.0 * 60.0)
    }

    pub fn minutes(self) -> f64 {
        self.0
    }
}

impl Default for IdleMinutes {
    fn default() -> Self {
        IdleMinutes(5.0)
    }
}

impl<'de> Deserialize<'de> for IdleMinutes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IdleMinutes::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

fn default_opens() -> TimeOfDay {
    TimeOfDay::on_the_hour(9)
}
fn default_closes() -> TimeOfDay {
    TimeOfDay::on_the_hour(18)
}
fn default_weekdays() -> Vec<Weekday> {
    Weekday::ALL.to_vec()
}

impl Default for AttractSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            idle_minutes: IdleMinutes::default(),
            opens: default_opens(),
            closes: default_closes(),
            weekdays: default_weekdays(),
            time_zone: TimeZoneName::utc(),
        }
    }
}

/// Chaos safety (`spec.chaosSafety`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChaosSafety {
    /// Pods younger than this many seconds are never picked (0: any age, at most a day).
    #[serde(default)]
    #[schemars(range(max = ChaosSafety::MAX_MINIMUM_AGE_SECONDS))]
    pub minimum_age_seconds: u64,
    /// Announce the pick without deleting anything (rehearsals).
    #[serde(default)]
    pub dry_run: bool,
    /// How a press takes the pod away: an eviction (the default), which the pod's disruption
    /// budget may refuse, or a plain delete, which no budget stops.
    #[serde(default)]
    pub mode: ChaosMode,
}

impl ChaosSafety {
    /// The largest minimum pod age, in seconds (a day).
    pub(crate) const MAX_MINIMUM_AGE_SECONDS: u64 = 86_400;

    pub(crate) fn minimum_age(&self) -> Duration {
        Duration::from_secs(self.minimum_age_seconds)
    }
}

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
    /// `#rrggbb`: buttons, the prize card and links; empty for the default.
    #[serde(default, with = "values::colour_or_empty")]
    #[schemars(schema_with = "values::colour_or_empty::schema")]
    pub accent_color: Option<Colour>,
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
    /// The health checks as a whole (`crate::health`'s monitor): true when none fails.
    HealthChecks,
}

impl BoothPart {
    /// The condition's `type`.
    pub(crate) fn condition_type(self) -> &'static str {
        match self {
            BoothPart::BlinkStick => "BlinkStick",
            BoothPart::Printer => "Printer",
            BoothPart::Odoo => "Odoo",
            BoothPart::HealthChecks => "HealthChecks",
        }
    }
}

/// The condition type of the spec's own health: `False` while the booth refuses a value of the
/// Booth's spec (see [`usable`]).
const SETTINGS_CONDITION: &str = "Settings";

/// What the booth has done and how its parts are.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothStatus {
    /// Pods destroyed by the chaos button since the counter was last set.
    #[serde(default)]
    pub kill_count: u64,
    /// One condition per part of the booth (`BlinkStick`, `Printer`, `Odoo`: `True` when it
    /// works), and `Settings` (`False` while a value of the spec is refused, naming it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The Booth as the API stores it: the spec as written (which may hold a value the booth
/// refuses), the status as the booth writes it. The watch and the status writer read this, so
/// that a bad value written with kubectl never stops them.
type StoredBooth = kube::core::Object<serde_json::Value, BoothStatus>;

/// How often a change of the settings is read and tried again when the Booth changed under it
/// (the status writer's counters change it too).
const CHANGE_ATTEMPTS: u32 = 8;

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
    Health {
        part: BoothPart,
        healthy: bool,
        reason: String,
        message: String,
    },
    /// The values of generation `generation` of the spec that the booth refuses (none: all in use).
    Settings {
        refused: Vec<String>,
        generation: Option<i64>,
    },
}

/// The latest Booth object as the app sees it (`None` until it has been read once), and the way
/// to change its status.
#[derive(Clone)]
pub struct BoothHandle {
    api: Api<Booth>,
    stored: Api<StoredBooth>,
    name: String,
    latest: watch::Receiver<Option<Booth>>,
    refused: Arc<Mutex<Vec<Refusal>>>,
    problem: Arc<Mutex<Option<String>>>,
    status_changes: mpsc::UnboundedSender<StatusChange>,
}

impl BoothHandle {
    /// Follows the Booth with one watch, creating it with `defaults` first if it does not exist.
    /// Runs in the background and retries with backoff, so an API that is down at start-up
    /// delays readiness, never the listeners.
    pub fn start(client: Client, namespace: &str, name: &str, defaults: BoothSpec, tasks: &Tasks) -> Self {
        let api: Api<Booth> = Api::namespaced(client.clone(), namespace);
        let stored: Api<StoredBooth> = Api::namespaced_with(client, namespace, &ApiResource::erase::<Booth>(&()));
        let (tx, latest) = watch::channel(None);
        let problem = Arc::new(Mutex::new(None));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (status_changes, status_rx) = mpsc::unbounded_channel();
        let handle = Self {
            api: api.clone(),
            stored: stored.clone(),
            name: name.into(),
            latest,
            refused: refused.clone(),
            problem: problem.clone(),
            status_changes: status_changes.clone(),
        };
        let (namespace, name) = (namespace.to_string(), name.to_string());
        let follower = Follower { api, namespace, name: name.clone(), defaults, problem, refused, status_changes };
        tasks.spawn_until_shutdown("booth follower", async move {
            follower.ensure_exists_with_retry().await;
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let stream = watcher::watcher(stored, config).default_backoff();
            follower.follow(stream, tx).await;
        });
        let status = write_status(handle.stored.clone(), handle.name.clone(), handle.latest.clone(), status_rx);
        tasks.spawn_until_shutdown("booth status writer", status);
        handle
    }

    /// Reads the Booth `name` once as the API stores it, with the spec the booth would run on
    /// (`defaults` in place of each refused value) and what it refuses: what
    /// `conferenceli check` reads without a running booth.
    pub(crate) async fn read(
        client: Client,
        namespace: &str,
        name: &str,
        defaults: &BoothSpec,
    ) -> Result<(Booth, Vec<Refusal>), kube::Error> {
        let stored: Api<StoredBooth> = Api::namespaced_with(client, namespace, &ApiResource::erase::<Booth>(&()));
        let stored = stored.get_status(name).await?;
        let (spec, refused) = usable::usable_spec(&stored.spec, defaults);
        Ok((Booth { metadata: stored.metadata, spec, status: stored.status }, refused))
    }

    /// The Booth as last read (`None` until it has been).
    pub fn current(&self) -> Option<Booth> {
        self.latest.borrow().clone()
    }

    /// The settings the booth runs on now (defaults until the Booth has been read): the Booth's
    /// spec, but for the values it refuses (see [`Self::refused`]).
    pub fn spec(&self) -> BoothSpec {
        self.latest.borrow().as_ref().map(|b| b.spec.clone()).unwrap_or_default()
    }

    /// The values of the Booth's spec the booth refuses, each saying why and what it runs on
    /// instead.
    pub fn refused(&self) -> Vec<Refusal> {
        self.refused.lock().unwrap_or_else(|p| p.into_inner()).clone()
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

    /// Changes the settings (the `/config` page, night mode): `change` is applied to the spec
    /// as stored (as the booth can use it), and the merge patch of the spec carries what it
    /// changed and, in place of every value the booth refused, the one it runs on, so that
    /// afterwards the Booth says what the booth does. The patch is applied only to the version
    /// read (read again and retried when the Booth changed meanwhile, so a change is never lost
    /// nor computed from the watch's possibly stale view); the spec is read through the status
    /// subresource, whose `get` the status writer needs anyway. Returns the settings the booth
    /// runs on from then on.
    pub async fn change_spec(&self, change: impl Fn(&mut BoothSpec)) -> Result<BoothSpec, kube::Error> {
        let mut attempts = 0;
        loop {
            let stored = self.stored.get_status(&self.name).await?;
            let (running, refused) = usable::usable_spec(&stored.spec, &self.spec());
            let mut changed = running.clone();
            change(&mut changed);
            let version = stored.metadata.resource_version.unwrap_or_default();
            let spec = usable::spec_patch(&running, &changed, &refused).map_err(kube::Error::SerdeError)?;
            let patch = SpecPatch { metadata: Version { resource_version: &version }, spec };
            match self.stored.patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(stored) => return Ok(usable::usable_spec(&stored.spec, &changed).0),
                Err(kube::Error::Api(status)) if status.code == 409 && attempts < CHANGE_ATTEMPTS => attempts += 1,
                Err(error) => return Err(error),
            }
        }
    }
}

/// Applies changes to a status at `now`: the pure part of the writer.
fn apply_changes(status: &mut BoothStatus, changes: &[StatusChange], now: jiff::Timestamp) {
    for change in changes {
        match change {
            StatusChange::AddKills(n) => status.kill_count = status.kill_count.saturating_add(*n),
            StatusChange::SetKillCount(n) => status.kill_count = *n,
            StatusChange::Health { part, healthy, reason, message } => {
                let condition = Condition {
                    type_: part.condition_type().into(),
                    status: ConditionStatus::from(*healthy),
                    observed_generation: None,
                    last_transition_time: now,
                    reason: reason.clone(),
                    message: message.clone(),
                };
                set_condition(&mut status.conditions, condition);
            }
            StatusChange::Settings { refused, generation } => {
                // Nothing to say about settings that were never refused.
                if refused.is_empty() && !status.conditions.iter().any(|c| c.type_ == SETTINGS_CONDITION) {
                    continue;
                }
                let (reason, message) = if refused.is_empty() {
                    ("Valid", "every value of the spec is in use".to_string())
                } else {
                    ("InvalidValue", refused.join("; "))
                };
                let condition = Condition {
                    type_: SETTINGS_CONDITION.into(),
                    status: ConditionStatus::from(refused.is_empty()),
                    observed_generation: *generation,
                    last_transition_time: now,
                    reason: reason.into(),
                    message,
                };
                set_condition(&mut status.conditions, condition);
            }
        }
    }
}

/// The one writer of the Booth status: drains every pending change, applies them to the current
/// status and replaces it with an optimistic-concurrency check, retrying on conflict. It starts
/// writing once the Booth has been read (the follower creates it first).
async fn write_status(
    api: Api<StoredBooth>,
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

async fn write_once(api: &Api<StoredBooth>, name: &str, batch: &[StatusChange]) -> Result<(), BoothError> {
    let mut booth = api.get_status(name).await.map_err(BoothError::Status)?;
    let before = booth.status.clone().unwrap_or_default();
    let mut status = before.clone();
    apply_changes(&mut status, batch, now());
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
    refused: Arc<Mutex<Vec<Refusal>>>,
    status_changes: mpsc::UnboundedSender<StatusChange>,
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

    /// Feeds the Booth's watch into `tx`, each spec as the booth can use it (see [`usable`]):
    /// a refused value keeps the one before, which the log and the `Settings` condition say;
    /// a deleted Booth is created again with the defaults.
    async fn follow(
        &self,
        stream: impl futures::Stream<Item = watcher::Result<watcher::Event<StoredBooth>>> + Send,
        tx: watch::Sender<Option<Booth>>,
    ) {
        let mut stream = std::pin::pin!(stream);
        let mut last_good = self.defaults.clone();
        let mut reported = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(stored) | watcher::Event::InitApply(stored)) => {
                    let (spec, refusals) = usable::usable_spec(&stored.spec, &last_good);
                    let refused: Vec<String> = refusals.iter().map(Refusal::to_string).collect();
                    let generation = stored.metadata.generation;
                    if reported.as_ref() != Some(&(refused.clone(), generation)) {
                        let was_refusing =
                            reported.as_ref().is_some_and(|(lines, _): &(Vec<String>, _)| !lines.is_empty());
                        match refused.as_slice() {
                            [] if was_refusing => tracing::info!("every Booth setting is in use again"),
                            [] => {}
                            lines => tracing::warn!(refused = lines.join("; "), "Booth settings refused"),
                        }
                        let change = StatusChange::Settings { refused: refused.clone(), generation };
                        let _ = self.status_changes.send(change);
                        reported = Some((refused, generation));
                    }
                    *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = refusals;
                    last_good = spec.clone();
                    tx.send_replace(Some(Booth { metadata: stored.metadata, spec, status: stored.status }));
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

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn status_changes_accumulate_and_health_records_transitions() {
        let mut status = BoothStatus::default();
        let t = |minute: u8| at(&format!("2026-11-30T09:{minute:02}:00Z"));
        apply_changes(&mut status, &[StatusChange::AddKills(2), StatusChange::AddKills(3)], t(1));
        assert_eq!(status.kill_count, 5);
        let health = |healthy, message: &str| StatusChange::Health {
            part: BoothPart::Printer,
            healthy,
            reason: if healthy { "Ready" } else { "NoMedia" }.into(),
            message: message.into(),
        };
        apply_changes(&mut status, &[health(false, "out of labels")], t(2));
        apply_changes(&mut status, &[health(false, "still out of labels")], t(3));
        let printer = &status.conditions[0];
        assert_eq!((printer.status.as_str(), printer.last_transition_time), ("False", t(2)));
        assert_eq!(printer.message, "still out of labels");
        apply_changes(&mut status, &[health(true, ""), StatusChange::SetKillCount(1)], t(4));
        assert_eq!((status.conditions[0].status.as_str(), status.conditions[0].last_transition_time), ("True", t(4)));
        assert_eq!(status.kill_count, 1);
    }

    #[test]
    fn the_settings_condition_appears_with_a_refusal_and_stays_to_say_it_is_over() {
        let mut status = BoothStatus::default();
        let settings = |refused: &[&str], generation| StatusChange::Settings {
            refused: refused.iter().map(|r| r.to_string()).collect(),
            generation: Some(generation),
        };
        apply_changes(&mut status, &[settings(&[], 1)], at("2026-11-30T09:00:00Z"));
        assert!(status.conditions.is_empty(), "nothing to say");
        let refusal = "spec.attract.timeZone: unknown time zone \"Mars/Base\"";
        apply_changes(&mut status, &[settings(&[refusal], 2)], at("2026-11-30T09:01:00Z"));
        let condition = status.conditions[0].clone();
        assert_eq!((condition.type_.as_str(), condition.status.as_str()), ("Settings", "False"));
        assert_eq!((condition.reason.as_str(), condition.message.as_str()), ("InvalidValue", refusal));
        assert_eq!(condition.observed_generation, Some(2));
        apply_changes(&mut status, &[settings(&[], 3)], at("2026-11-30T09:02:00Z"));
        let condition = &status.conditions[0];
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("True", "Valid"));
        assert_eq!(
            (condition.observed_generation, condition.last_transition_time),
            (Some(3), at("2026-11-30T09:02:00Z"))
        );
    }

    #[test]
    fn every_setting_reads_back_as_written_in_the_crds_spelling() {
        let wire = serde_json::json!({
            "nightMode": true, "campaignName": "KubeCon", "labelHeader": "KubeCon EU", "voucherType": "servala",
            "servalaVoucherCode": "BOOTH-26", "printRaffleTicket": true, "odooCreateLeadEnabled": false,
            "attract": {"enabled": true, "idleMinutes": 2.5, "opens": "10:00", "closes": "24:00",
                        "weekdays": ["mon", "sat"], "timeZone": "Europe/Zurich"},
            "chaosSafety": {"minimumAgeSeconds": 45, "dryRun": true, "mode": "delete"},
            "branding": {"title": "KubeCon", "intro": "Break it.", "prize": "A Pi", "accentColor": "#1b5e8c",
                         "drawTime": "17:00", "logo": {"contentType": "image/png", "data": "iVBORw0KGgo="}},
            "visitorChaos": true, "callToAction": "Win a Pi", "showPace": "calm",
        });
        let spec: BoothSpec = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&spec).unwrap(), wire);
        assert_eq!(spec.voucher_type, VoucherType::Servala);
        assert_eq!((spec.chaos_safety.mode, spec.show_pace), (ChaosMode::Delete, ShowPace::Calm));
        assert_eq!(spec.attract.weekdays, [Weekday::Mon, Weekday::Sat]);
        assert_eq!((spec.attract.opens, spec.attract.closes), (TimeOfDay::new(10, 0).unwrap(), TimeOfDay::END_OF_DAY));
        assert_eq!(spec.attract.idle_minutes.duration(), jiff::SignedDuration::from_secs(150));
        assert_eq!(spec.branding.accent_color, Some(Colour([0x1b, 0x5e, 0x8c])));
        let zurich_date = || jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Zurich").unwrap()).date();
        let (before, today, after) = (zurich_date(), spec.attract.today(), zurich_date());
        assert!(today == before || today == after, "the booth's day is Zurich's");
        // A spec read from the API is a checked one: hours that end before they begin are no spec.
        let mut inverted = wire.clone();
        inverted["attract"]["opens"] = serde_json::json!("24:00");
        let error = serde_json::from_value::<BoothSpec>(inverted).unwrap_err().to_string();
        assert!(error.contains("the booth must close after it opens"), "{error}");
        assert!(
            IdleMinutes::new(0.0).is_err() && IdleMinutes::new(f64::NAN).is_err() && IdleMinutes::new(1440.0).is_ok()
        );
    }

    #[test]
    fn missing_settings_take_their_defaults() {
        let spec: BoothSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(spec, BoothSpec::default());
        assert!(spec.odoo_create_lead_enabled);
    }
}
