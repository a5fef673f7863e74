//! Booth automations that react to chaos kills: the fog machine puff (a relay on a GPIO pin or
//! the old relay server) and chaos webhooks. They listen to `cluster::ChaosBus` and
//! never delay a kill or its HTTP answer.
//!
//! May call: `crate::backoff`, `crate::cluster`, `crate::http`, `crate::secret`, `crate::tasks`.

pub mod fog;
pub mod relay;
pub mod webhooks;

pub use fog::{Fog, FogArgs, FogStatus, FogTiming};
pub use relay::{FogSpec, Relay};
pub use webhooks::WebhookArgs;

use crate::cluster::{ChaosBus, ChaosListener};
use crate::tasks::Tasks;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webhooks::{WebhookSettings, WebhookStats, Webhooks};

/// Opens the fog machine's relay (`FOG`; `None` when off) and puffs it on every chaos kill until
/// the token of `tasks` fires, then switches the relay off.
pub(crate) fn start_fog(args: &FogArgs, chaos: &ChaosBus, tasks: &Tasks) -> Result<Option<Fog>, relay::FogError> {
    let spec = args.spec.clone().unwrap_or(FogSpec::Off);
    let Some(relay) = relay::open(&spec, !args.active_high)? else { return Ok(None) };
    let fog = Fog::start(relay, args.timing());
    tasks.spawn("fog", puff_until_shutdown(fog.clone(), chaos.listen(), tasks.token().clone()));
    Ok(Some(fog))
}

async fn puff_until_shutdown(fog: Fog, mut kills: ChaosListener, shutdown: CancellationToken) {
    let puffing = async {
        while kills.next_kill().await.is_some() {
            fog.puff();
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => {}
        // The bus closes only with the app: the relay stays ready until the token all the same.
        _ = puffing => shutdown.cancelled().await,
    }
    // Joining the watchdog thread blocks; the HTTP relay's thread may need the runtime.
    let _ = tokio::task::spawn_blocking(move || fog.shutdown()).await;
}

/// Sends a webhook for every chaos kill when URLs are configured until
/// shutdown; returns the delivery counts.
pub(crate) fn start_webhooks(
    args: &WebhookArgs,
    chaos: &ChaosBus,
    tasks: &Tasks,
) -> Result<Option<Arc<WebhookStats>>, crate::http::HttpClientError> {
    if args.urls.is_empty() {
        return Ok(None);
    }
    let settings = WebhookSettings {
        urls: args.urls.clone(),
        secret: args.secret.clone(),
        timeout: Duration::from_secs(args.timeout_seconds),
        attempts: 3,
        first_backoff: Duration::from_millis(500),
    };
    let webhooks = Webhooks::start(crate::http::client()?, settings, tasks);
    let stats = webhooks.stats.clone();
    let mut kills = chaos.listen();
    tasks.spawn_until_shutdown("webhook notices", async move {
        while let Some(kill) = kills.next_kill().await {
            webhooks.stats.dropped.store(kills.missed(), std::sync::atomic::Ordering::Relaxed);
            webhooks.notify(&kill.target, kill.at, kill.kill_count);
        }
    });
    Ok(Some(stats))
}
