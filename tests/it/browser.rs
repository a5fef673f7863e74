//! The kiosk in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver over HTTP, spoken with reqwest). Opens the kiosk on the app against the simulated
//! cluster, checks one ship per node and one container per pod with their names, presses chaos
//! through the API, watches the killed pod's container go Terminating and come back Running in
//! the DOM, and finds no errors in the browser console. Screenshots are saved under
//! `target/test-artifacts/`.

use crate::common::{TestApp, TestCluster, eventually, fast_config, free_port};
use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A chromedriver process and one browser session on it; both end on drop.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    _profile: tempfile::TempDir,
}

fn find_binary(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|path| std::path::Path::new(path).exists())
        .map(|s| s.to_string())
        .unwrap_or_else(|| panic!("none of {candidates:?} exists: apt-get install chromium chromium-driver"))
}

impl Browser {
    pub async fn start() -> Self {
        let driver_path = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let chromium = find_binary(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        eventually(Duration::from_secs(20), "chromedriver to answer", || {
            let http = http.clone();
            let url = format!("{base}/status");
            async move { http.get(url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
        })
        .await;
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = crate::chromium::ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let response: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused the session: {response}"))
            .to_string();
        let browser = Self { driver, http, session, base, _profile: profile };
        browser.set_viewport(1280, 800).await;
        browser
    }

    /// Sizes the window so that the page itself gets `width`×`height`, as on the booth's screen.
    pub async fn set_viewport(&self, width: i64, height: i64) {
        let chrome = self.eval("return [outerWidth - innerWidth, outerHeight - innerHeight]").await;
        let (dw, dh) = (chrome[0].as_i64().unwrap_or(0), chrome[1].as_i64().unwrap_or(0));
        let rect = json!({"width": width + dw, "height": height + dh});
        self.command(reqwest::Method::POST, "/window/rect", Some(rect)).await;
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.expect("WebDriver request").json().await.expect("WebDriver JSON");
        if response["value"].get("error").is_some() {
            panic!("WebDriver {path} failed: {}", response["value"]);
        }
        response["value"].clone()
    }

    /// Makes the page see `prefers-reduced-motion: reduce` (Chromium's DevTools emulation).
    pub async fn reduce_motion(&self) {
        let features = json!({"cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}});
        self.command(reqwest::Method::POST, "/goog/cdp/execute", Some(features)).await;
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().expect("base64")).expect("PNG");
        assert_eq!(&png[1..4], b"PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifact dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// The browser console since the last call (chromedriver's log endpoint).
    pub async fn console(&self) -> Vec<Value> {
        let logs = self.command(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"}))).await;
        logs.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; killing the driver would orphan it.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async { reqwest::Client::new().delete(url).send().await })
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// What the kiosk shows: ships by node name, containers by pod name with their status.
const SCENE: &str = r#"
const ships = Array.from(document.querySelectorAll('.ship:not(.sinking)')).map(s => ({
  node: s.dataset.node, label: s.querySelector('.placard').textContent, status: s.dataset.status }));
const boxes = Array.from(document.querySelectorAll('.box[data-pod]:not(.gone)')).map(b => ({
  pod: b.dataset.pod, label: b.querySelector('.name').textContent, status: b.dataset.status,
  ship: b.closest('.ship') ? b.closest('.ship').dataset.node : null }));
const scroll = document.documentElement.scrollWidth > innerWidth || document.documentElement.scrollHeight > innerHeight;
return { ships, boxes, scroll, kills: document.getElementById('kills').textContent, size: [innerWidth, innerHeight],
  tally: [document.getElementById('tally-pods').textContent, document.getElementById('tally-nodes').textContent] };
"#;

fn status_of(scene: &Value, pod: &str) -> Option<String> {
    scene["boxes"].as_array()?.iter().find(|b| b["pod"] == pod).and_then(|b| b["status"].as_str().map(String::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_shows_the_harbour_and_a_chaos_kill_end_to_end() {
    let config = fast_config();
    let cluster = TestCluster::start(kube_sim::SimConfig { start_delay: Duration::from_millis(2500), ..config }).await;
    let app =
        TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--public-url", "https://example.com/form"]).await;
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(20), "the app to be ready", || {
        let url = format!("{}/readyz", app.url);
        let http = http.clone();
        async move { http.get(url).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;

    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.url)).await;
    let scene = eventually(Duration::from_secs(20), "3 ships and 5 containers", || async {
        let scene = browser.eval(SCENE).await;
        (scene["ships"].as_array()?.len() == 3 && scene["boxes"].as_array()?.len() == 5).then_some(scene)
    })
    .await;
    let ships: Vec<&str> = scene["ships"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(ships, ["conferenceli", "pico-1", "pico-2"]);
    let mut labels: Vec<&str> =
        scene["boxes"].as_array().unwrap().iter().map(|b| b["label"].as_str().unwrap()).collect();
    labels.sort();
    assert_eq!(labels, ["critical-prod-0", "critical-prod-1", "critical-prod-2", "critical-prod-3", "critical-prod-4"]);
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(cluster.client.clone(), "demopod");
    for pod in pods.list(&Default::default()).await.unwrap() {
        let name = pod.metadata.name.unwrap();
        let node = pod.spec.unwrap().node_name.unwrap();
        let placed =
            scene["boxes"].as_array().unwrap().iter().find(|b| b["pod"] == name.as_str()).expect("a box per pod");
        assert_eq!(placed["ship"], node.as_str(), "{name} sits on its node's ship");
    }
    assert_eq!(scene["size"], json!([1280, 800]), "the booth's screen size");
    assert_eq!(scene["tally"], json!(["5 / 5 pods running", "3 / 3 nodes ready"]));
    assert_eq!(scene["scroll"], false, "no scroll bars at 1280×800");
    browser.screenshot("kiosk.png").await;

    let victim = crate::common::press_once(&app.url).await;

    eventually(Duration::from_secs(10), "the container to go Terminating", || async {
        (status_of(&browser.eval(SCENE).await, &victim).as_deref() == Some("Terminating")).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    browser.screenshot("kiosk-explosion.png").await;
    eventually(Duration::from_secs(10), "the container to be gone", || async {
        status_of(&browser.eval(SCENE).await, &victim).is_none_or(|s| s == "Pending").then_some(())
    })
    .await;
    eventually(Duration::from_secs(15), "the container to come back Running", || async {
        (status_of(&browser.eval(SCENE).await, &victim).as_deref() == Some("Running")).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    browser.screenshot("kiosk-delivery.png").await;
    let kills = eventually(Duration::from_secs(5), "the counter to show the kill", || async {
        let scene = browser.eval(SCENE).await;
        (scene["kills"] == "1").then_some(scene["kills"].clone())
    })
    .await;
    assert_eq!(kills, "1");

    // Night mode reaches the page through the stream too.
    let night: Value = http
        .post(format!("{}/nightmode?state=on", app.url))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(night["nightMode"], true);
    eventually(Duration::from_secs(5), "the page to turn to night", || async {
        (browser.eval("return document.body.classList.contains('night')").await == true).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    browser.screenshot("kiosk-night.png").await;

    // The staff's shows play on the kiosk.
    let (_, staff) = crate::dashboard::Staff::login(&app.url, conferenceli::config::DEMO_PASSWORD).await;
    for scene in ["storm", "seagulls", "fireworks", "whale"] {
        assert_eq!(staff.post(&format!("/control/scene/{scene}"), &[], true).await.0, 200);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        browser.screenshot(&format!("kiosk-{scene}.png")).await;
    }

    // A node in trouble: its ship lists and goes dark.
    let sim = reqwest::Client::new();
    sim.post(format!("{}/sim/nodes/pico-2/not-ready", cluster.url())).send().await.unwrap();
    eventually(Duration::from_secs(10), "pico-2's ship to show NotReady", || async {
        let scene = browser.eval(SCENE).await;
        scene["ships"].as_array()?.iter().any(|s| s["node"] == "pico-2" && s["status"] == "NotReady").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    browser.screenshot("kiosk-node-not-ready.png").await;
    sim.post(format!("{}/sim/nodes/pico-2/ready", cluster.url())).send().await.unwrap();

    // A new node sails in; a deleted one sinks.
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(cluster.client.clone());
    let node: k8s_openapi::api::core::v1::Node = serde_json::from_value(json!({
        "metadata": {"name": "pico-3"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"architecture": "arm64", "kubeletVersion": "v1.33.5+k3s1", "bootID": "", "containerRuntimeVersion": "",
                                "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux",
                                "osImage": "", "systemUUID": ""}}
    }))
    .unwrap();
    nodes.create(&Default::default(), &node).await.unwrap();
    eventually(Duration::from_secs(10), "a fourth ship", || async {
        (browser.eval(SCENE).await["ships"].as_array()?.len() == 4).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.screenshot("kiosk-ship-arriving.png").await;
    nodes.delete("pico-3", &Default::default()).await.unwrap();
    eventually(Duration::from_secs(10), "the fourth ship to sink", || async {
        (browser.eval(SCENE).await["ships"].as_array()?.len() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    browser.screenshot("kiosk-ship-sinking.png").await;

    // The control panel on a phone, logged in with the same session.
    browser.set_viewport(412, 900).await;
    browser.goto(&format!("{}/control", app.url)).await;
    let login = browser.eval("return !!document.querySelector('input[type=password]')").await;
    assert_eq!(login, true, "without a session the panel asks for the password");
    browser.screenshot("control-login.png").await;
    let session = staff.cookies.iter().find_map(|c| c.strip_prefix("conferenceli_session=")).expect("session");
    let cookie = json!({"cookie": {"name": "conferenceli_session", "value": session, "path": "/"}});
    browser.command(reqwest::Method::POST, "/cookie", Some(cookie)).await;
    browser.goto(&format!("{}/control", app.url)).await;
    eventually(Duration::from_secs(10), "the live pod list", || async {
        (browser.eval("return document.querySelectorAll('#pods li').length").await == 5).then_some(())
    })
    .await;
    let overflow = browser.eval("return document.documentElement.scrollWidth > innerWidth").await;
    assert_eq!(overflow, false, "no sideways scrolling on a phone");
    browser.screenshot("control.png").await;

    let errors: Vec<Value> = browser.console().await.into_iter().filter(|entry| entry["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    drop(browser);
    app.stop().await;
}

/// Serves the app on `listener` until the returned token is cancelled (a restartable `TestApp`).
fn serve_app(cluster: &TestCluster, listener: tokio::net::TcpListener) -> crate::common::RunningApp {
    let args = crate::common::app_args(listener.local_addr().unwrap(), &["--chaos-cooldown-seconds", "0"]);
    // The contact form and the probes are not what these tests look at.
    crate::common::spawn_app(cluster, args, crate::common::listeners_with(listener))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_reconnects_and_resyncs_after_the_app_restarts() {
    // Recreated pods stay Pending for a while, so the page must show the change it missed.
    let config = kube_sim::SimConfig { start_delay: Duration::from_secs(30), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, task) = serve_app(&cluster, listener);
    let url = format!("http://{addr}");
    let browser = Browser::start().await;
    browser.goto(&format!("{url}/")).await;
    eventually(Duration::from_secs(20), "5 containers", || async {
        (browser.eval(SCENE).await["boxes"].as_array()?.len() == 5).then_some(())
    })
    .await;
    let before: Vec<Value> = browser.console().await.into_iter().filter(|e| e["level"] == "SEVERE").collect();
    assert!(before.is_empty(), "console errors: {before:?}");

    // The app goes away; meanwhile a pod is deleted for good and the replica count drops.
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(cluster.client.clone(), "demopod");
    let force = kube::api::DeleteParams { grace_period_seconds: Some(0), ..Default::default() };
    pods.delete("critical-prod-2", &force).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A new app on the same address: the page reconnects by itself and shows the new truth.
    let listener = tokio::net::TcpListener::bind(addr).await.expect("the same address again");
    let (shutdown, task) = serve_app(&cluster, listener);
    let scene = eventually(Duration::from_secs(30), "the page to resync", || async {
        let scene = browser.eval(SCENE).await;
        let status = status_of(&scene, "critical-prod-2");
        (status.as_deref() != Some("Running") && scene["boxes"].as_array()?.len() >= 4).then_some(scene)
    })
    .await;
    assert!(status_of(&scene, "critical-prod-2").is_none_or(|s| s == "Pending"), "{scene}");
    // Only the expected connection failures while the app was down, nothing else.
    let errors: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .filter(|e| !e["message"].as_str().unwrap_or_default().contains("net::ERR_CONNECTION_REFUSED"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    drop(browser);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// The Booth health card at the top of the control panel: the printer out of labels is its one
/// failing line, with the fix; loading a roll clears it while the panel stays open; the Booth's
/// status says the same. Screenshots at 390×844 (a phone) and 1280×800.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_booth_health_card_shows_each_check_with_its_fix_and_follows_the_booth() {
    use crate::labels::{Mode, TestPrinter};
    let cluster = TestCluster::start(fast_config()).await;
    let printer_port = free_port();
    let printer = TestPrinter::start(printer_port, Mode::Ready { media_mm: 54, errors: 0x0002 }).await;
    let private = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (url, form) =
        (format!("http://{}", private.local_addr().unwrap()), format!("http://{}/", public.local_addr().unwrap()));
    let printer_url = format!("tcp://127.0.0.1:{printer_port}");
    let extra = ["--printer-url", printer_url.as_str(), "--public-url", form.as_str()];
    let args = crate::common::app_args(private.local_addr().unwrap(), &extra);
    let (shutdown, task) = crate::common::spawn_app(
        &cluster,
        args,
        conferenceli::app::Listeners {
            private,
            public,
            health: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        },
    );

    let (_, staff) = crate::dashboard::Staff::login(&url, conferenceli::config::DEMO_PASSWORD).await;
    let browser = Browser::start().await;
    browser.set_viewport(390, 844).await;
    browser.goto(&format!("{url}/control")).await;
    let session = staff.cookies.iter().find_map(|c| c.strip_prefix("conferenceli_session=")).expect("session");
    let cookie = json!({"cookie": {"name": "conferenceli_session", "value": session, "path": "/"}});
    browser.command(reqwest::Method::POST, "/cookie", Some(cookie)).await;
    browser.goto(&format!("{url}/control")).await;
    const CARD: &str = r#"
const item = li => ({ status: li.className, title: li.querySelector('strong').textContent,
  message: li.querySelector('.msg').textContent, fix: li.querySelector('.fix') ? li.querySelector('.fix').textContent : null });
return { badge: document.getElementById('health-summary').textContent,
  problems: Array.from(document.querySelectorAll('#health-problems li')).map(item),
  passed: document.querySelectorAll('#health-passed li').length,
  first: document.querySelector('main > section').id,
  overflow: document.documentElement.scrollWidth > innerWidth };
"#;
    let card = eventually(Duration::from_secs(20), "the card with the printer failing", || async {
        let card = browser.eval(CARD).await;
        let failing: Vec<&Value> = card["problems"].as_array()?.iter().filter(|p| p["status"] == "fail").collect();
        (failing.len() == 1 && failing[0]["title"] == "Hardware · printer").then_some(card)
    })
    .await;
    assert_eq!(card["first"], "health", "the card is at the top of the panel");
    assert_eq!(card["badge"], "1 failed");
    let failing = &card["problems"][0];
    assert!(failing["message"].as_str().unwrap().contains("the label roll is used up"), "{card}");
    assert!(failing["fix"].as_str().unwrap().contains("load a roll of 54 mm endless tape"), "{card}");
    assert!(card["passed"].as_u64().unwrap() >= 15, "the passed checks are folded below: {card}");
    assert_eq!(card["overflow"], false, "no sideways scrolling on a phone");
    let phone = browser.screenshot("control-health-phone.png").await;
    browser.eval("document.getElementById('health-passed').open = true; return null").await;
    browser.set_viewport(1280, 800).await;
    let desktop = browser.screenshot("control-health-desktop.png").await;
    eprintln!("screenshots: {} {}", phone.display(), desktop.display());

    let booths: kube::Api<conferenceli::booth::Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    let condition = |booth: conferenceli::booth::Booth| {
        booth.status?.conditions.into_iter().find(|c| c.type_ == "HealthChecks").map(|c| (c.status.as_str(), c.message))
    };
    let (status, message) = eventually(Duration::from_secs(20), "the Booth's HealthChecks condition", || async {
        condition(booths.get("booth").await.ok()?).filter(|(status, _)| *status == "False")
    })
    .await;
    assert_eq!((status, message.as_str()), ("False", "failed: Hardware: printer"));

    // A new roll: the panel, still open, shows it within its refreshes; so does the Booth.
    printer.set_mode(Mode::Ready { media_mm: 54, errors: 0 });
    eventually(Duration::from_secs(40), "the card without failures", || async {
        let card = browser.eval(CARD).await;
        let failing = card["problems"].as_array()?.iter().filter(|p| p["status"] == "fail").count();
        (failing == 0 && card["badge"] != "1 failed").then_some(())
    })
    .await;
    eventually(Duration::from_secs(20), "the condition True again", || async {
        condition(booths.get("booth").await.ok()?).filter(|(status, _)| *status == "True").map(|_| ())
    })
    .await;

    let noise: Vec<Value> =
        browser.console().await.into_iter().filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING").collect();
    assert!(noise.is_empty(), "console warnings or errors: {noise:?}");
    drop(browser);
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}
