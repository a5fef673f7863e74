//! Booth automations over real sockets: chaos webhooks to local receivers (payload, signature,
//! dead and slow receivers, bounded retries, a full queue).

use crate::common::{eventually, free_port};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use conferenceli::automations::webhooks::{SIGNATURE_HEADER, WebhookSettings, Webhooks, signature};
use conferenceli::cluster::ChaosTarget;
use conferenceli::secret::Secret;
use conferenceli::tasks::Tasks;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on 127.0.0.1 that records every POST after `delay`.
async fn receiver(delay: Duration) -> (reqwest::Url, Received) {
    receiver_answering(delay, StatusCode::OK).await
}

/// A receiver on 127.0.0.1 that records every POST to `/hook` and answers `status` after `delay`.
pub async fn receiver_answering(delay: Duration, status: StatusCode) -> (reqwest::Url, Received) {
    let received = Received::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                tokio::time::sleep(delay).await;
                store.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn target() -> ChaosTarget {
    ChaosTarget {
        namespace: "demopod".into(),
        name: "critical-prod-1".into(),
        index: Some(1),
        node: Some("pico-1".into()),
    }
}

fn settings(urls: Vec<reqwest::Url>, secret: Option<&str>) -> WebhookSettings {
    WebhookSettings {
        urls,
        secret: secret.map(Secret::new),
        timeout: Duration::from_millis(300),
        attempts: 3,
        first_backoff: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn kills_are_posted_signed_and_dead_or_slow_receivers_fail_in_bounded_time() {
    let (good, received) = receiver(Duration::ZERO).await;
    let (slow, slow_received) = receiver(Duration::from_secs(5)).await;
    let dead: reqwest::Url = format!("http://127.0.0.1:{}/hook", free_port()).parse().unwrap();
    let tasks = Tasks::default();
    let webhooks = Webhooks::start(
        conferenceli::http::client().unwrap(),
        settings(vec![dead, slow, good], Some("booth-secret")),
        &tasks,
    );

    webhooks.notify(&target(), "2026-11-21T10:00:00Z".parse().unwrap(), 7);
    // notify returned before any receiver was tried: it queues, it never waits.
    assert_eq!(webhooks.stats.failed.load(Ordering::Relaxed) + webhooks.stats.delivered.load(Ordering::Relaxed), 0);

    let (headers, body) = eventually(Duration::from_secs(10), "the good receiver's delivery", || async {
        received.lock().unwrap().first().cloned()
    })
    .await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (json["pod"].as_str(), json["killCount"].as_u64(), json["ordinal"].as_u64()),
        (Some("critical-prod-1"), Some(7), Some(1))
    );
    assert_eq!(headers[SIGNATURE_HEADER].to_str().unwrap(), signature(&Secret::new("booth-secret"), &body));
    assert_eq!(headers["content-type"], "application/json");

    // The dead and the slow receiver each used their 3 attempts, then gave up.
    eventually(Duration::from_secs(10), "both failures counted", || async {
        (webhooks.stats.failed.load(Ordering::Relaxed) == 2).then_some(())
    })
    .await;
    assert_eq!(webhooks.stats.delivered.load(Ordering::Relaxed), 1);
    assert!(slow_received.lock().unwrap().is_empty(), "the slow receiver never answered in time");
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let (slow, _) = receiver(Duration::from_secs(5)).await;
    let tasks = Tasks::default();
    let webhooks = Webhooks::start(conferenceli::http::client().unwrap(), settings(vec![slow], None), &tasks);
    for _ in 0..200 {
        webhooks.notify(&target(), jiff::Timestamp::now(), 1);
    }
    // Had notify waited for the slow receiver, nothing would have been dropped.
    assert!(webhooks.stats.dropped.load(Ordering::Relaxed) >= 100, "the bounded queue dropped the overflow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_relay_mode_sends_a_head_per_puff_and_a_dead_relay_is_only_counted() {
    use conferenceli::automations::relay::{FogSpec, open};
    use conferenceli::automations::{Fog, FogTiming};
    let heads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = heads.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::head(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let spec: FogSpec = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let timing =
        FogTiming { increment: Duration::from_secs(2), cap: Duration::from_secs(10), min_pause: Duration::ZERO };
    let fog = Fog::start(open(&spec, true).unwrap().unwrap(), timing);
    fog.puff();
    fog.puff();
    eventually(Duration::from_secs(10), "two HEAD requests", || async {
        (heads.load(Ordering::Relaxed) == 2).then_some(())
    })
    .await;
    assert!(fog.status().on);
    tokio::task::spawn_blocking(move || fog.shutdown()).await.unwrap();

    let dead: FogSpec = format!("http://127.0.0.1:{}/", free_port()).parse().unwrap();
    let fog = Fog::start(open(&dead, true).unwrap().unwrap(), timing);
    fog.puff();
    eventually(Duration::from_secs(10), "the relay error counted", || async {
        (fog.status().relay_errors == 1).then_some(())
    })
    .await;
    assert!(!fog.status().on, "a puff that did not reach the relay leaves the fog off");
}

/// `/chaos` with the demo credentials; the answer's status.
async fn press_chaos(app: &crate::common::TestApp) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{}/chaos", app.url))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .unwrap()
        .status()
}

async fn fog_state(app: &crate::common::TestApp) -> serde_json::Value {
    let state: serde_json::Value = reqwest::get(format!("{}/api/state", app.url)).await.unwrap().json().await.unwrap();
    state["fog"].clone()
}

async fn wait_ready(app: &crate::common::TestApp) {
    eventually(Duration::from_secs(30), "the app to be ready", || async {
        let response = reqwest::get(format!("{}/readyz", app.url)).await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kill_and_the_panel_button_puff_the_fog() {
    use crate::common::{TestApp, TestCluster, fast_config};
    let cluster = TestCluster::start(fast_config()).await;
    let app =
        TestApp::start(&cluster, &["--fog", "virtual", "--fog-pause-ms", "0", "--chaos-cooldown-seconds", "0"]).await;
    wait_ready(&app).await;
    assert_eq!(fog_state(&app).await["on"], false, "off at start");
    assert_eq!(press_chaos(&app).await, 200);
    let fog = eventually(Duration::from_secs(10), "the fog on after the kill", || async {
        let fog = fog_state(&app).await;
        (fog["on"] == true).then_some(fog)
    })
    .await;
    assert_eq!((fog["relay"].as_str(), fog["puffs"].as_u64()), (Some("virtual"), Some(1)));
    let (status, staff) = crate::dashboard::Staff::login(&app.url, conferenceli::config::DEMO_PASSWORD).await;
    assert_eq!(status, 303);
    let (status, _) = staff.post("/control/fog", &[], true).await;
    assert_eq!(status, 200);
    let (status, _) = staff.post("/control/fog", &[], false).await;
    assert_eq!(status, 403, "CSRF protects the fog button");
    eventually(Duration::from_secs(10), "the panel's puff", || async {
        (fog_state(&app).await["puffs"] == 2).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_succeeds_with_a_broken_relay_and_dead_or_slow_webhook_receivers() {
    use crate::common::{TestApp, TestCluster, fast_config};
    let (slow, _) = receiver(Duration::from_secs(5)).await;
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let relay = format!("http://127.0.0.1:{}/", free_port());
    let hooks = format!("{slow},{dead}");
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(
        &cluster,
        &[
            "--fog",
            &relay,
            "--chaos-webhook-urls",
            &hooks,
            "--chaos-webhook-timeout-seconds",
            "1",
            "--chaos-cooldown-seconds",
            "0",
        ],
    )
    .await;
    wait_ready(&app).await;
    // Two: the demo workload's disruption budget (3 of 5) allows no third eviction at once.
    for _ in 0..2 {
        assert_eq!(press_chaos(&app).await, 200, "the kill itself never depends on fog or webhooks");
    }
    eventually(Duration::from_secs(10), "the relay errors counted", || async {
        (fog_state(&app).await["relayErrors"].as_u64()? >= 1).then_some(())
    })
    .await;
    let metrics = reqwest::get(format!("{}/metrics", app.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"killed\"} 2"), "{metrics}");
    app.stop().await;
}
