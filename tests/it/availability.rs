//! Self-healing, measured live, over real HTTP: the booth's trickle of requests through the
//! simulated workload Service (real workload servers per pod, endpoints, kube-proxy), ten kills
//! with almost no failed request, every Ready pod answering, a deleted pod getting no more
//! traffic once it left the endpoints, and `conferenceli workload` itself.

use crate::binary::BIN;
use crate::common::{TestApp, TestCluster, eventually, fast_config, free_port, settle, sigterm};
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use kube_sim::SimConfig;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn api_state(app: &TestApp) -> Value {
    http().get(format!("{}/api/state", app.url)).send().await.unwrap().json().await.unwrap()
}

/// The names of the pods the app sees Running and Ready.
fn ready_pods(state: &Value) -> BTreeSet<String> {
    state["pods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "Running" && p["ready"] == true)
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until every container of the cluster runs and has answered at least once.
async fn every_container_answered(cluster: &TestCluster, pods: usize) {
    settle(Duration::from_secs(60), "every pod's container to answer", || async {
        let answered = cluster.sim.network.answered();
        let silent: Vec<&String> = answered.iter().filter(|(_, n)| **n == 0).map(|(name, _)| name).collect();
        if answered.len() == pods && silent.is_empty() {
            Ok(())
        } else {
            Err(format!("{} containers, silent: {silent:?}", answered.len()))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_kills_keep_the_service_available_and_every_ready_pod_answers() {
    let cluster = TestCluster::start(fast_config()).await;
    let service = cluster.service_url();
    let flags =
        ["--availability-url", &service, "--availability-requests-per-second", "20", "--chaos-cooldown-seconds", "0.2"];
    let app = TestApp::start(&cluster, &flags).await;
    every_container_answered(&cluster, 5).await;
    let mut killed = Vec::new();
    for kill in 0..10 {
        // A fresh kill once the harbour is whole again, as at the booth.
        settle(Duration::from_secs(60), "five Ready pods", || async {
            let ready = ready_pods(&api_state(&app).await);
            if ready.len() == 5 { Ok(()) } else { Err(format!("ready: {ready:?}")) }
        })
        .await;
        let answer = app.press_until_answered(&format!("kill {kill}")).await;
        killed.push(answer["message"].as_str().unwrap().to_string());
    }
    // Every kill healed, and the replacements answer too: each Ready pod's current container.
    let state = settle(Duration::from_secs(60), "ten heals", || async {
        let state = api_state(&app).await;
        let heals = state["availability"]["heals"].as_array().map_or(0, Vec::len);
        if heals == 10 { Ok(state) } else { Err(format!("{heals} heals")) }
    })
    .await;
    for heal in state["availability"]["heals"].as_array().unwrap() {
        let seconds = heal["seconds"].as_f64().unwrap();
        assert!(seconds > 0.0, "{heal}");
        assert_eq!(heal["by"]["kind"], "button", "{heal}");
    }
    every_container_answered(&cluster, 5).await;
    let state = settle(Duration::from_secs(30), "every Ready pod in byPod", || async {
        let state = api_state(&app).await;
        let ready = ready_pods(&state);
        let answered: BTreeSet<String> = state["availability"]["byPod"].as_object().unwrap().keys().cloned().collect();
        if ready.len() == 5 && ready.is_subset(&answered) {
            Ok(state)
        } else {
            Err(format!("ready {ready:?}, answered {answered:?}"))
        }
    })
    .await;
    let availability = &state["availability"];
    let (requests, failures) = (availability["requests"].as_u64().unwrap(), availability["failures"].as_u64().unwrap());
    let answers: u64 = availability["byPod"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(answers + failures, requests, "{availability}");
    assert!(requests >= 50, "{availability}");
    assert!((failures as f64) / (requests as f64) < 0.01, "{failures} of {requests} failed: {availability}");
    let metrics = http().get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_availability_requests_total "), "{metrics}");
    assert!(metrics.contains("conferenceli_availability_failures_total "), "{metrics}");
    assert!(metrics.contains("conferenceli_availability_answers_total{pod=\"critical-prod-0\"}"), "{metrics}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_gets_no_requests_once_it_has_left_the_endpoints() {
    // A long grace period: the deleted pod's container keeps serving while it is Terminating.
    let cluster = TestCluster::start(SimConfig { grace_period_seconds: 120, ..fast_config() }).await;
    let service = cluster.service_url();
    let flags = ["--availability-url", &service, "--availability-requests-per-second", "20"];
    let app = TestApp::start(&cluster, &flags).await;
    every_container_answered(&cluster, 5).await;
    let endpoints: Api<Endpoints> = Api::namespaced(cluster.client.clone(), "demopod");
    let slices: Api<EndpointSlice> = Api::namespaced(cluster.client.clone(), "demopod");
    let addresses = |e: &Endpoints| -> Vec<String> {
        let subsets = e.subsets.clone().unwrap_or_default();
        subsets
            .iter()
            .flat_map(|s| s.addresses.clone().unwrap_or_default())
            .filter_map(|a| a.target_ref.and_then(|r| r.name))
            .collect()
    };
    assert_eq!(addresses(&endpoints.get("critical-prod").await.unwrap()).len(), 5);

    let victim = "critical-prod-2";
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    pods.delete(victim, &DeleteParams::default()).await.unwrap();
    settle(Duration::from_secs(20), "the victim to leave the endpoints", || async {
        let now = addresses(&endpoints.get("critical-prod").await.map_err(|e| e.to_string())?);
        if now.len() == 4 && !now.iter().any(|n| n == victim) { Ok(()) } else { Err(format!("{now:?}")) }
    })
    .await;
    let slice = slices.list(&ListParams::default().labels("kubernetes.io/service-name=critical-prod")).await.unwrap();
    let entry = slice.items[0]
        .endpoints
        .iter()
        .flatten()
        .find(|e| e.target_ref.as_ref().and_then(|r| r.name.as_deref()) == Some(victim))
        .expect("a terminating pod stays in the slice, not ready");
    let conditions = entry.conditions.clone().unwrap();
    assert_eq!((conditions.ready, conditions.terminating), (Some(false), Some(true)));

    // From now on: many more requests, none to the victim, though its container still listens.
    let before = cluster.sim.network.answered()[victim];
    let requests_before = api_state(&app).await["availability"]["requests"].as_u64().unwrap();
    let others_before: u64 = cluster.sim.network.answered().iter().filter(|(n, _)| *n != victim).map(|(_, n)| n).sum();
    eventually(Duration::from_secs(60), "a hundred more requests", || async {
        let requests = api_state(&app).await["availability"]["requests"].as_u64()?;
        (requests >= requests_before + 100).then_some(())
    })
    .await;
    let after = cluster.sim.network.answered();
    assert_eq!(after[victim], before, "no request reached {victim} after it left the endpoints");
    let others_after: u64 = after.iter().filter(|(n, _)| *n != victim).map(|(_, n)| n).sum();
    assert!(others_after >= others_before + 90, "the others answered: {others_before} → {others_after}");
    let state = api_state(&app).await;
    assert_eq!(state["availability"]["failures"], 0, "{}", state["availability"]);
    // The victim is alive (Terminating, within its grace period): it is the endpoints that spared it.
    let direct = cluster.sim.network.container_addr(victim).expect("the victim's container still runs");
    let answer = http().get(format!("http://{direct}/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(answer, format!("{victim}\n"));
    app.stop().await;
}

#[tokio::test]
async fn the_workload_answers_its_pod_name_and_stops_gracefully_on_sigterm() {
    let port = free_port();
    let mut child = std::process::Command::new(BIN)
        .args(["workload", "--listen-addr", &format!("127.0.0.1:{port}")])
        .env("POD_NAME", "critical-prod-7")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start conferenceli workload");
    let base = format!("http://127.0.0.1:{port}");
    let ready = settle(Duration::from_secs(20), "the workload to answer", || async {
        let response = http().get(format!("{base}/readyz")).send().await.map_err(|e| e.to_string())?;
        Ok(response.status())
    })
    .await;
    assert_eq!(ready, 200);
    let answer = http().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(answer.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(answer.text().await.unwrap(), "critical-prod-7\n");
    assert_eq!(http().get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    sigterm(child.id());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "a clean exit on SIGTERM: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_the_workload_service_and_counts_its_answers() {
    let (_demo, app, server) = crate::binary::start_demo(&["--availability-requests-per-second", "10"]);
    crate::kubectl::wait_for_api(&server).await;
    let services = crate::kubectl::run(&server, &["get", "services", "-n", "demopod", "-o", "json"]);
    let services: Value = serde_json::from_str(&services).unwrap();
    let service = &services["items"][0];
    assert_eq!(
        (service["metadata"]["name"].clone(), service["spec"]["type"].clone()),
        (json!("critical-prod"), json!("ClusterIP"))
    );
    assert!(service["spec"]["clusterIP"].as_str().is_some_and(|ip| ip != "None"), "{service}");
    let endpoints = crate::kubectl::run(&server, &["get", "endpoints", "-n", "demopod"]);
    assert!(endpoints.lines().any(|l| l.starts_with("critical-prod ")), "{endpoints}");
    let slices = crate::kubectl::run(&server, &["get", "endpointslices", "-n", "demopod", "-o", "json"]);
    let slices: Value = serde_json::from_str(&slices).unwrap();
    let ready =
        slices["items"][0]["endpoints"].as_array().unwrap().iter().filter(|e| e["conditions"]["ready"] == true).count();
    assert_eq!(ready, 5, "{slices}");
    // The demo's booth sends its trickle to the simulated Service and reads every pod's name.
    let state = settle(Duration::from_secs(60), "answers from all five pods", || async {
        let state: Value = http()
            .get(format!("{app}/api/state"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let pods = state["availability"]["byPod"].as_object().map_or(0, |m| m.len());
        if pods == 5 { Ok(state) } else { Err(format!("{}", state["availability"])) }
    })
    .await;
    assert_eq!(state["availability"]["failures"], 0, "{}", state["availability"]);
    assert_eq!(state["availability"]["enabled"], true);
}
