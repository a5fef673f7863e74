//! The process-wide watch loop against the simulated API: initial sync, changes fanned out to
//! subscribers, resuming after the API server restarts, relisting after 410 Gone, and the app's
//! readiness following the watches.

use crate::common::{TestApp, TestCluster, eventually, fast_config};
use conferenceli::booth::BoothPart;
use conferenceli::cluster::watch::{watch_nodes, watch_pods};
use conferenceli::cluster::{Change, ClusterState, PodPhase, PodScope, Update, WatchRestarts};
use conferenceli::tasks::Tasks;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

struct Watching {
    state: ClusterState,
    restarts: Arc<WatchRestarts>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

fn watch(cluster: &TestCluster) -> Watching {
    let state = ClusterState::new();
    let restarts = Arc::new(WatchRestarts::default());
    let scope = PodScope { namespace: Some("demopod".into()), ..PodScope::default() };
    let tasks = vec![
        tokio::spawn(watch_pods(cluster.client.clone(), scope, state.clone(), restarts.clone())),
        tokio::spawn(watch_nodes(cluster.client.clone(), None, state.clone(), restarts.clone())),
    ];
    Watching { state, restarts, tasks }
}

async fn synced(state: &ClusterState) {
    eventually(WAIT, "the watches to sync", || async { state.is_synced().then_some(()) }).await;
}

fn phase_of(state: &ClusterState, name: &str) -> Option<PodPhase> {
    state.pods().into_iter().find(|p| p.name == name).map(|p| p.status)
}

#[tokio::test]
async fn subscribers_see_a_snapshot_then_a_kill_and_the_recreation() {
    let cluster = TestCluster::start(fast_config()).await;
    let watching = watch(&cluster);
    synced(&watching.state).await;
    let mut subscription = watching.state.subscribe();
    match subscription.next().await {
        Some(Update::Snapshot(snapshot)) => assert_eq!((snapshot.pods.len(), snapshot.nodes.len()), (5, 3)),
        other => panic!("expected a snapshot first, got {other:?}"),
    }
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    pods.delete("critical-prod-1", &DeleteParams::default()).await.unwrap();
    let mut steps = Vec::new();
    while steps.last() != Some(&"Running") {
        let update = tokio::time::timeout(WAIT, subscription.next()).await.expect("a change in time").unwrap();
        match update {
            Update::Change(Change::Pod { pod }) if pod.name == "critical-prod-1" => steps.push(match pod.status {
                PodPhase::Terminating => "Terminating",
                PodPhase::Pending => "Pending",
                PodPhase::Running if pod.ready => "Running",
                _ => continue,
            }),
            Update::Change(Change::PodDeleted { name, .. }) if name == "critical-prod-1" => steps.push("Deleted"),
            _ => {}
        }
        steps.dedup();
    }
    assert_eq!(steps, ["Terminating", "Deleted", "Pending", "Running"]);
    // One watch per resource, whatever the number of subscribers.
    let _more: Vec<_> = (0..50).map(|_| watching.state.subscribe()).collect();
    assert_eq!(cluster.sim.stats.open_watches("pods"), 1);
    assert_eq!(cluster.sim.stats.open_watches("nodes"), 1);
}

#[tokio::test]
async fn the_watch_resumes_after_the_api_server_restarts() {
    let mut cluster = TestCluster::start(fast_config()).await;
    let watching = watch(&cluster);
    synced(&watching.state).await;
    cluster.stop_server().await;
    // While the server is down the cluster moves on: a pod appears that the app has not seen.
    let pods_def = cluster.sim.store.registry.find("", "v1", "pods").unwrap();
    cluster
        .sim
        .store
        .create(
            &kube_sim::Write::to(&pods_def, "demopod"),
            json!({"metadata": {"name": "while-down"}, "spec": {"containers": []}}),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.start_server().await;
    eventually(WAIT, "the pod created while the API was down", || async { phase_of(&watching.state, "while-down") })
        .await;
    assert!(watching.restarts.pods.load(std::sync::atomic::Ordering::Relaxed) >= 1, "the interruption is counted");
}

#[tokio::test]
async fn a_410_gone_makes_the_watch_relist() {
    let mut cluster = TestCluster::start(fast_config()).await;
    let watching = watch(&cluster);
    synced(&watching.state).await;
    let lists_before = cluster.sim.stats.requests("list", "pods");
    cluster.stop_server().await;
    let pods_def = cluster.sim.store.registry.find("", "v1", "pods").unwrap();
    cluster
        .sim
        .store
        .create(
            &kube_sim::Write::to(&pods_def, "demopod"),
            json!({"metadata": {"name": "after-compaction"}, "spec": {"containers": []}}),
        )
        .unwrap();
    // The history the watch would resume from is gone: the API answers 410 and the client relists.
    cluster.sim.store.compact();
    cluster.start_server().await;
    eventually(WAIT, "the relisted pod", || async { phase_of(&watching.state, "after-compaction") }).await;
    assert!(cluster.sim.stats.requests("list", "pods") > lists_before, "a relist happened");
    assert_eq!(watching.state.pod_count(), 6);
}

#[tokio::test]
async fn readiness_follows_the_watches() {
    let mut cluster = TestCluster::start(fast_config()).await;
    cluster.stop_server().await;
    let app = TestApp::start(&cluster, &[]).await;
    let app_url = app.url.clone();
    let http = reqwest::Client::new();
    let not_ready = http.get(format!("{app_url}/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(http.get(format!("{app_url}/healthz")).send().await.unwrap().status(), 200);

    cluster.start_server().await;
    let ready: serde_json::Value = eventually(WAIT, "readiness", || async {
        let response = http.get(format!("{app_url}/readyz")).send().await.ok()?;
        if response.status() == 200 { response.json().await.ok() } else { None }
    })
    .await;
    assert_eq!(ready["checks"]["podsWatch"], "synced");
    assert_eq!(ready["checks"]["booth"], "synced");
    let state: serde_json::Value = http.get(format!("{app_url}/api/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["pods"].as_array().unwrap().len(), 5);
    assert_eq!(state["nodes"].as_array().unwrap().len(), 3);
    assert_eq!((state["killCount"].as_u64(), state["mode"].as_str()), (Some(0), Some("day")));
    let booths: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    assert!(booths.get("booth").await.is_ok(), "the app created its Booth");
    let page = http.get(&app_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("critical-prod-4") && page.contains("pico-2"));
    let metrics = http.get(format!("{app_url}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_pods{status=\"Running\"} 5"), "{metrics}");
    assert!(metrics.contains("conferenceli_nodes{status=\"KubeletReady\"} 3"), "{metrics}");

    app.stop().await;
}

#[tokio::test]
async fn booth_status_writes_from_many_parts_never_lose_an_increment() {
    use conferenceli::booth::{BoothHandle, BoothSpec};
    let cluster = TestCluster::start(fast_config()).await;
    let defaults = BoothSpec { campaign_name: "KubeCon".into(), ..BoothSpec::default() };
    let booth = BoothHandle::start(cluster.client.clone(), "conferenceli", "booth", defaults, &Tasks::default());
    eventually(WAIT, "the Booth to be created and read", || async { booth.synced().then_some(()) }).await;
    assert_eq!(booth.spec().campaign_name, "KubeCon");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let booth = booth.clone();
            tokio::spawn(async move {
                booth.add_kills(1);
                booth.report_health(
                    if i % 2 == 0 { BoothPart::Printer } else { BoothPart::BlinkStick },
                    true,
                    "Ready",
                    "",
                );
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    eventually(WAIT, "ten kills in the Booth status", || async { (booth.kill_count() == 10).then_some(()) }).await;
    let status = booth.current().unwrap().status.unwrap();
    let parts: Vec<_> = status.conditions.iter().map(|c| (c.type_.as_str(), c.status.as_str())).collect();
    assert_eq!(parts, [("BlinkStick", "True"), ("Printer", "True")]);
    booth.change_spec(|spec| spec.night_mode = true).await.unwrap();
    eventually(WAIT, "night mode", || async { booth.night_mode().then_some(()) }).await;
}

#[tokio::test]
async fn pods_of_a_lost_node_are_force_deleted_and_replaced_but_cordoned_nodes_and_other_namespaces_are_not() {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{ListParams, Patch, PatchParams, PostParams};
    // The simulated kubelet would evict after 30 s; remediation acts after 1 s.
    let config = kube_sim::SimConfig { toleration: Duration::from_secs(30), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let app = TestApp::start(&cluster, &["--node-loss-threshold-seconds", "1"]).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let others: Api<Pod> = Api::namespaced(cluster.client.clone(), "other");
    let bystander: Pod = serde_json::from_value(json!({"metadata": {"name": "bystander"},
        "spec": {"nodeName": "pico-2", "containers": [{"name": "c", "image": "busybox"}]}}))
    .unwrap();
    others.create(&PostParams::default(), &bystander).await.unwrap();
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    // pico-1 is cordoned for maintenance, then both PicoCluster nodes are unplugged.
    nodes
        .patch("pico-1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"unschedulable": true}})))
        .await
        .unwrap();
    let on = |node: &'static str| {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await.unwrap();
            list.items.into_iter().map(|p| p.metadata.uid.unwrap()).collect::<Vec<_>>()
        }
    };
    let (pico1_before, pico2_before) = (on("pico-1").await, on("pico-2").await);
    assert_eq!(pico2_before.len(), 1);
    for node in ["pico-1", "pico-2"] {
        assert!(cluster.sim.set_node_health(node, kube_sim::NodeHealth::Unreachable));
    }
    // critical-prod-2 (pico-2) is force-deleted and comes back on a Ready node.
    let replacement = eventually(WAIT, "critical-prod-2 replaced on another node", || async {
        let pod = pods.get("critical-prod-2").await.ok()?;
        let node = pod.spec.as_ref()?.node_name.clone()?;
        (pod.metadata.uid.as_ref() != pico2_before.first() && node != "pico-2").then_some(node)
    })
    .await;
    assert_eq!(replacement, "conferenceli");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(cluster.client.clone(), "demopod");
    let events = events.list(&ListParams::default()).await.unwrap();
    assert!(events.items.iter().any(|e| e.reason.as_deref() == Some("NodeLost")
        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("critical-prod-2")));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(on("pico-1").await, pico1_before, "a cordoned node's pods are left alone");
    assert!(others.get("bystander").await.is_ok(), "other namespaces are left alone");
    app.stop().await;
}
