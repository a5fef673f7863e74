//! The kiosk runs all day: a soak in headless Chromium. The page (`?theatre=fast`: an ambient
//! event every second or two) lives through hundreds of chaos kills, stream reconnects and app
//! restarts; then its DOM and its JavaScript heap (after a forced garbage collection, by the
//! DevTools protocol) are back where they were after the warm-up. Printed figures:
//! `kiosk soak: …` (README, "The kiosk runs all day").

use crate::browser::Browser;
use crate::common::{RunningApp, TestCluster, app_args, eventually, fast_config, spawn_app};
use conferenceli::booth::Booth;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Kills the soak waits for, and the app restarts among them.
const KILLS: usize = 300;
const RESTARTS: usize = 3;
/// Kills before the reference is measured: the page's first kills grow the heap by what V8
/// keeps of the code it ran (measured in five rounds of a hundred kills: +64, +33, +3, +7 KiB;
/// DOM nodes level all along).
const WARM_UP: usize = 100;

fn serve(cluster: &TestCluster, listener: tokio::net::TcpListener) -> RunningApp {
    let args = app_args(listener.local_addr().unwrap(), &["--chaos-cooldown-seconds", "0"]);
    spawn_app(cluster, args, crate::common::listeners_with(listener))
}

/// The page's size: elements in the document, DOM nodes alive (attached or not) and event
/// listeners by the DevTools metrics, the JavaScript heap in use, all after two forced
/// collections.
async fn measure(browser: &Browser) -> Value {
    for _ in 0..2 {
        browser.cdp("HeapProfiler.collectGarbage", json!({})).await;
    }
    let heap = browser.cdp("Runtime.getHeapUsage", json!({})).await;
    browser.cdp("Performance.enable", json!({})).await;
    let metrics = browser.cdp("Performance.getMetrics", json!({})).await;
    let metric = |name: &str| {
        metrics["metrics"].as_array().and_then(|m| m.iter().find(|x| x["name"] == name)).map(|x| x["value"].clone())
    };
    let elements = browser.eval("return document.getElementsByTagName('*').length").await;
    json!({"elements": elements, "nodes": metric("Nodes"), "listeners": metric("JSEventListeners"),
           "heap": heap["usedSize"], "animations": browser.eval("return document.getAnimations().length").await,
           "running": browser.eval(RUNNING).await})
}

/// What each animation of the page animates (its element, its name), for a failure to name the
/// one left behind.
const RUNNING: &str = "return document.getAnimations().map(a => {
  const t = a.effect && a.effect.target;
  const what = t ? (t.id || (t.getAttribute && t.getAttribute('class')) || t.tagName) : '?';
  return what + ' ' + (a.animationName || a.id || 'script') + ' ' + a.playState;
}).sort()";

/// Waits until the harbour is at rest: five containers Running, nothing playing, no effect left.
async fn at_rest(browser: &Browser) {
    eventually(Duration::from_secs(60), "the harbour at rest", || async {
        let rest = browser
            .eval(
                "return document.querySelectorAll('.box[data-pod][data-status=Running]:not(.gone)').length === 5
                   && document.querySelectorAll('.box[data-pod]').length === 5
                   && window.kiosk.playing.size === 0 && document.getElementById('fx').children.length === 0",
            )
            .await;
        (rest == true).then_some(())
    })
    .await;
    // The last banner and the log's slide are class changes on the grid's ticks: let them pass.
    tokio::time::sleep(Duration::from_secs(4)).await;
}

async fn set_pace(cluster: &TestCluster, pace: &str) {
    let booths: kube::Api<Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    booths.patch("booth", &PatchParams::default(), &Patch::Merge(json!({"spec": {"showPace": pace}}))).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_lives_through_hundreds_of_kills_and_restarts_and_its_dom_and_heap_come_back() {
    let cluster = TestCluster::start(fast_config()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut app = Some(serve(&cluster, listener));
    let url = format!("http://{addr}");
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(20), "the app to be ready", || async {
        http.get(format!("{url}/readyz")).send().await.ok().filter(|r| r.status() == 200).map(|_| ())
    })
    .await;
    let browser = Browser::start().await;
    browser.allow_console("net::ERR_CONNECTION_REFUSED"); // the stream's attempts during the restarts
    browser.goto(&format!("{url}/?theatre=fast")).await;
    let press = || async {
        let answer = http.post(format!("{url}/chaos")).basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD));
        answer.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    };

    // Warm-up: the page has drawn everything a kill draws and run its code warm; then the
    // reference, at rest (the still pace, so that no ambient event is on stage meanwhile).
    let mut kills = 0;
    while kills < WARM_UP {
        if press().await == 200 {
            kills += 1;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    set_pace(&cluster, "still").await;
    at_rest(&browser).await;
    let before = measure(&browser).await;
    set_pace(&cluster, "lively").await;

    // Hundreds of kills with the ambient events on, the app restarted now and then (the stream
    // reconnects, the page resyncs from the new app's snapshot).
    let started = Instant::now();
    let (mut kills, mut restarts, mut refused) = (0, 0, 0);
    while kills < KILLS {
        assert!(started.elapsed() < Duration::from_secs(240), "{kills} kills in 4 minutes");
        match press().await {
            200 => kills += 1,
            _ => refused += 1, // nothing Running to kill right now, or the app is restarting
        }
        if kills >= (restarts + 1) * KILLS / (RESTARTS + 1) && restarts < RESTARTS {
            let (shutdown, task) = app.take().unwrap();
            shutdown.cancel();
            task.await.unwrap().unwrap();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let listener = tokio::net::TcpListener::bind(addr).await.expect("the same address again");
            app = Some(serve(&cluster, listener));
            restarts += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let soaked = started.elapsed();
    set_pace(&cluster, "still").await;
    at_rest(&browser).await;
    let after = measure(&browser).await;
    let shown = browser.eval("return document.getElementById('kills').textContent").await;
    let summary = format!(
        "kiosk soak: {kills} kills ({refused} presses refused), {restarts} app restarts in {:.0} s; before {before}, after {after}; counter {shown}",
        soaked.as_secs_f64()
    );
    eprintln!("{summary}");
    // Kept with the screenshots, for the performance report's hand-measured figures.
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("the artifacts' directory");
    std::fs::write(artifacts.join("kiosk-soak.txt"), format!("{summary}\n")).expect("the soak's figures written");

    assert_eq!(after["elements"], before["elements"], "the DOM is back where it was");
    let number = |v: &Value, key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"));
    assert!(number(&after, "nodes") <= number(&before, "nodes") + 50.0, "no DOM nodes kept alive: {before} → {after}");
    assert!(
        number(&after, "listeners") <= number(&before, "listeners"),
        "no listeners left behind: {before} → {after}"
    );
    assert!(
        number(&after, "animations") <= number(&before, "animations"),
        "no animations left: {} → {}",
        before["running"],
        after["running"]
    );
    let (heap_before, heap_after) = (number(&before, "heap"), number(&after, "heap"));
    assert!(
        heap_after <= heap_before * 1.05 + 64.0 * 1024.0,
        "the JavaScript heap is back where it was: {heap_before} → {heap_after} bytes"
    );
    drop(browser);
    let (shutdown, task) = app.take().unwrap();
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
