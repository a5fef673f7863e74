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
