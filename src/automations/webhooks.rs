//! Chaos webhooks: on every kill, a JSON POST to each configured URL (`CHAOS_WEBHOOK_URLS`),
//! signed with HMAC-SHA256 when `CHAOS_WEBHOOK_SECRET` is set, so other booth gadgets (a
//! scoreboard, a chat bot) can react.
//!
//! Delivery never delays a kill or the HTTP answer: kills go into a bounded queue (full → the
//! delivery is dropped and counted), one task sends them with a timeout and a few retries with
//! backoff. Failures are logged and counted, never shown to visitors. The payload and the
//! signature are pure functions (`payload`, [`signature`]).
//!
//! May call: `crate::backoff`, `crate::cluster`, `crate::secret`, `crate::tasks`.

use crate::backoff::Backoff;
use serde::Serialize;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

use crate::cluster::ChaosTarget;
use crate::secret::{Secret, SigningKey};
use crate::tasks::Tasks;
use clap::Args;

/// Where every chaos kill is announced over HTTP.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Comma-separated URLs that get a JSON POST on every kill (their values are not shown in
    /// `--help`: receivers often take a token in the URL).
    #[arg(long = "chaos-webhook-urls", env = "CHAOS_WEBHOOK_URLS", value_delimiter = ',', value_parser = parse_webhook_url, hide_env_values = true)]
    pub urls: Vec<reqwest::Url>,
    /// Key of the HMAC-SHA256 signature header sent with every webhook.
    #[arg(long = "chaos-webhook-secret", env = "CHAOS_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Seconds a receiver has to answer one delivery.
    #[arg(long = "chaos-webhook-timeout-seconds", env = "CHAOS_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub(crate) timeout_seconds: u64,
}

fn parse_webhook_url(value: &str) -> Result<reqwest::Url, String> {
    let url =
        reqwest::Url::parse(value.trim()).map_err(|e| format!("expected http(s) URLs separated by commas: {e}"))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(url)
    } else {
        Err("expected http(s) URLs separated by commas".into())
    }
}

/// The header that carries `sha256=<hex HMAC of the body>`, as GitHub-style receivers expect.
pub const SIGNATURE_HEADER: &str = "X-Conferenceli-Signature-256";
/// Deliveries waiting at most; more are dropped (and counted).
const QUEUE: usize = 64;

/// What a receiver gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KillNotice {
    pub event: &'static str,
    pub pod: String,
    pub namespace: String,
    pub node: Option<String>,
    pub ordinal: Option<u32>,
    /// RFC 3339.
    pub time: String,
    pub kill_count: u64,
}

/// The JSON body of a kill notice.
pub(crate) fn payload(target: &ChaosTarget, at: jiff::Timestamp, kill_count: u64) -> Vec<u8> {
    let notice = KillNotice {
        event: "pod.killed",
        pod: target.name.clone(),
        namespace: target.namespace.clone(),
        node: target.node.clone(),
        ordinal: target.index,
        time: at.to_string(),
        kill_count,
    };
    serde_json::to_vec(&notice).expect("a kill notice serialises")
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    format!("sha256={}", SigningKey::from(secret).sign(body))
}

/// Delivery counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// Retry policy and limits of the sender.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub urls: Vec<reqwest::Url>,
    pub secret: Option<Secret>,
    pub timeout: Duration,
    pub attempts: u32,
    pub first_backoff: Duration,
}

/// The queue in front of the sender. Cheap to clone; `notify` never waits.
#[derive(Clone)]
pub struct Webhooks {
    queue: mpsc::Sender<Vec<u8>>,
    pub stats: Arc<WebhookStats>,
}

impl Webhooks {
    /// Starts the sender task on `http` among `tasks`; notices not yet sent at shutdown are
    /// dropped (a kill's webhook is no use once the booth has closed).
    pub fn start(http: reqwest::Client, settings: WebhookSettings, tasks: &Tasks) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let stats = Arc::new(WebhookStats::default());
        tasks.spawn_until_shutdown("webhook sender", send_all(http, settings, receiver, stats.clone()));
        Self { queue, stats }
    }

    /// Queues a kill notice for every URL; drops it (counted) when the queue is full.
    pub fn notify(&self, target: &ChaosTarget, at: jiff::Timestamp, kill_count: u64) {
        if self.queue.try_send(payload(target, at, kill_count)).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(pod = %target.name, "chaos webhook queue full; notice dropped");
        }
    }
}

async fn send_all(
    http: reqwest::Client,
    settings: WebhookSettings,
    mut queue: mpsc::Receiver<Vec<u8>>,
    stats: Arc<WebhookStats>,
) {
    while let Some(body) = queue.recv().await {
        let signature = settings.secret.as_ref().map(|secret| signature(secret, &body));
        for url in &settings.urls {
            if deliver(&http, &settings, url, &body, signature.as_deref()).await {
                stats.delivered.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One notice to one URL, with retries; true when a 2xx answer came.
async fn deliver(
    http: &reqwest::Client,
    settings: &WebhookSettings,
    url: &reqwest::Url,
    body: &[u8],
    signature: Option<&str>,
) -> bool {
    let mut backoff = Backoff::new(settings.first_backoff, settings.first_backoff * 8);
    for attempt in 1..=settings.attempts {
        let mut request = http
            .post(url.clone())
            .timeout(settings.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let outcome = match request.send().await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => format!("answered {}", response.status()),
            Err(error) if error.is_timeout() => "timed out".to_string(),
            Err(error) if error.is_connect() => "cannot connect".to_string(),
            Err(_) => "request failed".to_string(),
        };
        // The URL may carry a token in its path or query: log the host only.
        let host = url.host_str().unwrap_or("?");
        tracing::warn!(host, attempt, attempts = settings.attempts, outcome, "chaos webhook not delivered");
        if attempt < settings.attempts {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_and_signature_are_what_receivers_check() {
        let target = ChaosTarget {
            namespace: "demopod".into(),
            name: "critical-prod-3".into(),
            index: Some(3),
            node: Some("pico-1".into()),
        };
        let at: jiff::Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let body = payload(&target, at, 42);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event": "pod.killed", "pod": "critical-prod-3", "namespace": "demopod", "node": "pico-1",
                               "ordinal": 3, "time": "2026-11-21T10:00:00Z", "killCount": 42})
        );
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(&Secret::new("Jefe"), b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
