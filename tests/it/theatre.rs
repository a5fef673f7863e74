//! The kiosk's theatre: `GET /api/scenes`, the control panel's scene buttons, one kill animation
//! cued on `/stream` per chaos kill (never the same twice in a row), the QR card's call to action
//! edited on `/config`; and in headless Chromium: eight kills showing at least four different
//! kill animations, each followed by the container's return, an ambient event playing by itself
//! with `?theatre=fast`, every event of the catalogue drawn by the page with `data-scene`, night
//! mode and reduced motion (which plays no event), and no console errors. Screenshots go to
//! `target/test-artifacts/theatre-*.png`.

use crate::browser::Browser;
use crate::common::{TestApp, TestCluster, eventually, fast_config, press_once, settle, victim_of};
use crate::dashboard::{SseReader, Staff};
use crate::leads::{LeadsApp, post_settings};
use conferenceli::config::DEMO_PASSWORD;
use conferenceli::theatre::{SCENES, SceneKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

async fn ready(url: &str) {
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(20), "the app to be ready", || {
        let (http, url) = (http.clone(), format!("{url}/readyz"));
        async move { http.get(url).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
}

fn kind_of(name: &str) -> Option<SceneKind> {
    conferenceli::theatre::catalogue::find(name).map(|s| s.kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_scenes_lists_the_catalogue_and_every_kill_is_cued_once_with_its_pod() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    ready(&app.url).await;
    let http = reqwest::Client::new();

    let response = http.get(format!("{}/api/scenes", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let scenes: Vec<Value> = response.json().await.unwrap();
    let names: Vec<&str> = scenes.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, SCENES.iter().map(|s| s.name).collect::<Vec<_>>());
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len(), "unique names");
    let count = |kind: &str| scenes.iter().filter(|s| s["kind"] == kind).count();
    assert!(count("ambient") >= 11 && count("cameo") >= 8 && count("kill") >= 6, "{scenes:?}");
    assert!(count("guard") >= 1 && count("node") >= 2, "the budget's and the drained node's scenes: {scenes:?}");
    assert_eq!(
        count("ambient") + count("cameo") + count("kill") + count("guard") + count("node"),
        scenes.len(),
        "no other kind"
    );
    assert!(scenes.iter().all(|s| s["description"].as_str().is_some_and(|d| d.len() > 20)));
    let refused = http.post(format!("{}/api/scenes", app.url)).send().await.unwrap();
    assert_eq!(refused.status(), 405, "read-only");

    // The control panel offers every event: shows to play, kill animations to preview.
    let (_, staff) = Staff::login(&app.url, DEMO_PASSWORD).await;
    let panel = staff.page("/control").await;
    for name in &names {
        assert!(panel.contains(&format!("action=\"/control/scene/{name}\"")), "{name} on the panel");
    }

    // Every kill is cued once, with its pod and a kill animation, never the same twice in a row;
    // a press the disruption budget refuses (the kills come faster than the pods heal) is none.
    let mut kiosk = SseReader::open(&http, &format!("{}/stream", app.url)).await;
    let mut played = Vec::new();
    for _ in 0..8 {
        let victim = victim_of(&app.press_until_answered("a kill").await);
        let event = kiosk.until(Duration::from_secs(10), |e| e.event.as_deref() == Some("scene")).await;
        let cue: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(cue["pod"], victim.as_str(), "{cue}");
        let name = cue["name"].as_str().unwrap().to_string();
        assert_eq!(kind_of(&name), Some(SceneKind::Kill), "{cue}");
        played.push(name);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    for pair in played.windows(2) {
        assert_ne!(pair[0], pair[1], "{played:?}");
    }
    let kills = SCENES.iter().filter(|s| s.kind == SceneKind::Kill).count();
    assert_eq!(played.iter().collect::<BTreeSet<_>>().len(), kills, "a round shows every kill animation: {played:?}");

    // Staff preview a kill animation: no pod named, nothing killed.
    assert_eq!(staff.post("/control/scene/anvil", &[], true).await.0, 200);
    let event = kiosk.until(Duration::from_secs(10), |e| e.event.as_deref() == Some("scene")).await;
    assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap(), serde_json::json!({"name": "anvil"}));
    assert_eq!(staff.post("/control/scene/tsunami", &[], true).await.0, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_to_action_is_edited_on_config_checked_and_reaches_the_kiosk_live() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &["--public-url", "https://booth.example.com/"]).await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{}/", app.private)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(">Scan to win a prize</strong>"), "the default call to action on the QR card");
    let mut kiosk = SseReader::open(&http, &format!("{}/stream", app.private)).await;

    let too_long = "x".repeat(61);
    let (code, page) = post_settings(&app, &[("call_to_action", &too_long)]).await;
    assert_eq!(code, 422);
    assert!(page.contains("The call to action must be at most 60 characters."), "{page}");
    let (code, page) = post_settings(&app, &[("call_to_action", "Win a Raspberry Pi")]).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("value=\"Win a Raspberry Pi\""));
    let booths: kube::Api<conferenceli::booth::Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    assert_eq!(booths.get("booth").await.unwrap().spec.call_to_action, "Win a Raspberry Pi");
    // Open kiosks learn it from the stream, new ones from the page.
    let event = kiosk
        .until(Duration::from_secs(10), |e| e.event.as_deref() == Some("booth") && e.data.contains("Raspberry"))
        .await;
    assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["callToAction"], "Win a Raspberry Pi");
    let page = http.get(format!("{}/", app.private)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(">Win a Raspberry Pi</strong>"));
    app.stop().await;
}

/// The events playing on the page: `[{name, pod}]`.
const PLAYING: &str = r#"
return Array.from(document.querySelectorAll('[data-scene]')).map(e => ({ name: e.dataset.scene, pod: e.dataset.victim || null }));
"#;

/// Records every container's status changes in `window.statusLog` (`[pod, status]`, `gone` when
/// it breaks up), so a test sees a whole kill-and-return cycle however fast it is.
const STATUS_LOG: &str = r#"
window.statusLog = [];
const note = b => { if (b.dataset && b.dataset.pod) window.statusLog.push([b.dataset.pod, b.classList.contains('gone') ? 'gone' : b.dataset.status]); };
new MutationObserver(ms => ms.forEach(m => {
  if (m.type === 'attributes') note(m.target);
  else m.addedNodes.forEach(n => { if (n.nodeType === 1 && n.classList.contains('box')) note(n); });
})).observe(document.getElementById('stage'), { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status', 'class'] });
return true;
"#;

/// Waits until the page shows the demo's five containers.
async fn five_containers(browser: &Browser) {
    eventually(Duration::from_secs(20), "5 containers", || async {
        (browser.eval("return document.querySelectorAll('.box[data-pod]').length").await == 5).then_some(())
    })
    .await;
}

/// Whether `pod`'s container left Running and came back Running since log entry `from`.
async fn returned(browser: &Browser, pod: &str, from: usize) -> bool {
    let log = browser.eval(&format!("return window.statusLog.slice({from})")).await;
    let statuses: Vec<&str> =
        log.as_array().unwrap().iter().filter(|e| e[0] == pod).filter_map(|e| e[1].as_str()).collect();
    let left = statuses.iter().position(|s| *s != "Running");
    left.is_some_and(|i| statuses[i..].contains(&"Running"))
        && box_status(browser, pod).await.as_deref() == Some("Running")
}

/// The status of `pod`'s container on the page, if it has one.
async fn box_status(browser: &Browser, pod: &str) -> Option<String> {
    let script = format!(
        "const b = document.querySelector('.box[data-pod=\"{pod}\"]:not(.gone)'); return b ? b.dataset.status : null;"
    );
    browser.eval(&script).await.as_str().map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_theatre_plays_in_the_browser() {
    let config = kube_sim::SimConfig { start_delay: Duration::from_millis(1500), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let app =
        TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0", "--public-url", "https://example.com/form"]).await;
    ready(&app.url).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/?theatre=fast", app.url)).await;
    five_containers(&browser).await;

    // The page draws exactly the server's catalogue.
    let drawn = browser.eval("return Object.keys(window.kiosk.scenes).sort()").await;
    let mut names: Vec<&str> = SCENES.iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(drawn, serde_json::json!(names));

    // With the fast switch, an ambient event plays by itself within seconds; never two at once
    // (watched for eight more seconds).
    let mut ambient = BTreeSet::new();
    let started = std::time::Instant::now();
    let mut first_seen = None;
    while first_seen.is_none_or(|at: std::time::Instant| at.elapsed() < Duration::from_secs(8)) {
        assert!(
            first_seen.is_some() || started.elapsed() < Duration::from_secs(30),
            "no ambient event played by itself"
        );
        let playing = browser.eval(PLAYING).await;
        let shows: Vec<&str> = playing.as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(shows.len() <= 1, "never two at once: {shows:?}");
        if let Some(name) = shows.first().filter(|n| kind_of(n) == Some(SceneKind::Ambient))
            && ambient.insert(name.to_string())
        {
            first_seen.get_or_insert_with(std::time::Instant::now);
            tokio::time::sleep(Duration::from_millis(1500)).await;
            browser.screenshot(&format!("theatre-ambient-{name}.png")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Eight kills: a kill animation over each killed container, then the container is back.
    browser.goto(&format!("{}/", app.url)).await;
    five_containers(&browser).await;
    assert_eq!(browser.eval(STATUS_LOG).await, true);
    let mut played: Vec<String> = Vec::new();
    for round in 0..8 {
        let from = browser.eval("return window.statusLog.length").await.as_u64().unwrap() as usize;
        let victim = press_once(&app.url).await;
        // A new one: the previous kill's animation may still be playing on the same pod.
        let fresh = format!(
            "const e = document.querySelector('.scene[data-victim=\"{victim}\"]:not([data-test-seen])');
             if (!e) return null; e.dataset.testSeen = '1'; return e.dataset.scene;"
        );
        let name = eventually(Duration::from_secs(10), "a kill animation on the container", || async {
            browser.eval(&fresh).await.as_str().map(String::from)
        })
        .await;
        assert_eq!(kind_of(&name), Some(SceneKind::Kill), "{name}");
        if round < 3 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            browser.screenshot(&format!("theatre-kill-{round}-{name}.png")).await;
        }
        eventually(Duration::from_secs(30), "the container to go and come back Running", || async {
            returned(&browser, &victim, from).await.then_some(())
        })
        .await;
        played.push(name);
    }
    for pair in played.windows(2) {
        assert_ne!(pair[0], pair[1], "{played:?}");
    }
    assert!(played.iter().collect::<BTreeSet<_>>().len() >= 4, "{played:?}");

    // Every event of the catalogue plays on the page when staff start it (kill animations on a
    // drill crate: no container changes).
    let (_, staff) = Staff::login(&app.url, DEMO_PASSWORD).await;
    for scene in SCENES {
        assert_eq!(staff.post(&format!("/control/scene/{}", scene.name), &[], true).await.0, 200);
        eventually(Duration::from_secs(10), &format!("{} to play", scene.name), || async {
            let playing = browser.eval(PLAYING).await;
            playing.as_array()?.iter().any(|p| p["name"] == scene.name).then_some(())
        })
        .await;
        let moment = match scene.kind {
            SceneKind::Kill | SceneKind::Guard => 1000,
            SceneKind::Node => 1500,
            SceneKind::Ambient | SceneKind::Cameo => 2500,
        };
        tokio::time::sleep(Duration::from_millis(moment)).await;
        browser.screenshot(&format!("theatre-{}.png", scene.name)).await;
    }
    let tally = browser.eval("return document.getElementById('tally-pods').textContent").await;
    assert_eq!(tally, "5 / 5 pods running", "previews kill nothing");

    // Night lights the harbour: the beam, the lamps, the windows.
    let http = reqwest::Client::new();
    let night = |state: &'static str| {
        http.post(format!("{}/nightmode?state={state}", app.url)).basic_auth("admin", Some(DEMO_PASSWORD)).send()
    };
    night("on").await.unwrap();
    eventually(Duration::from_secs(5), "night", || async {
        (browser.eval("return getComputedStyle(document.getElementById('beam')).display").await == "block")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(4000)).await;
    browser.screenshot("theatre-night.png").await;

    // Reduced motion: every state readable, no event at all, even with the fast switch and a kill.
    browser.reduce_motion().await;
    browser.goto(&format!("{}/?theatre=fast", app.url)).await;
    five_containers(&browser).await;
    browser.screenshot("theatre-reduced-motion-night.png").await;
    let victim = press_once(&app.url).await;
    let mut seen = BTreeSet::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        let playing = browser.eval(PLAYING).await;
        assert_eq!(playing, serde_json::json!([]), "nothing plays with reduced motion");
        if let Some(status) = box_status(&browser, &victim).await
            && seen.insert(status.clone())
            && status == "Terminating"
        {
            browser.screenshot("theatre-reduced-motion-kill.png").await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(seen.contains("Terminating") || seen.contains("Pending"), "the kill is shown as state: {seen:?}");
    night("off").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.screenshot("theatre-reduced-motion.png").await;

    let errors: Vec<Value> = browser.console().await.into_iter().filter(|entry| entry["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    drop(browser);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kill_animation_plays_on_a_container_without_a_warning_and_a_broken_one_fails_the_test() {
    let config = kube_sim::SimConfig { start_delay: Duration::from_millis(1500), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    ready(&app.url).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.url)).await;
    five_containers(&browser).await;
    assert_eq!(browser.eval(STATUS_LOG).await, true);
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(cluster.client.clone(), "demopod");
    // Each kill animation on a container, as the director would cue it for a kill (the pod is
    // deleted through the API: no chaos press, so no other animation is cued for it).
    for scene in SCENES.iter().filter(|s| s.kind == SceneKind::Kill) {
        let victim = eventually(Duration::from_secs(30), "a running container", || async {
            let name = browser
                .eval("const b = document.querySelector('.box[data-pod][data-status=Running]:not(.gone)'); return b ? b.dataset.pod : null;")
                .await;
            name.as_str().map(String::from)
        })
        .await;
        let from = browser.eval("return window.statusLog.length").await.as_u64().unwrap() as usize;
        browser.eval(&format!("window.kiosk.cue({{ name: {:?}, pod: {victim:?} }}); return true", scene.name)).await;
        pods.delete(&victim, &Default::default()).await.unwrap();
        let playing = format!(
            "return !!document.querySelector('.scene[data-scene=\"{}\"][data-victim=\"{victim}\"]')",
            scene.name
        );
        eventually(Duration::from_secs(5), &format!("{} to play", scene.name), || async {
            (browser.eval(&playing).await == true).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(900)).await;
        browser.screenshot(&format!("kill-{}-strike.png", scene.name)).await;
        tokio::time::sleep(Duration::from_millis(900)).await;
        browser.screenshot(&format!("kill-{}-blast.png", scene.name)).await;
        let problems = browser.console_problems().await;
        assert!(problems.is_empty(), "{} logged {problems:?}", scene.name);
        eventually(Duration::from_secs(30), "the container to go and come back Running", || async {
            returned(&browser, &victim, from).await.then_some(())
        })
        .await;
    }

    // The console rule sees a kill animation that throws (the page only logs it).
    browser
        .eval(
            "const animate = Element.prototype.animate;
             Element.prototype.animate = function (keyframes, options) {
               if (this.classList.contains('meteor')) throw new Error('a broken meteor');
               return animate.call(this, keyframes, options);
             };
             window.kiosk.scenes.meteor(); return true",
        )
        .await;
    let problems = settle(Duration::from_secs(5), "the broken meteor in the console", || async {
        let problems = browser.console_problems().await;
        if problems.iter().any(|p| p["message"].as_str().unwrap_or_default().contains("a broken meteor")) {
            Ok(problems)
        } else {
            Err(format!("{problems:?}"))
        }
    })
    .await;
    assert!(problems.iter().all(|p| p["level"] == "WARNING"), "{problems:?}");
    browser.allow_console("a broken meteor"); // seen: this session may end
    drop(browser);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_show_pace_is_set_on_config_checked_and_calms_the_kiosk_live() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = LeadsApp::start(&cluster, &[]).await;
    let (code, page) = post_settings(&app, &[("show_pace", "frantic")]).await;
    assert_eq!(code, 422);
    assert!(
        page.contains("Unknown show pace &#34;frantic&#34;: choose lively, calm or still.")
            || page.contains("Unknown show pace &quot;frantic&quot;"),
        "{page}"
    );
    let (code, page) = post_settings(&app, &[("show_pace", "still")]).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("<option value=\"still\" selected>"), "{page}");
    let booths: kube::Api<conferenceli::booth::Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    assert_eq!(booths.get("booth").await.unwrap().spec.show_pace, conferenceli::booth::ShowPace::Still);

    // Still: with the page's pauses fifty times shorter, nothing plays of its own.
    let browser = Browser::start().await;
    browser.goto(&format!("{}/?theatre=fast", app.private)).await;
    five_containers(&browser).await;
    for _ in 0..40 {
        assert_eq!(browser.eval(PLAYING).await, serde_json::json!([]), "nothing plays at the still pace");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Lively again, live: an ambient event plays within seconds.
    let (code, page) = post_settings(&app, &[("show_pace", "lively")]).await;
    assert_eq!(code, 200, "{page}");
    eventually(Duration::from_secs(20), "an ambient event", || async {
        let playing = browser.eval(PLAYING).await;
        playing
            .as_array()?
            .iter()
            .any(|p| p["name"].as_str().and_then(kind_of) == Some(SceneKind::Ambient))
            .then_some(())
    })
    .await;
    drop(browser);
    app.stop().await;
}
