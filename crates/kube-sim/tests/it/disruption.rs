//! Disruption budgets, evictions and cordons held to kube-apiserver's and
//! kube-controller-manager's behaviour, with kube-rs and over plain HTTP: the disruption
//! controller's status, `pods/eviction` (201, 429 with kube's message and cause, dry runs, the
//! `disruptedPods` bookkeeping, unready and Pending pods, two budgets), a storm of concurrent
//! evictions that never takes Ready pods below the budget, and cordoned nodes.

use crate::common::{TestCluster, eventually, fast_config};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, EvictParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const PODS: &str = "/api/v1/namespaces/demopod/pods";

fn budget(name: &str, spec: Value) -> PodDisruptionBudget {
    let mut spec = spec;
    spec["selector"] = json!({"matchLabels": {"app": "critical-prod"}});
    serde_json::from_value(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name}, "spec": spec}))
    .expect("a PodDisruptionBudget")
}

/// `[expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed]` once the controller has
/// seen the budget's current generation.
async fn counts_when_observed(budgets: &Api<PodDisruptionBudget>, name: &str, want: [i32; 4]) -> PodDisruptionBudget {
    eventually(WAIT, &format!("budget {name} at {want:?}"), || async {
        let pdb = budgets.get(name).await.ok()?;
        let status = pdb.status.as_ref()?;
        let counts = [status.expected_pods, status.desired_healthy, status.current_healthy, status.disruptions_allowed];
        (status.observed_generation == pdb.metadata.generation && counts == want.map(Some)).then_some(pdb)
    })
    .await
}

/// Posts an Eviction for `pod` the way kubectl does; returns the code, headers and body.
async fn evict(url: &str, pod: &str, query: &str, delete_options: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "demopod"}, "deleteOptions": delete_options});
    let response = reqwest::Client::new()
        .post(format!("{url}{PODS}/{pod}/eviction{query}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("an eviction request");
    let (code, headers) = (response.status().as_u16(), response.headers().clone());
    (code, headers, response.json().await.unwrap_or(Value::Null))
}

fn violation(needs: i32, has: i32) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
            "message": format!("The disruption budget critical-prod needs {needs} healthy pods and has {has} currently")}]},
        "code": 429})
}

fn ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn a_budget_reports_its_status_as_the_disruption_controller_does() {
    let cluster = TestCluster::start(fast_config()).await;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    let created =
        budgets.create(&PostParams::default(), &budget("critical-prod", json!({"minAvailable": 3}))).await.unwrap();
    let status = created.status.expect("a status from the start");
    assert_eq!(
        (status.disruptions_allowed, status.observed_generation),
        (Some(0), None),
        "nothing allowed before it is counted"
    );

    let pdb = counts_when_observed(&budgets, "critical-prod", [5, 3, 5, 2]).await;
    let condition = &pdb.status.unwrap().conditions.unwrap()[0];
    assert_eq!(
        (condition.type_.as_str(), condition.status.as_str(), condition.reason.as_str(), condition.observed_generation),
        ("DisruptionAllowed", "True", "SufficientPods", Some(1))
    );

    // A percentage of maxUnavailable is taken of the StatefulSet's replicas, rounded up: 40 % of 5.
    let spec = json!({"spec": {"minAvailable": null, "maxUnavailable": "40%"}});
    budgets.patch("critical-prod", &PatchParams::default(), &Patch::Merge(spec)).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 3, 5, 2]).await;
    let spec = json!({"spec": {"maxUnavailable": 0}});
    budgets.patch("critical-prod", &PatchParams::default(), &Patch::Merge(spec)).await.unwrap();
    let pdb = counts_when_observed(&budgets, "critical-prod", [5, 5, 5, 0]).await;
    let condition = &pdb.status.unwrap().conditions.unwrap()[0];
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "InsufficientPods"));

    // Status is the controller's: a client's is ignored on create and on the main resource.
    let mut bogus = budget("bogus", json!({"minAvailable": 1}));
    bogus.status = serde_json::from_value(
        json!({"disruptionsAllowed": 9, "currentHealthy": 9, "desiredHealthy": 0, "expectedPods": 9}),
    )
    .unwrap();
    let created = budgets.create(&PostParams::default(), &bogus).await.unwrap();
    assert_eq!(created.status.unwrap().disruptions_allowed, Some(0));
}

#[tokio::test]
async fn a_configured_budget_is_there_from_the_start_in_the_workloads_namespace() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/workload/pdb.yaml"));
    let pdb: Value = serde_norway::from_str(&manifest.unwrap()).unwrap();
    let cluster = TestCluster::start(kube_sim::SimConfig { objects: vec![pdb], ..fast_config() }).await;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    counts_when_observed(&budgets, "critical-prod", [5, 3, 5, 2]).await;
}

#[tokio::test]
async fn evictions_answer_201_and_429_as_kube_does_and_dry_runs_change_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let url = cluster.url();
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    budgets.create(&PostParams::default(), &budget("critical-prod", json!({"minAvailable": 5}))).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 5, 5, 0]).await;

    let (code, headers, body) = evict(&url, "critical-prod-1", "", json!({})).await;
    assert_eq!((code, body), (429, violation(5, 5)));
    assert!(headers.get("retry-after").is_none(), "kube suggests no wait for a budget that holds");
    let (code, _, body) = evict(&url, "critical-prod-1", "?dryRun=All", json!({})).await;
    assert_eq!((code, body), (429, violation(5, 5)), "a dry run is judged the same");

    let spec = json!({"spec": {"minAvailable": 4}});
    budgets.patch("critical-prod", &PatchParams::default(), &Patch::Merge(spec)).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 4, 5, 1]).await;

    // Dry runs, by the query or by the Eviction's deleteOptions: 201, and nothing changes.
    for (query, options) in [("?dryRun=All", json!({})), ("", json!({"dryRun": ["All"]}))] {
        let (code, _, body) = evict(&url, "critical-prod-1", query, options).await;
        assert_eq!(code, 201, "{body}");
        let pod = pods.get("critical-prod-1").await.unwrap();
        assert!(pod.metadata.deletion_timestamp.is_none());
        let conditions = pod.status.unwrap().conditions.unwrap();
        assert!(conditions.iter().all(|c| c.type_ != "DisruptionTarget"), "{conditions:?}");
    }
    let pdb = budgets.get("critical-prod").await.unwrap();
    assert_eq!(pdb.status.as_ref().unwrap().disruptions_allowed, Some(1));
    assert!(pdb.status.unwrap().disrupted_pods.is_none());

    // The budget records the pod (and takes the disruption) before the pod is deleted.
    let watch_from = pdb.metadata.resource_version.clone().unwrap();
    let (code, _, body) = evict(&url, "critical-prod-1", "", json!({"gracePeriodSeconds": 5})).await;
    assert_eq!(
        (code, body),
        (201, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
    );
    let pod = pods.get("critical-prod-1").await.unwrap();
    assert_eq!(pod.metadata.deletion_grace_period_seconds, Some(5), "the Eviction's deleteOptions");
    let conditions = pod.status.as_ref().unwrap().conditions.clone().unwrap();
    let target = conditions.iter().find(|c| c.type_ == "DisruptionTarget").expect("marked");
    assert_eq!(
        (target.status.as_str(), target.reason.as_deref(), target.message.as_deref()),
        ("True", Some("EvictionByEvictionAPI"), Some("Eviction API: evicting"))
    );
    let recorded = budgets
        .watch(&WatchParams::default().timeout(5), &watch_from)
        .await
        .unwrap()
        .try_filter_map(|event| async move {
            Ok(match event {
                WatchEvent::Modified(pdb) => {
                    pdb.status.filter(|s| s.disrupted_pods.is_some()).map(|s| (pdb.metadata.resource_version, s))
                }
                _ => None,
            })
        })
        .boxed()
        .next()
        .await
        .expect("the budget recorded the eviction")
        .unwrap();
    let (recorded_at, status) = recorded;
    assert!(status.disrupted_pods.unwrap().contains_key("critical-prod-1"));
    assert_eq!(status.disruptions_allowed, Some(0));
    let version = |rv: Option<String>| rv.unwrap().parse::<u64>().unwrap();
    assert!(version(recorded_at) < version(pod.metadata.resource_version), "recorded before the deletion");

    // The controller counts the pod out, and the budget holds the next one.
    counts_when_observed(&budgets, "critical-prod", [5, 4, 4, 0]).await;
    let (code, _, body) = evict(&url, "critical-prod-2", "", json!({})).await;
    assert_eq!((code, body), (429, violation(4, 4)));

    let (code, _, body) = evict(&url, "nope", "", json!({})).await;
    assert_eq!(
        (code, body["reason"].as_str(), body["message"].as_str()),
        (404, Some("NotFound"), Some(r#"pods "nope" not found"#))
    );
    let mismatch = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "critical-prod-3"}});
    let response = reqwest::Client::new()
        .post(format!("{url}{PODS}/critical-prod-2/eviction"))
        .body(mismatch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "name in URL does not match name in Eviction object"
    );
    let response = reqwest::get(format!("{url}{PODS}/critical-prod-2/eviction")).await.unwrap();
    assert_eq!(response.status(), 405, "create is the only verb of pods/eviction");
}

#[tokio::test]
async fn unready_pods_go_while_the_budget_is_healthy_or_always_allows() {
    // The lost nodes' pods stay theirs for the test's length: only evictions take them.
    let config = kube_sim::SimConfig { toleration: Duration::from_secs(60), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let url = cluster.url();
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    // pico-2 runs critical-prod-2 only: its node lost, the pod is not Ready.
    assert!(cluster.sim.set_node_health("pico-2", kube_sim::NodeHealth::NotReady));
    budgets.create(&PostParams::default(), &budget("critical-prod", json!({"minAvailable": 4}))).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 4, 4, 0]).await;

    // IfHealthyBudget: the budget has its 4 healthy pods, so the unready one may go, and takes nothing.
    let (code, _, body) = evict(&url, "critical-prod-2", "", json!({})).await;
    assert_eq!(code, 201, "{body}");
    assert!(pods.get("critical-prod-2").await.unwrap().metadata.deletion_timestamp.is_some());

    // pico-1 (critical-prod-1 and -4) lost too: 2 healthy of the 4 wanted; its pods stay ...
    assert!(cluster.sim.set_node_health("pico-1", kube_sim::NodeHealth::NotReady));
    counts_when_observed(&budgets, "critical-prod", [5, 4, 2, 0]).await;
    let (code, _, body) = evict(&url, "critical-prod-1", "", json!({})).await;
    assert_eq!((code, body), (429, violation(4, 2)));
    // ... unless the budget says AlwaysAllow.
    let spec = json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}});
    budgets.patch("critical-prod", &PatchParams::default(), &Patch::Merge(spec)).await.unwrap();
    let (code, _, body) = evict(&url, "critical-prod-1", "", json!({})).await;
    assert_eq!(code, 201, "{body}");
    // A Ready pod still needs an allowed disruption.
    let (code, _, _) = evict(&url, "critical-prod-0", "", json!({})).await;
    assert_eq!(code, 429);
}

#[tokio::test]
async fn pending_pods_are_evicted_whatever_the_budget_and_two_budgets_are_a_500() {
    let config = kube_sim::SimConfig { start_running: false, start_delay: Duration::from_secs(60), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let url = cluster.url();
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    budgets.create(&PostParams::default(), &budget("critical-prod", json!({"minAvailable": 5}))).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 5, 0, 0]).await;
    // Pending: it disrupts nothing by going.
    let (code, _, body) = evict(&url, "critical-prod-0", "", json!({})).await;
    assert_eq!(code, 201, "{body}");

    budgets.create(&PostParams::default(), &budget("another", json!({"maxUnavailable": 1}))).await.unwrap();
    // Running and Ready, so the budgets are asked: two of them, which kube does not support.
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let mut pod = pods.get("critical-prod-3").await.unwrap();
    pod.status =
        serde_json::from_value(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}))
            .unwrap();
    pods.replace_status("critical-prod-3", &PostParams::default(), &pod).await.unwrap();
    let (code, _, body) = evict(&url, "critical-prod-3", "", json!({})).await;
    assert_eq!(
        (code, body),
        (
            500,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            "code": 500})
        )
    );
}

/// Ready pods that are not being deleted, as a watch of the namespace's pods shows them.
struct ReadyCount {
    pods: BTreeMap<String, bool>,
}

impl ReadyCount {
    fn apply(&mut self, event: WatchEvent<Pod>) {
        match event {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                let up = ready(&pod) && pod.metadata.deletion_timestamp.is_none();
                self.pods.insert(pod.metadata.name.unwrap(), up);
            }
            WatchEvent::Deleted(pod) => {
                self.pods.remove(&pod.metadata.name.unwrap());
            }
            WatchEvent::Bookmark(_) | WatchEvent::Error(_) => {}
        }
    }

    fn ready(&self) -> usize {
        self.pods.values().filter(|up| **up).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_evictions_never_take_ready_pods_below_min_available() {
    let cluster = TestCluster::start(fast_config()).await;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "demopod");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    budgets.create(&PostParams::default(), &budget("critical-prod", json!({"minAvailable": 3}))).await.unwrap();
    counts_when_observed(&budgets, "critical-prod", [5, 3, 5, 2]).await;

    // Every change of every pod, in order: the lowest count of Ready pods at any moment.
    let list = pods.list(&Default::default()).await.unwrap();
    let mut count = ReadyCount { pods: BTreeMap::new() };
    for pod in list.items {
        count.apply(WatchEvent::Added(pod));
    }
    let lowest = Arc::new(AtomicUsize::new(count.ready()));
    let from = list.metadata.resource_version.unwrap();
    let mut events = pods.watch(&WatchParams::default().timeout(60), &from).await.unwrap().boxed();
    let observer = tokio::spawn({
        let lowest = lowest.clone();
        async move {
            while let Some(Ok(event)) = events.next().await {
                count.apply(event);
                lowest.fetch_min(count.ready(), Ordering::SeqCst);
            }
        }
    });

    // Five presses at once, again and again, for eight seconds; a refusal is an answer (kube-rs
    // would retry a 429 by itself).
    let mut config = kube::Config::new(cluster.url().parse().unwrap());
    config.default_retry = false;
    let presser: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "demopod");
    let (mut evicted, mut refused) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while tokio::time::Instant::now() < deadline {
        let presses = (0..5).map(|i| {
            let pods = presser.clone();
            tokio::spawn(async move { pods.evict(&format!("critical-prod-{i}"), &EvictParams::default()).await })
        });
        for press in futures::future::join_all(presses).await {
            match press.unwrap() {
                Ok(status) => {
                    assert_eq!(status.code, 201);
                    evicted += 1;
                }
                Err(kube::Error::Api(status)) if status.code == 429 => refused += 1,
                // Gone at the end of its grace period, not recreated yet.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(other) => panic!("an eviction failed otherwise: {other}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The last replacements come up, and the budget is whole again.
    counts_when_observed(&budgets, "critical-prod", [5, 3, 5, 2]).await;
    observer.abort();
    let lowest = lowest.load(Ordering::SeqCst);
    assert!(lowest >= 3, "Ready pods went down to {lowest}, below minAvailable 3");
    assert!(evicted >= 4, "the budget let evictions through as pods came back: {evicted}");
    assert!(refused > evicted, "and refused the rest: {refused} refused, {evicted} evicted");
}

#[tokio::test]
async fn a_cordoned_node_is_tainted_and_gets_no_new_pods_until_uncordoned() {
    let cluster = TestCluster::start(fast_config()).await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let cordon = |on: bool| json!({"spec": {"unschedulable": if on { json!(true) } else { Value::Null }}});
    nodes.patch("pico-1", &PatchParams::default(), &Patch::Strategic(cordon(true))).await.unwrap();
    let taint_keys = |node: Node| -> Vec<String> {
        node.spec
            .and_then(|s| s.taints)
            .unwrap_or_default()
            .into_iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect()
    };
    eventually(WAIT, "the cordon's taint", || async {
        let keys = taint_keys(nodes.get("pico-1").await.ok()?);
        (keys == ["node.kubernetes.io/unschedulable:NoSchedule"]).then_some(())
    })
    .await;

    // Its pods stay; a replacement of one goes elsewhere.
    pods.delete("critical-prod-1", &DeleteParams::default().grace_period(0)).await.unwrap();
    let node = eventually(WAIT, "the replacement scheduled", || async {
        let pod = pods.get("critical-prod-1").await.ok()?;
        pod.spec?.node_name
    })
    .await;
    assert_ne!(node, "pico-1");
    assert_eq!(pods.get("critical-prod-4").await.unwrap().spec.unwrap().node_name.as_deref(), Some("pico-1"));

    nodes.patch("pico-1", &PatchParams::default(), &Patch::Strategic(cordon(false))).await.unwrap();
    eventually(WAIT, "the taint gone", || async {
        taint_keys(nodes.get("pico-1").await.ok()?).is_empty().then_some(())
    })
    .await;
    // A lost node is tainted NoSchedule and NoExecute.
    assert!(cluster.sim.set_node_health("pico-2", kube_sim::NodeHealth::Unreachable));
    eventually(WAIT, "the unreachable taints", || async {
        let keys = taint_keys(nodes.get("pico-2").await.ok()?);
        (keys == ["node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"])
            .then_some(())
    })
    .await;
}
