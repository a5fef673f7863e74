//! Chaos the Kubernetes way (issue 25): the red button evicts through the Eviction API, which
//! honours the workload's PodDisruptionBudget (the demo's, `deploy/demo-workload/pdb.yaml`:
//! `minAvailable: 3` of 5). A press the budget refuses answers 429 in the budget's words, kills
//! nothing (no counter, no kill on the bus) and tells the kiosk; `chaosSafety.mode: delete`
//! deletes as before, budget or not. kubectl's own watch checks the promise of it all: rapid
//! presses with the cool-down off never take the Ready pods below `minAvailable`.

use crate::binary::start_demo;
use crate::common::{TestApp, TestCluster, eventually, fast_config};
use crate::dashboard::SseReader;
use kube::api::{Api, Patch, PatchParams};
use kube_sim::SimConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Evicted pods stay Terminating and their replacements come late: the budget stays spent.
fn slow_config() -> SimConfig {
    SimConfig { grace_period_seconds: 60, start_delay: Duration::from_secs(60), ..fast_config() }
}

async fn press(url: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/chaos"))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .expect("the app answers /chaos");
    let status = response.status().as_u16();
    (status, response.json().await.expect("/chaos answers JSON"))
}

async fn api_state(url: &str) -> Value {
    reqwest::get(format!("{url}/api/state")).await.unwrap().json().await.unwrap()
}

async fn all_ready(url: &str) {
    eventually(WAIT, "five Ready pods", || async {
        let state = api_state(url).await;
        let ready = state["pods"].as_array()?.iter().filter(|p| p["status"] == "Running" && p["ready"] == true).count();
        (ready == 5).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_button_evicts_and_when_the_budget_allows_none_it_says_no_in_the_budgets_words_and_kills_nothing() {
    let cluster = TestCluster::start(slow_config()).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    all_ready(&app.url).await;
    let mut kiosk = SseReader::open(&reqwest::Client::new(), &format!("{}/stream", app.url)).await;

    // 5 Ready pods, at least 3 wanted: two evictions go through.
    for _ in 0..2 {
        let (status, body) = press(&app.url).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["message"].as_str().unwrap().ends_with(" evicted"), "{body}");
    }
    assert_eq!(cluster.sim.stats.requests("delete", "pods"), 0, "evicted, never deleted");
    let (status, body) = press(&app.url).await;
    assert_eq!(status, 429, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Kubernetes said no: the disruption budget critical-prod needs 3 healthy pods and has "),
        "{message}"
    );
    assert_eq!(cluster.sim.stats.requests("create", "pods/eviction"), 3);

    // The kiosk hears of the refusal, with the budget, and of no third kill.
    let refused = kiosk.until(WAIT, |e| e.event.as_deref() == Some("chaos") && e.data.contains("\"refused\"")).await;
    let refused: Value = serde_json::from_str(&refused.data).unwrap();
    assert_eq!(refused["budget"]["budget"], "critical-prod");
    assert_eq!(refused["budget"]["needs"], 3);
    assert_eq!(refused["by"], json!({"kind": "button"}));
    let metrics = reqwest::get(format!("{}/metrics", app.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"killed\"} 2"), "{metrics}");
    assert!(metrics.contains("conferenceli_chaos_presses_total{outcome=\"budget_refused\"} 1"), "{metrics}");
    eventually(WAIT, "the counter at 2", || async { (api_state(&app.url).await["killCount"] == 2).then_some(()) })
        .await;

    // chaosSafety.mode: delete takes a pod however the budget stands.
    let booths: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let mode = json!({"spec": {"chaosSafety": {"mode": "delete"}}});
    booths.patch("booth", &PatchParams::default(), &Patch::Merge(&mode)).await.expect("the Booth takes the mode");
    let body = eventually(WAIT, "a press in delete mode", || async {
        let (status, body) = press(&app.url).await;
        (status == 200).then_some(body)
    })
    .await;
    assert!(body["message"].as_str().unwrap().ends_with(" deleted"), "{body}");
    assert_eq!(cluster.sim.stats.requests("delete", "pods"), 1);
    eventually(WAIT, "the counter at 3", || async { (api_state(&app.url).await["killCount"] == 3).then_some(()) })
        .await;
    app.stop().await;
}

/// Pods by name as `kubectl get pods --watch --output-watch-events -o json` reports them:
/// whether each counts toward the budget (Ready and not being deleted).
fn healthy(pods: &BTreeMap<String, bool>) -> usize {
    pods.values().filter(|ready| **ready).count()
}

/// One of kubectl's watch events applied to `pods`.
fn apply(event: Value, pods: &mut BTreeMap<String, bool>) {
    let object = &event["object"];
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if event["type"] == "DELETED" {
        pods.remove(&name);
        return;
    }
    let ready = object["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    pods.insert(name, ready && object["metadata"]["deletionTimestamp"].is_null());
}

// kubectl runs as a child process read by a thread; the demo is the real binary with its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_presses_with_the_cool_down_off_never_take_the_ready_pods_below_the_budget_as_kubectl_watches() {
    let (_demo, app, server) = start_demo(&["--chaos-cooldown-seconds", "0", "--start-delay-ms", "400"]);
    crate::kubectl::wait_for_api(&server).await;
    all_ready(&app).await;
    let min_available: usize = crate::kubectl::run(
        &server,
        &["get", "pdb", "critical-prod", "-n", "demopod", "-o", "jsonpath={.spec.minAvailable}"],
    )
    .parse()
    .expect("the demo's budget has an integer minAvailable");
    assert_eq!(min_available, 3);

    let mut watch = Command::new(crate::kubectl::kubectl())
        .args(["--server", &server, "get", "pods", "-n", "demopod", "--watch", "--output-watch-events", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl watches");
    let (events, seen) = mpsc::channel::<Value>();
    let stdout = BufReader::new(watch.stdout.take().unwrap());
    std::thread::spawn(move || {
        for event in serde_json::Deserializer::from_reader(stdout).into_iter::<Value>() {
            let Ok(event) = event else { return };
            if events.send(event).is_err() {
                return;
            }
        }
    });
    let mut pods: BTreeMap<String, bool> = BTreeMap::new();
    // kubectl's first events are the pods as they are: five, all Ready.
    while healthy(&pods) < 5 {
        let event = seen.recv_timeout(WAIT).expect("kubectl lists the pods");
        apply(event, &mut pods);
    }

    let (mut evicted, mut refused, mut lowest) = (0, 0, 5);
    for _ in 0..80 {
        let (status, body) = press(&app).await;
        match status {
            200 => evicted += 1,
            429 => {
                assert!(
                    body["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("Kubernetes said no: the disruption budget critical-prod"),
                    "{body}"
                );
                refused += 1;
            }
            // Every pod being replaced at once: nothing Running to pick.
            404 => {}
            other => panic!("{other} {body}"),
        }
        while let Ok(event) = seen.try_recv() {
            apply(event, &mut pods);
            lowest = lowest.min(healthy(&pods));
            assert!(healthy(&pods) >= min_available, "kubectl saw {} Ready pods: {pods:?}", healthy(&pods));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What kubectl reports of the last presses, too.
    while let Ok(event) = seen.recv_timeout(Duration::from_millis(500)) {
        apply(event, &mut pods);
        lowest = lowest.min(healthy(&pods));
        assert!(healthy(&pods) >= min_available, "kubectl saw {} Ready pods: {pods:?}", healthy(&pods));
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(evicted >= 3, "pods were evicted as replacements got Ready: {evicted}");
    assert!(refused >= 3, "the budget refused the presses in between: {refused}");
    assert_eq!(lowest, min_available, "the budget was spent down to its minimum, never below");
}

/// The pods of `node` as the app sees them: `(name, status)`.
fn pods_on(state: &Value, node: &str) -> Vec<(String, String)> {
    let pods = state["pods"].as_array().unwrap();
    pods.iter()
        .filter(|p| p["node"] == node)
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["status"].as_str().unwrap().to_string()))
        .collect()
}

// kubectl runs as a blocking child process: the simulated API needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_drains_a_node_at_the_budgets_pace_and_uncordons_it_as_kubectl_shows() {
    // Replacements take 2 s to get Ready: long enough for the budget to refuse one of the drain's
    // evictions, which the drain asks for again 5 s later.
    let config = SimConfig { start_delay: Duration::from_secs(2), start_jitter: Duration::ZERO, ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    all_ready(&app.url).await;
    let server = cluster.url();
    let (status, staff) = crate::dashboard::Staff::login(&app.url, conferenceli::config::DEMO_PASSWORD).await;
    assert_eq!(status, 303);
    let state = api_state(&app.url).await;
    let nodes: Vec<String> =
        state["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_string()).collect();
    let node = nodes.iter().max_by_key(|n| pods_on(&state, n).len()).unwrap().clone();
    let aboard: Vec<String> = pods_on(&state, &node).into_iter().map(|(name, _)| name).collect();
    assert!(aboard.len() >= 2, "{node} carries {aboard:?}");

    // A pod elsewhere is evicted first: the budget then allows one disruption, not two.
    let elsewhere = state["pods"].as_array().unwrap().iter().find(|p| p["node"] != node.as_str()).unwrap();
    let (status, body) = staff.post(&format!("/control/chaos/{}", elsewhere["index"]), &[], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(staff.post("/control/nodes/atlantis/drain", &[], true).await.0, 404, "no such node");
    let (status, body) = staff.post(&format!("/control/nodes/{node}/drain"), &[], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["message"],
        format!("Draining {node}: cordoned, evicting its {} pods as the disruption budget allows", aboard.len())
    );
    let (_, again) = staff.post(&format!("/control/nodes/{node}/drain"), &[], true).await;
    assert_eq!(again["message"], format!("{node} is being drained already"));
    let listed = crate::kubectl::run(&server, &["get", "nodes", node.as_str()]);
    assert!(listed.contains("Ready,SchedulingDisabled"), "{listed}");

    // The budget refuses one; the drain asks again and finishes once the replacements are Ready.
    let evictions = || cluster.sim.stats.requests("create", "pods/eviction");
    eventually(WAIT, "every pod of the node evicted, one after a refusal", || async {
        let state = api_state(&app.url).await;
        let left = pods_on(&state, &node);
        (left.iter().all(|(_, status)| status == "Terminating") && evictions() > 1 + aboard.len() as u64).then_some(())
    })
    .await;
    eventually(WAIT, "the node's pods back Ready on the other nodes", || async {
        let state = api_state(&app.url).await;
        let pods = state["pods"].as_array()?;
        let back = aboard.iter().all(|name| {
            pods.iter().any(|p| {
                p["name"] == name.as_str()
                    && p["node"] != node.as_str()
                    && p["status"] == "Running"
                    && p["ready"] == true
            })
        });
        back.then_some(())
    })
    .await;
    let wide = crate::kubectl::run(&server, &["get", "pods", "-n", "demopod", "-o", "wide"]);
    assert!(!wide.contains(&format!(" {node} ")), "nothing runs on the drained node: {wide}");

    let (status, body) = staff.post(&format!("/control/nodes/{node}/uncordon"), &[], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], format!("{node} uncordoned: it takes new pods again"));
    let listed = crate::kubectl::run(&server, &["get", "nodes", node.as_str()]);
    assert!(listed.contains(" Ready ") && !listed.contains("SchedulingDisabled"), "{listed}");
    let unschedulable =
        crate::kubectl::run(&server, &["get", "node", node.as_str(), "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(unschedulable, "", "unset, as kubectl uncordon leaves it");
    app.stop().await;
}

/// Presses `/chaos` until the disruption budget refuses (429); the refusals' message.
async fn press_until_refused(url: &str) -> String {
    for _ in 0..10 {
        let (status, body) = press(url).await;
        if status == 429 && body["message"].as_str().is_some_and(|m| m.starts_with("Kubernetes said no")) {
            return body["message"].as_str().unwrap().to_string();
        }
        assert_eq!(status, 200, "{body}");
    }
    panic!("the budget never refused");
}

/// What the kiosk shows of `node`'s ship: `[scene, away, at sea, containers aboard, berth sign]`.
fn ship_of(node: &str) -> String {
    format!(
        "const s = document.querySelector('.ship[data-node=\"{node}\"]'); if (!s) return null;
         return [s.dataset.scene || null, s.classList.contains('away'), s.classList.contains('at-sea'),
           s.querySelectorAll('.cargo .box:not(.gone)').length, getComputedStyle(s.querySelector('.berth')).display !== 'none'];"
    )
}

async fn night(url: &str, on: bool) {
    let state = if on { "on" } else { "off" };
    let response = reqwest::Client::new()
        .post(format!("{url}/nightmode?state={state}"))
        .basic_auth("admin", Some(conferenceli::config::DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The guard scene on a refused press, over the container that was picked, with the budget's
/// words; `shot` is its screenshot.
async fn guard_on_the_kiosk(browser: &crate::browser::Browser, url: &str, shot: &str) {
    let message = press_until_refused(url).await;
    let shield = eventually(WAIT, "the shield over the picked container", || async {
        let found = browser
            .eval(
                "const e = document.querySelector('.scene.guard[data-scene=\"shield\"]:not([data-test-seen])');
                 if (!e) return null; e.dataset.testSeen = '1';
                 return [e.dataset.victim, e.querySelector('.budget').textContent];",
            )
            .await;
        found.as_array().cloned()
    })
    .await;
    let victim = shield[0].as_str().expect("played over a pod's container").to_string();
    assert!(victim.starts_with("critical-prod-"), "{shield:?}");
    let plaque = shield[1].as_str().unwrap();
    assert!(
        plaque.contains("Kubernetes said no") && plaque.contains("critical-prod needs 3 healthy, has "),
        "{plaque}"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    browser.screenshot(shot).await;
    let note = browser.eval("return document.getElementById('health').textContent").await;
    assert!(note.as_str().unwrap().contains(&message), "the note says it in the budget's words: {note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_shows_the_budget_holding_and_a_drained_ship_sailing_out_and_back_day_and_night() {
    // Replacements take a few seconds, so the budget stays spent and the drone's deliveries show.
    let config = SimConfig { start_delay: Duration::from_millis(2500), start_jitter: Duration::ZERO, ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let app = TestApp::start(&cluster, &["--chaos-cooldown-seconds", "0"]).await;
    all_ready(&app.url).await;
    let browser = crate::browser::Browser::start().await;
    browser.goto(&format!("{}/", app.url)).await;
    let boxes = "return document.querySelectorAll('.box[data-pod]:not(.gone)').length";
    eventually(WAIT, "5 containers", || async { (browser.eval(boxes).await == 5).then_some(()) }).await;

    // The budget holds: by day, and by night.
    guard_on_the_kiosk(&browser, &app.url, "kiosk-guard.png").await;
    all_ready(&app.url).await;
    night(&app.url, true).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    guard_on_the_kiosk(&browser, &app.url, "kiosk-guard-night.png").await;
    night(&app.url, false).await;
    all_ready(&app.url).await;

    // A drain from the control panel: the containers are lifted off, the ship sails out.
    let (_, staff) = crate::dashboard::Staff::login(&app.url, conferenceli::config::DEMO_PASSWORD).await;
    let state = api_state(&app.url).await;
    let node = state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .max_by_key(|n| pods_on(&state, n).len())
        .unwrap();
    let (status, body) = staff.post(&format!("/control/nodes/{node}/drain"), &[], true).await;
    assert_eq!(status, 200, "{body}");
    let script = ship_of(&node);
    let mut shots = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if tokio::time::Instant::now() > deadline {
            let ship = browser.eval(&script).await;
            panic!("the ship never sailed out: {shots:?} {ship} {:?}", browser.console_problems().await);
        }
        let lifting = browser.eval("return !!document.querySelector('.drone[data-scene=\"container-lift\"]')").await;
        if lifting == true && !shots.contains_key("lift") {
            tokio::time::sleep(Duration::from_millis(2000)).await;
            shots.insert("lift", browser.screenshot("kiosk-node-lift.png").await);
        }
        let ship = browser.eval(&script).await;
        if ship[0] == "ship-departs" && !shots.contains_key("departs") {
            assert_eq!(ship[3], 0, "it sails once its containers are off");
            tokio::time::sleep(Duration::from_millis(1600)).await;
            shots.insert("departs", browser.screenshot("kiosk-node-departing.png").await);
        }
        if ship[1] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(shots.contains_key("lift") && shots.contains_key("departs"), "{shots:?}");
    assert_eq!(browser.eval(&script).await[4], true, "its berth's sign stays");
    all_ready(&app.url).await;
    eventually(WAIT, "the drained node's containers on the other ships", || async {
        let aboard = browser.eval(&format!(
            "return Array.from(document.querySelectorAll('.box[data-pod]:not(.gone)')).filter(b => b.dataset.status === 'Running' && b.closest('.ship').dataset.node !== '{node}').length"
        )).await;
        (aboard == 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(3500)).await; // the last drone gone
    let tally = browser.eval("return document.getElementById('tally-nodes').textContent").await;
    assert_eq!(tally, "3 / 3 nodes ready · 1 cordoned");
    browser.screenshot("kiosk-node-away.png").await;

    // Uncordoned, it sails back in.
    let (status, body) = staff.post(&format!("/control/nodes/{node}/uncordon"), &[], true).await;
    assert_eq!(status, 200, "{body}");
    eventually(WAIT, "the ship sailing back in", || async {
        (browser.eval(&script).await[0] == "ship-returns").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    browser.screenshot("kiosk-node-returning.png").await;
    eventually(WAIT, "the ship back at its berth", || async {
        let ship = browser.eval(&script).await;
        (ship[0].is_null() && ship[1] == false && ship[2] == false && ship[4] == false).then_some(())
    })
    .await;
    browser.screenshot("kiosk-node-back.png").await;

    // By night, drained by hand with kubectl: the kiosk follows the node watch, whoever drains.
    night(&app.url, true).await;
    let server = cluster.url();
    let drained = tokio::task::spawn_blocking({
        let (server, node) = (server.clone(), node.clone());
        move || crate::kubectl::run(&server, &["drain", &node, "--ignore-daemonsets", "--timeout", "60s"])
    });
    eventually(WAIT, "the ship away again", || async { (browser.eval(&script).await[1] == true).then_some(()) }).await;
    let output = drained.await.unwrap();
    assert!(output.contains(&format!("node/{node} drained")), "{output}");
    all_ready(&app.url).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    browser.screenshot("kiosk-node-away-night.png").await;
    crate::kubectl::run(&server, &["uncordon", &node]);
    eventually(WAIT, "back in at night", || async {
        let ship = browser.eval(&script).await;
        (ship[0] == "ship-returns").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    browser.screenshot("kiosk-node-returning-night.png").await;
    night(&app.url, false).await;
    drop(browser); // the console rule: no warning or error on the page
    app.stop().await;
}
