//! The kiosk's self-healing display in headless Chromium: the success rate line, the answering
//! containers lighting up, "healed in" after a kill (the server's measurement, in the harbour
//! log), and the autopilot's press announced; no console errors. Screenshots:
//! `target/test-artifacts/kiosk-health*.png`.

use crate::browser::Browser;
use crate::common::{TestApp, TestCluster, eventually, fast_config, press_once, settle};
use conferenceli::booth::Booth;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

/// Reads the display: the rate line, the notes, the harbour log's heals, how many containers are
/// lit.
const HEALTH: &str = r##"
  const panel = document.getElementById("health");
  return {
    shown: !!panel && !panel.hidden,
    rate: panel ? panel.querySelector(".rate").textContent : "",
    notes: panel ? Array.from(panel.querySelectorAll(".note")).map(function (n) { return n.className + ": " + n.textContent; }) : [],
    healed: Array.from(document.querySelectorAll("#log .healed")).map(function (h) { return h.textContent; }),
    lit: document.querySelectorAll(".box.hit").length,
  };
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_shows_traffic_the_success_rate_heals_and_the_autopilot() {
    let cluster =
        TestCluster::start(kube_sim::SimConfig { start_delay: Duration::from_millis(1500), ..fast_config() }).await;
    let service = cluster.service_url();
    let flags =
        ["--availability-url", &service, "--availability-requests-per-second", "10", "--chaos-cooldown-seconds", "0"];
    let app = TestApp::start(&cluster, &flags).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.url)).await;

    // "123 requests · 0 failed · 100.00 %", and answering containers light up.
    settle(Duration::from_secs(30), "the success rate and a lit container", || async {
        let health = browser.eval(HEALTH).await;
        let rate = health["rate"].as_str().unwrap_or_default();
        let ok = health["shown"] == true
            && rate.contains(" requests · 0 failed · ")
            && rate.ends_with("100.00 %")
            && health["lit"].as_u64() > Some(0);
        if ok { Ok(()) } else { Err(health.to_string()) }
    })
    .await;
    browser.screenshot("kiosk-health.png").await;

    let victim = press_once(&app.url).await;
    let healed = settle(Duration::from_secs(30), "the heal on the kiosk", || async {
        let health = browser.eval(HEALTH).await;
        let heals: Vec<String> = serde_json::from_value(health["healed"].clone()).unwrap_or_default();
        let prefix = format!("{victim} healed in ");
        heals.iter().find(|n| n.starts_with(&prefix) && n.ends_with(" s")).cloned().ok_or_else(|| health.to_string())
    })
    .await;
    let seconds: f64 = healed.rsplit(' ').nth(1).unwrap().parse().unwrap();
    assert!(seconds >= 1.0, "the restart takes the start delay at least: {healed}");
    // The page shows the server's number, the one /api/state keeps.
    let state: Value = reqwest::get(format!("{}/api/state", app.url)).await.unwrap().json().await.unwrap();
    let heal =
        state["availability"]["heals"].as_array().unwrap().iter().find(|h| h["name"] == victim.as_str()).cloned();
    let server =
        heal.unwrap_or_else(|| panic!("no heal of {victim} in /api/state: {state}"))["seconds"].as_f64().unwrap();
    assert_eq!(format!("{server:.1}"), format!("{seconds:.1}"), "{healed}");
    browser.screenshot("kiosk-health-healed.png").await;

    let booths: kube::Api<Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    let attract = json!({"spec": {"attract": {"enabled": true, "idleMinutes": 0.05, "opens": "00:00", "closes": "24:00",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "timeZone": "UTC"}}});
    booths.patch("booth", &PatchParams::default(), &Patch::Merge(attract)).await.unwrap();
    eventually(Duration::from_secs(60), "the autopilot's press on the kiosk", || async {
        let health = browser.eval(HEALTH).await;
        let notes: Vec<String> = serde_json::from_value(health["notes"].clone()).ok()?;
        notes.iter().any(|n| n.starts_with("note autopilot: The autopilot pressed the button")).then_some(())
    })
    .await;
    browser.screenshot("kiosk-health-autopilot.png").await;
    let errors: Vec<Value> = browser.console().await.into_iter().filter(|e| e["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    app.stop().await;
}
