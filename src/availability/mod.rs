//! Self-healing, measured live: the booth sends a steady trickle of HTTP requests to the demo
//! workload's Service, one new connection each (so the Service balances every request, as
//! kube-proxy does), and counts requests, failures and which pod answered (read from the answer's
//! body: the workload answers with its pod name). It also times every kill until the replacement
//! pod is Ready ([`heals`]).
//!
//! The counts are in `GET /api/state` (`availability`) and `/metrics`; the kiosk gets them as the
//! `availability` SSE event, at most once a second with the answers since the last one batched,
//! and nothing at all while nothing changes. The kiosk's counts and its fastest heal are the
//! booth's day's ("since the morning"): they start again at midnight in the booth's time zone (the Booth's
//! `attract.timeZone`), given to [`Availability::start`] as a clock. The `/metrics` counters never
//! start again: Prometheus counters only go up while the process lives.
//!
//! May call: `crate::cluster` (the pods' states and the chaos announcements), `crate::http` and
//! `crate::tasks` (where its loops and requests run).

pub mod heals;

use crate::cluster::{ChaosBus, ChaosListener, ClusterState, Kill, Update};
use crate::tasks::Tasks;
use heals::{Heal, HealTracker};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Pods counted by name; answers naming more distinct pods than this count only in the totals
/// (a misbehaving workload cannot grow the booth's memory).
const MAX_PODS: usize = 256;
/// Heals kept for `/api/state`.
const KEPT_HEALS: usize = 20;
/// The kiosk gets at most one `availability` event per this interval.
pub(crate) const NOTICE_INTERVAL: Duration = Duration::from_millis(1000);

/// Settings of the trickle of requests.
#[derive(Debug, Clone, clap::Args)]
pub struct AvailabilityArgs {
    /// The workload Service the booth sends its requests to. Default for `run`:
    /// http://critical-prod.<K8S_NAMESPACE>.svc/ (in-cluster DNS); for `demo`: the simulated Service.
    #[arg(long = "availability-url", env = "AVAILABILITY_URL", value_parser = parse_url)]
    pub url: Option<reqwest::Url>,
    /// Requests per second to the Service (decimals allowed); 0 switches the trickle off.
    #[arg(long = "availability-requests-per-second", env = "AVAILABILITY_REQUESTS_PER_SECOND", default_value = "4", value_parser = parse_rate)]
    pub(crate) requests_per_second: f64,
    /// Milliseconds one request may take before it counts as failed.
    #[arg(long = "availability-timeout-ms", env = "AVAILABILITY_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub(crate) timeout_ms: u64,
}

fn parse_url(value: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(value.trim()).map_err(|e| format!("expected an http(s) URL: {e}"))?;
    if matches!(url.scheme(), "http" | "https") { Ok(url) } else { Err("expected an http(s) URL".into()) }
}

fn parse_rate(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=50.0).contains(r))
        .ok_or_else(|| "expected requests per second from 0 (off) to 50, such as 4 or 0.5".into())
}

impl AvailabilityArgs {
    /// The Service's URL: the setting, else `default`.
    pub(crate) fn url_or(&self, default: &str) -> Result<reqwest::Url, String> {
        match &self.url {
            Some(url) => Ok(url.clone()),
            None => parse_url(default),
        }
    }
}

/// What `/api/state` shows.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityView {
    /// Whether the trickle runs.
    pub enabled: bool,
    /// The booth's day the counts are of (`2026-11-29`), once the clock has been read.
    pub day: Option<jiff::civil::Date>,
    pub requests: u64,
    pub failures: u64,
    /// Answers by the pod that gave them.
    pub(crate) by_pod: BTreeMap<String, u64>,
    /// The latest kills' heal times, newest last.
    pub heals: Vec<Heal>,
    /// The booth day's fastest heal (the kiosk shows it), once there was one.
    pub(crate) fastest: Option<Heal>,
}

/// The kiosk's `availability` event: the totals, the answers since the previous event, and the
/// heals completed since then.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityNotice {
    pub requests: u64,
    pub failures: u64,
    pub(crate) hits: BTreeMap<String, u64>,
    pub healed: Vec<Heal>,
    /// The booth day's fastest heal so far.
    pub(crate) fastest: Option<Heal>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PodLabel {
    pod: String,
}

struct AvailabilityMetrics {
    requests: Counter,
    failures: Counter,
    answers: Family<PodLabel, Counter>,
}

#[derive(Default)]
struct Counts {
    view: AvailabilityView,
    /// Since the last notice.
    hits: BTreeMap<String, u64>,
    healed: Vec<Heal>,
    dirty: bool,
}

/// The counts and their subscribers. Cheap to share (`Arc`).
pub struct Availability {
    counts: Mutex<Counts>,
    metrics: AvailabilityMetrics,
    notices: broadcast::Sender<AvailabilityNotice>,
}

/// Why one request failed (logged at debug level: a killed pod's failures are the show).
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
    #[error("the answer is not a pod name")]
    NotAName,
}

/// A pod name as the workload answers it: a DNS-1123 subdomain.
fn pod_name_of(body: &str) -> Option<&str> {
    let name = body.trim();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    valid.then_some(name)
}

impl Availability {
    /// The counters, registered in `registry` as `conferenceli_availability_*`.
    pub fn new(registry: &mut Registry, enabled: bool) -> Arc<Self> {
        let metrics = AvailabilityMetrics {
            requests: Counter::default(),
            failures: Counter::default(),
            answers: Family::default(),
        };
        registry.register(
            "availability_requests",
            "Requests the booth sent to the workload's Service",
            metrics.requests.clone(),
        );
        registry.register("availability_failures", "Requests to the workload that failed", metrics.failures.clone());
        registry.register("availability_answers", "Answers from the workload by pod", metrics.answers.clone());
        let counts = Counts { view: AvailabilityView { enabled, ..AvailabilityView::default() }, ..Counts::default() };
        Arc::new(Self { counts: Mutex::new(counts), metrics, notices: broadcast::channel(16).0 })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn view(&self) -> AvailabilityView {
        self.counts().view.clone()
    }

    /// The kiosk's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AvailabilityNotice> {
        self.notices.subscribe()
    }

    /// Counts one finished request: the pod that answered, or a failure.
    fn record(&self, answer: Option<&str>) {
        self.metrics.requests.inc();
        let mut counts = self.counts();
        counts.view.requests += 1;
        counts.dirty = true;
        match answer {
            Some(pod) => {
                let known = counts.view.by_pod.contains_key(pod);
                if known || counts.view.by_pod.len() < MAX_PODS {
                    *counts.view.by_pod.entry(pod.to_string()).or_default() += 1;
                    *counts.hits.entry(pod.to_string()).or_default() += 1;
                    self.metrics.answers.get_or_create(&PodLabel { pod: pod.to_string() }).inc();
                }
            }
            None => {
                counts.view.failures += 1;
                self.metrics.failures.inc();
            }
        }
    }

    fn record_heal(&self, heal: Heal) {
        tracing::info!(pod = %heal.name, seconds = heal.seconds, "healed");
        let mut counts = self.counts();
        if counts.view.fastest.as_ref().is_none_or(|fastest| heal.seconds < fastest.seconds) {
            counts.view.fastest = Some(heal.clone());
        }
        counts.view.heals.push(heal.clone());
        let excess = counts.view.heals.len().saturating_sub(KEPT_HEALS);
        counts.view.heals.drain(..excess);
        counts.healed.push(heal);
        counts.dirty = true;
    }

    /// Starts the counts again when the booth's day is not the one they are of. The first day
    /// keeps what was counted before the clock was first read (the app's first second).
    fn roll_over(&self, today: jiff::civil::Date) {
        let mut counts = self.counts();
        match counts.view.day {
            Some(day) if day == today => return,
            Some(_) => {
                counts.view.requests = 0;
                counts.view.failures = 0;
                counts.view.by_pod.clear();
                counts.view.fastest = None;
                counts.hits.clear();
            }
            None => {}
        }
        counts.view.day = Some(today);
        counts.dirty = true;
    }

    /// The notice for what changed since the last one, if anything did.
    fn take_notice(&self) -> Option<AvailabilityNotice> {
        let mut counts = self.counts();
        if !counts.dirty {
            return None;
        }
        counts.dirty = false;
        Some(AvailabilityNotice {
            requests: counts.view.requests,
            failures: counts.view.failures,
            hits: std::mem::take(&mut counts.hits),
            healed: std::mem::take(&mut counts.healed),
            fastest: counts.view.fastest.clone(),
        })
    }

    /// Starts the trickle (unless off), the heal timer and the kiosk's notices among `tasks`;
    /// `today` says which day it is at the booth (read once a second).
    pub fn start(
        self: &Arc<Self>,
        args: &AvailabilityArgs,
        url: reqwest::Url,
        cluster: ClusterState,
        chaos: &ChaosBus,
        today: Box<dyn Fn() -> jiff::civil::Date + Send>,
        tasks: &Tasks,
    ) -> Result<(), crate::http::HttpClientError> {
        let shutdown = tasks.token();
        if args.requests_per_second > 0.0 {
            crate::http::install_crypto_provider();
            let timeout = Duration::from_millis(args.timeout_ms);
            // No idle connections kept: every request opens its own, so the Service balances each.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .no_proxy()
                .connect_timeout(timeout)
                .timeout(timeout)
                .user_agent(concat!("conferenceli-availability/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| crate::http::HttpClientError(e.to_string()))?;
            let period = Duration::from_secs_f64(1.0 / args.requests_per_second);
            tracing::info!(%url, every = ?period, "sending a trickle of requests to the workload");
            tasks.spawn("availability trickle", self.clone().trickle(client, url, period, tasks.clone()));
        }
        tasks.spawn("heal timer", self.clone().time_heals(cluster, chaos.listen(), shutdown.clone()));
        tasks.spawn("availability notices", self.clone().notify(today, shutdown.clone()));
        Ok(())
    }

    async fn trickle(self: Arc<Self>, client: reqwest::Client, url: reqwest::Url, period: Duration, tasks: Tasks) {
        let shutdown = tasks.token();
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            // Each request on its own task: a slow answer does not delay the next request.
            let (this, client, url) = (self.clone(), client.clone(), url.clone());
            // Each ends within the request timeout, so shutdown waits for the ones under way.
            tasks.spawn("availability request", async move {
                match probe_once(&client, url).await {
                    Ok(pod) => this.record(Some(&pod)),
                    Err(error) => {
                        tracing::debug!(%error, "a request to the workload failed");
                        this.record(None);
                    }
                }
            });
        }
    }

    async fn time_heals(self: Arc<Self>, cluster: ClusterState, mut kills: ChaosListener, shutdown: CancellationToken) {
        let mut tracker = HealTracker::default();
        let mut pods = cluster.subscribe();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                kill = kills.next_kill() => {
                    let Some(Kill { target, by, .. }) = kill else { return };
                    let old_uid = cluster.pods().into_iter().find(|p| p.name == target.name && p.namespace == target.namespace).map(|p| p.uid);
                    tracker.on_kill(&target.name, old_uid, by, Instant::now());
                },
                update = pods.next() => {
                    let Some(update) = update else { return };
                    if !tracker.is_waiting() {
                        continue;
                    }
                    let now = Instant::now();
                    let heals: Vec<Heal> = match update {
                        Update::Snapshot(snapshot) => snapshot.pods.iter().filter_map(|p| tracker.on_pod(p, now)).collect(),
                        Update::Change(crate::cluster::Change::Pod { pod }) => tracker.on_pod(&pod, now).into_iter().collect(),
                        Update::Change(_) => Vec::new(),
                    };
                    for heal in heals {
                        self.record_heal(heal);
                    }
                }
            }
        }
    }

    async fn notify(self: Arc<Self>, today: Box<dyn Fn() -> jiff::civil::Date + Send>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(NOTICE_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {
                    self.roll_over(today());
                    if let Some(notice) = self.take_notice() {
                        let _ = self.notices.send(notice);
                    }
                }
            }
        }
    }
}

/// One request on a new connection; the pod name the answer carries.
async fn probe_once(client: &reqwest::Client, url: reqwest::Url) -> Result<String, ProbeError> {
    let response = client.get(url).header(reqwest::header::CONNECTION, "close").send().await?;
    if !response.status().is_success() {
        return Err(ProbeError::Status(response.status()));
    }
    let body = response.text().await?;
    pod_name_of(&body).map(str::to_string).ok_or(ProbeError::NotAName)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_pod_names_or_failures() {
        assert_eq!(pod_name_of("critical-prod-3\n"), Some("critical-prod-3"));
        for bad in ["", "<html>", "Critical", "a b", &"x".repeat(254)] {
            assert_eq!(pod_name_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn counts_batch_into_notices_only_when_something_changed() {
        let availability = Availability::new(&mut Registry::default(), true);
        assert_eq!(availability.take_notice(), None);
        availability.record(Some("critical-prod-0"));
        availability.record(Some("critical-prod-0"));
        availability.record(None);
        let notice = availability.take_notice().unwrap();
        assert_eq!((notice.requests, notice.failures), (3, 1));
        assert_eq!(notice.hits, BTreeMap::from([("critical-prod-0".to_string(), 2)]));
        assert_eq!(availability.take_notice(), None, "nothing new");
        availability.record(Some("critical-prod-1"));
        let notice = availability.take_notice().unwrap();
        assert_eq!(notice.hits, BTreeMap::from([("critical-prod-1".to_string(), 1)]), "only the new answers");
        let view = availability.view();
        assert_eq!((view.requests, view.failures, view.by_pod.len()), (4, 1, 2));
    }

    #[test]
    fn the_kiosks_counts_start_again_each_booth_day_and_the_metrics_never_do() {
        let mut registry = Registry::default();
        let availability = Availability::new(&mut registry, true);
        let (monday, tuesday) = (jiff::civil::date(2026, 11, 30), jiff::civil::date(2026, 12, 1));
        availability.record(Some("critical-prod-0"));
        availability.roll_over(monday);
        availability.record(Some("critical-prod-0"));
        availability.record(None);
        availability.roll_over(monday);
        let view = availability.view();
        assert_eq!(
            (view.day, view.requests, view.failures, view.by_pod.len()),
            (Some(monday), 3, 1, 1),
            "the first day keeps the first second"
        );
        availability.take_notice();
        availability.roll_over(tuesday);
        let notice = availability.take_notice().expect("the kiosk hears of the new day");
        assert_eq!((notice.requests, notice.failures, notice.hits.len()), (0, 0, 0));
        let view = availability.view();
        assert_eq!((view.day, view.requests, view.by_pod.len()), (Some(tuesday), 0, 0));
        assert_eq!(view.fastest, None, "a new day, no heal yet");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("availability_requests_total 3"), "{text}");
        assert!(text.contains("availability_failures_total 1"), "{text}");
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        for bad in ["-1", "51", "NaN", "often"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://critical-prod.demopod.svc/").is_ok());
    }

    #[test]
    fn the_fastest_heal_of_the_day_is_kept_and_sent_with_every_notice() {
        let availability = Availability::new(&mut Registry::default(), true);
        let heal = |name: &str, seconds| Heal { name: name.into(), seconds, by: crate::cluster::Presser::Button };
        availability.roll_over(jiff::civil::date(2026, 11, 30));
        availability.record_heal(heal("critical-prod-1", 4.2));
        availability.record_heal(heal("critical-prod-2", 2.9));
        availability.record_heal(heal("critical-prod-3", 3.5));
        let notice = availability.take_notice().unwrap();
        assert_eq!(notice.healed.len(), 3);
        assert_eq!(notice.fastest, Some(heal("critical-prod-2", 2.9)));
        assert_eq!(availability.view().fastest, Some(heal("critical-prod-2", 2.9)));
        availability.roll_over(jiff::civil::date(2026, 12, 1));
        assert_eq!(availability.view().fastest, None, "the next booth day starts afresh");
    }
}
