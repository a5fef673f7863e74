//! The kiosk in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver over HTTP, spoken with reqwest). Opens the kiosk on the app against the simulated
//! cluster, checks one ship per node and one container per pod with their names, presses chaos
//! through the API, watches the killed pod's container go Terminating and come back Running in
//! the DOM, and finds no warnings or errors in the browser console (`webdriver`'s console rule
//! holds every browser test to that). Screenshots are saved under `target/test-artifacts/`.

use crate::common::{TestApp, TestCluster, eventually, fast_config};
pub use crate::webdriver::Browser;
use serde_json::{Value, json};
use std::time::Duration;

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

/// The page's endless CSS loops: how many, those left running (not stepped by the page), and
/// how often, over 3.1 s, the front waves and the bob of the ship NODE (named by the caller)
/// changed.
const LOOPS: &str = r#"
const loops = document.getAnimations().filter(a => a instanceof CSSAnimation && a.effect.getTiming().iterations === Infinity);
const left = loops.filter(a => a.playState !== 'paused').map(a => a.animationName + ' ' + a.playState);
const watched = [document.querySelector('.waves.front'), document.querySelector('.ship[data-node="NODE"] .bob')];
const seen = watched.map(e => getComputedStyle(e).transform), changes = [0, 0];
return new Promise(done => {
  const start = performance.now();
  const frame = () => {
    watched.forEach((e, i) => {
      const now = getComputedStyle(e).transform;
      if (now !== seen[i]) { seen[i] = now; changes[i]++; }
    });
    if (performance.now() - start < 3100) { requestAnimationFrame(frame); return; }
    done({ loops: loops.length, left, waves: changes[0], bob: changes[1] });
  };
  requestAnimationFrame(frame);
});
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
    // Every endless loop of the page, the new ship's too, is paused and stepped by the page on
    // its grid: the harbour keeps moving, and nothing has the compositor tick in between.
    let loops = browser.eval(&LOOPS.replace("NODE", "pico-3")).await;
    assert_eq!(loops["left"], json!([]), "endless loops left running: {loops}");
    assert!(loops["loops"].as_u64().unwrap() >= 12, "the harbour's loops: {loops}");
    assert!(loops["waves"].as_u64().unwrap() >= 4, "the waves step twice a second: {loops}");
    assert!(loops["bob"].as_u64().unwrap() >= 1, "the new ship bobs: {loops}");
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
    assert_eq!(browser.console_problems().await, Vec::<Value>::new());
    // Expected while the app is away: the stream's reconnection attempts are refused.
    browser.allow_console("net::ERR_CONNECTION_REFUSED");

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
    drop(browser); // the console rule: only the refused connections while the app was away
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// What a kiosk page looks like from the test: which build it runs, whether it is the page the
/// test marked (a reload loses the mark), whether it says it is reconnecting, whether it is the
/// harbour at all (never Chromium's error page).
const PAGE: &str = r#"
return { build: window.kiosk ? window.kiosk.build : null, marked: window.testMark === 1, url: location.href,
  reconnecting: getComputedStyle(document.getElementById('link')).display !== 'none',
  note: getComputedStyle(document.getElementById('link'), '::before').content,
  ships: document.querySelectorAll('.ship').length };
"#;

/// A stand-in for a newer app on `listener`: it serves the page `page` and a stream whose
/// snapshot says `snapshot`, from memory (`assets`: the page's static files).
fn serve_stand_in(
    listener: tokio::net::TcpListener,
    page: String,
    snapshot: String,
    assets: Vec<(String, Vec<u8>, String)>,
) -> tokio::task::JoinHandle<()> {
    use axum::response::IntoResponse;
    // The stream ends after its snapshot (the page asks again in 500 ms): a connection held open
    // would outlive the stand-in.
    let stream = move || {
        let body = format!("retry: 500\n\nevent: snapshot\ndata: {snapshot}\n\n");
        async move { ([("content-type", "text/event-stream")], body).into_response() }
    };
    let static_file = move |axum::extract::Path(file): axum::extract::Path<String>| {
        let found = assets.iter().find(|(name, ..)| *name == file).cloned();
        async move {
            match found {
                Some((_, bytes, content_type)) => ([("content-type", content_type)], bytes).into_response(),
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    };
    let router = axum::Router::new()
        .route("/", axum::routing::get(move || async move { axum::response::Html(page) }))
        .route("/stream", axum::routing::get(stream))
        .route("/static/{file}", axum::routing::get(static_file));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_reloads_for_a_new_build_and_after_a_long_outage_and_says_it_is_reconnecting_meanwhile() {
    let cluster = TestCluster::start(fast_config()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, task) = serve_app(&cluster, listener);
    let url = format!("http://{addr}");
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(20), "the app to be ready", || async {
        http.get(format!("{url}/readyz")).send().await.ok().filter(|r| r.status() == 200).map(|_| ())
    })
    .await;
    // The build the page carries is the one its stream's snapshots carry.
    let html = http.get(format!("{url}/")).send().await.unwrap().text().await.unwrap();
    let initial = html
        .split("<script type=\"application/json\" id=\"initial\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let initial: Value = serde_json::from_str(initial).unwrap();
    let build = initial["build"].as_str().unwrap().to_string();
    assert!(build.starts_with(env!("CARGO_PKG_VERSION")), "{build}");
    let mut stream = crate::dashboard::SseReader::open(&http, &format!("{url}/stream")).await;
    let snapshot = stream.until(Duration::from_secs(10), |e| e.event.as_deref() == Some("snapshot")).await;
    assert_eq!(serde_json::from_str::<Value>(&snapshot.data).unwrap()["build"], build.as_str());
    drop(stream);

    let browser = Browser::start().await;
    browser.allow_console("net::ERR_CONNECTION_REFUSED"); // the stream's attempts while the app is away
    browser.goto(&format!("{url}/?reload-after=4")).await;
    eventually(Duration::from_secs(20), "the harbour", || async {
        (browser.eval(PAGE).await["ships"] == 3).then_some(())
    })
    .await;
    browser.eval("window.testMark = 1; return true").await;

    // Away for a moment: nothing to say yet, then a quiet note; the harbour stays.
    shutdown.cancel();
    task.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = browser.eval(PAGE).await;
    assert_eq!((page["reconnecting"].clone(), page["ships"].clone()), (json!(false), json!(3)), "{page}");
    let page = eventually(Duration::from_secs(10), "the reconnecting note", || async {
        let page = browser.eval(PAGE).await;
        (page["reconnecting"] == true).then_some(page)
    })
    .await;
    assert_eq!(page["note"], "\"reconnecting…\"", "{page}");
    assert_eq!(
        (page["marked"].clone(), page["ships"].clone()),
        (json!(true), json!(3)),
        "the same page, still the harbour"
    );
    browser.screenshot("kiosk-reconnecting.png").await;

    // Back after more than `reload-after`: the page reloads itself, once the app serves it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.expect("the same address again");
    let (shutdown, task) = serve_app(&cluster, listener);
    let page = eventually(Duration::from_secs(30), "a fresh page", || async {
        let page = browser.eval(PAGE).await;
        (page["marked"] == false && page["ships"] == 3).then_some(page)
    })
    .await;
    assert_eq!((page["build"].as_str(), page["reconnecting"].clone()), (Some(build.as_str()), json!(false)), "{page}");
    assert!(page["url"].as_str().unwrap().starts_with(&url), "never an error page: {page}");
    browser.eval("window.testMark = 1; return true").await;

    // A newer app (another page build) takes the address over, as after an Argo CD sync: the
    // page reloads into the new build, though the outage was short.
    let assets = {
        let mut assets = Vec::new();
        for file in ["kiosk.css", "kiosk.js", "kiosk-health.js", "kiosk-visitors.js", "logo.svg"] {
            let response = http.get(format!("{url}/static/{file}")).send().await.unwrap();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
            assets.push((file.to_string(), response.bytes().await.unwrap().to_vec(), content_type));
        }
        assets
    };
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let newer = "9.9.9+000000000000";
    let page_html = html.replace(&build, newer);
    let snapshot = serde_json::to_string(&json!(initial).as_object().map(|o| {
        let mut o = o.clone();
        o.insert("build".into(), json!(newer));
        o
    }))
    .unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.expect("the same address again");
    let stand_in = serve_stand_in(listener, page_html, snapshot, assets);
    let page = eventually(Duration::from_secs(30), "the page of the new build", || async {
        let page = browser.eval(PAGE).await;
        (page["build"] == newer && page["marked"] == false).then_some(page)
    })
    .await;
    assert!(page["url"].as_str().unwrap().starts_with(&url), "never an error page: {page}");
    stand_in.abort();
    let _ = stand_in.await;

    // And back to this build when it returns.
    let listener = tokio::net::TcpListener::bind(addr).await.expect("the same address again");
    let (shutdown, task) = serve_app(&cluster, listener);
    eventually(Duration::from_secs(30), "this build again", || async {
        (browser.eval(PAGE).await["build"] == build.as_str()).then_some(())
    })
    .await;
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
    let printer_port = crate::common::free_port();
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
