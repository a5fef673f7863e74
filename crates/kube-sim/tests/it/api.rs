//! kube-rs against the simulated API over HTTP: every verb on pods, nodes and Booth (with its
//! status), selectors, paging, watches, 410 Gone, errors as `Status`, and the StatefulSet's
//! delete/recreate timeline.

use crate::common::{Booth, BoothSpec, BoothStatus};
use crate::common::{TestCluster, eventually, fast_config};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::Status;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error Status, got {other:?}"),
    }
}

fn test_pod(name: &str, labels: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "terminationGracePeriodSeconds": 1},
    }))
    .unwrap()
}

#[tokio::test]
async fn pods_list_get_create_patch_replace_delete() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");

    let list = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 5);
    assert!(list.metadata.resource_version.is_some());
    let pod = pods.get("critical-prod-2").await.unwrap();
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));

    let created = pods.create(&PostParams::default(), &test_pod("scratch", json!({"team": "a"}))).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let again = pods.create(&PostParams::default(), &test_pod("scratch", json!({}))).await;
    let status = api_error(again);
    assert_eq!((status.code, status.reason.as_str()), (409, "AlreadyExists"));

    // JSON merge, strategic merge, JSON patch and server-side apply (kube-rs as "tests").
    let merged = pods
        .patch("scratch", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"merge": "yes"}}})))
        .await
        .unwrap();
    assert_eq!(merged.metadata.labels.as_ref().unwrap()["merge"], "yes");
    let strategic = pods
        .patch(
            "scratch",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"strategic": "yes"}}})),
        )
        .await
        .unwrap();
    assert_eq!(strategic.metadata.labels.as_ref().unwrap().len(), 3);
    let patched: serde_json::Value = reqwest::Client::new()
        .patch(format!("{}/api/v1/namespaces/demopod/pods/scratch", cluster.url()))
        .header("content-type", "application/json-patch+json")
        .body(r#"[{"op": "replace", "path": "/metadata/labels/team", "value": "b"}]"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["metadata"]["labels"]["team"], "b");
    let applied = pods
        .patch("scratch", &PatchParams::apply("tests").force(), &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "scratch", "annotations": {"applied": "yes"}}})))
        .await
        .unwrap();
    assert_eq!(applied.metadata.annotations.unwrap()["applied"], "yes");
    let managers: Vec<_> =
        applied.metadata.managed_fields.unwrap().into_iter().map(|m| (m.manager, m.operation)).collect();
    assert!(managers.contains(&(Some("tests".into()), Some("Apply".into()))), "{managers:?}");

    // A spec change bumps the generation; a stale resourceVersion is a 409 Conflict.
    let mut current = pods.get("scratch").await.unwrap();
    let stale = current.clone();
    current.spec.as_mut().unwrap().containers[0].image = Some("busybox:2".into());
    let replaced = pods.replace("scratch", &PostParams::default(), &current).await.unwrap();
    assert_eq!(replaced.metadata.generation, Some(2));
    let status = api_error(pods.replace("scratch", &PostParams::default(), &stale).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    // The pod was scheduled and started by the simulated kubelet; a graceful delete marks it first.
    eventually(WAIT, "the new pod to run", || async {
        let pod = pods.get("scratch").await.ok()?;
        (pod.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    let deleted = pods.delete("scratch", &DeleteParams::default()).await.unwrap();
    let marked = deleted.left().expect("a graceful delete returns the pod");
    assert!(marked.metadata.deletion_timestamp.is_some());
    eventually(WAIT, "the pod to go after its grace period", || async {
        matches!(pods.get("scratch").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(())
    })
    .await;
    let status = api_error(pods.get("scratch").await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
}

#[tokio::test]
async fn nodes_and_their_status() {
    let cluster = TestCluster::start(fast_config()).await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let list = nodes.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = list.items.iter().map(|n| n.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, ["conferenceli", "pico-1", "pico-2"]);
    let node = nodes.get("pico-1").await.unwrap();
    let info = node.status.unwrap().node_info.unwrap();
    assert_eq!(info.architecture, "arm64");
    let cordoned = nodes
        .patch("pico-1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"unschedulable": true}})))
        .await
        .unwrap();
    assert_eq!(cordoned.spec.unwrap().unschedulable, Some(true));
    let status = nodes
        .patch_status(
            "pico-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"nodeInfo": {"kernelVersion": "7.0"}}})),
        )
        .await
        .unwrap();
    assert_eq!(status.status.unwrap().node_info.unwrap().kernel_version, "7.0");
}

#[tokio::test]
async fn booth_with_its_status_subresource() {
    let cluster = TestCluster::start(fast_config()).await;
    let booths: Api<Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    booths.create(&PostParams::default(), &Booth::new("booth", BoothSpec::default())).await.unwrap();
    let with_status = booths
        .patch_status("booth", &PatchParams::default(), &Patch::Merge(json!({"status": {"killCount": 7}})))
        .await
        .unwrap();
    assert_eq!(with_status.status, Some(BoothStatus { kill_count: 7, ..BoothStatus::default() }));
    // Writes to the main resource never change status, and status writes never change spec.
    let spec = booths
        .patch(
            "booth",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"nightMode": true}, "status": {"killCount": 99}})),
        )
        .await
        .unwrap();
    assert_eq!((spec.spec.night_mode, spec.status.as_ref().unwrap().kill_count), (true, 7));
    assert_eq!(spec.metadata.generation, Some(2));
    let mut booth = booths.get_status("booth").await.unwrap();
    booth.status = Some(BoothStatus { kill_count: 8, ..BoothStatus::default() });
    booth.spec.night_mode = false;
    let replaced = booths.replace_status("booth", &PostParams::default(), &booth).await.unwrap();
    assert_eq!((replaced.spec.night_mode, replaced.status.unwrap().kill_count), (true, 8));
    assert_eq!(booths.list(&ListParams::default()).await.unwrap().items.len(), 1);
    booths.delete("booth", &DeleteParams::default()).await.unwrap();
    assert_eq!(api_error(booths.get("booth").await).code, 404);
}

#[tokio::test]
async fn label_and_field_selectors_on_list_and_watch() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let names = |list: kube::core::ObjectList<Pod>| {
        list.items.into_iter().map(|p| p.metadata.name.unwrap()).collect::<Vec<_>>()
    };
    let on_pico1 = pods.list(&ListParams::default().fields("spec.nodeName=pico-1")).await.unwrap();
    assert_eq!(names(on_pico1), ["critical-prod-1", "critical-prod-4"]);
    let selected = pods
        .list(&ListParams::default().labels("app=critical-prod,apps.kubernetes.io/pod-index in (0,3),!missing"))
        .await
        .unwrap();
    assert_eq!(names(selected), ["critical-prod-0", "critical-prod-3"]);
    let not = pods
        .list(
            &ListParams::default().labels("apps.kubernetes.io/pod-index notin (0,1,2)").fields("status.phase!=Pending"),
        )
        .await
        .unwrap();
    assert_eq!(names(not), ["critical-prod-3", "critical-prod-4"]);

    // A watch with a label selector sees an object that stops matching as DELETED.
    let list = pods.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = pods.watch(&WatchParams::default().labels("tier=front").timeout(10), &rv).await.unwrap().boxed();
    pods.patch(
        "critical-prod-2",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}})),
    )
    .await
    .unwrap();
    pods.patch(
        "critical-prod-2",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "back"}}})),
    )
    .await
    .unwrap();
    let first = stream.try_next().await.unwrap().unwrap();
    assert!(
        matches!(first, WatchEvent::Added(ref p) if p.metadata.name.as_deref() == Some("critical-prod-2")),
        "{first:?}"
    );
    let second = stream.try_next().await.unwrap().unwrap();
    assert!(matches!(second, WatchEvent::Deleted(_)), "{second:?}");

    for bad in ["app in (x", "bad key=1", "a=b=c"] {
        let status = api_error(pods.list(&ListParams::default().labels(bad)).await);
        assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"), "{bad}");
    }
    let status = api_error(pods.list(&ListParams::default().fields("spec.containers=x")).await);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
}

#[tokio::test]
async fn paging_with_limit_and_continue() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let first = pods.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().expect("a continue token");
    let second = pods.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
    let third = pods
        .list(&ListParams::default().limit(2).continue_token(second.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert!(third.metadata.continue_.is_none());
    assert_eq!(second.metadata.resource_version, first.metadata.resource_version);
}

#[tokio::test]
async fn watch_streams_changes_and_bookmarks_and_answers_410_for_old_versions() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let rv = pods.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream =
        pods.watch(&WatchParams { bookmarks: true, ..WatchParams::default() }.timeout(10), &rv).await.unwrap().boxed();
    pods.create(&PostParams::default(), &test_pod("watched", json!({}))).await.unwrap();
    let mut seen = Vec::new();
    let mut node_rv = u64::MAX;
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Added(p) if p.metadata.name.as_deref() == Some("watched") => seen.push("ADDED"),
            WatchEvent::Modified(p) if p.metadata.name.as_deref() == Some("watched") => {
                seen.push("MODIFIED");
                pods.delete("watched", &DeleteParams::default().grace_period(0)).await.unwrap();
            }
            WatchEvent::Deleted(p) if p.metadata.name.as_deref() == Some("watched") => {
                seen.push("DELETED");
                // A change this watch does not cover moves the version on: a BOOKMARK says so.
                let nodes: Api<Node> = Api::all(cluster.client.clone());
                let node = nodes
                    .patch(
                        "pico-1",
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
                    )
                    .await
                    .unwrap();
                node_rv = node.metadata.resource_version.unwrap().parse().unwrap();
            }
            WatchEvent::Bookmark(b)
                if seen.contains(&"DELETED") && b.metadata.resource_version.parse::<u64>().unwrap() >= node_rv =>
            {
                seen.push("BOOKMARK");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(seen.first(), Some(&"ADDED"));
    assert!(seen.ends_with(&["DELETED", "BOOKMARK"]), "{seen:?}");

    // History compacted: a watch from the old version gets an ERROR event with a 410 Status.
    cluster.sim.store.compact();
    let mut stream = pods.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(status)) => assert_eq!((status.code, status.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_status_objects() {
    let cluster = TestCluster::start(fast_config()).await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1/namespaces/demopod/pods", cluster.url());
    let cases: [(reqwest::Method, String, &str, &str); 5] = [
        (reqwest::Method::POST, base.clone(), "application/json", "{not json"),
        (reqwest::Method::POST, base.clone(), "application/json", "[1,2]"),
        (reqwest::Method::POST, base.clone(), "application/json", r#"{"kind":"Node","metadata":{"name":"x"}}"#),
        (reqwest::Method::PATCH, format!("{base}/critical-prod-0"), "application/merge-patch+json", "{oops"),
        (reqwest::Method::PATCH, format!("{base}/critical-prod-0"), "application/json-patch+json", r#"{"op":"dance"}"#),
    ];
    for (method, url, content_type, body) in cases {
        let response =
            http.request(method.clone(), &url).header("content-type", content_type).body(body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{method} {body}");
        let status: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            (status["kind"].as_str(), status["reason"].as_str(), status["code"].as_u64()),
            (Some("Status"), Some("BadRequest"), Some(400)),
            "{body}"
        );
    }
    let unknown = http.get(format!("{}/api/v1/widgets", cluster.url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let status: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(status["reason"], "NotFound");
}

#[tokio::test]
async fn discovery_documents_list_what_is_served() {
    let cluster = TestCluster::start(fast_config()).await;
    let discovery = kube::Discovery::new(cluster.client.clone()).run().await.unwrap();
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            found.push((
                resource.group.clone(),
                resource.plural.clone(),
                caps.subresources.iter().any(|(s, _)| s.plural == "status"),
            ));
        }
    }
    for expected in [
        ("", "pods", true),
        ("", "nodes", true),
        ("", "events", false),
        ("conferenceli.dev", "booths", true),
        ("events.k8s.io", "events", false),
    ] {
        assert!(
            found.iter().any(|(g, p, s)| (g.as_str(), p.as_str(), *s) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    let version = cluster.client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn a_deleted_statefulset_pod_terminates_and_comes_back() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let before = pods.get("critical-prod-3").await.unwrap();
    let rv = before.metadata.resource_version.clone().unwrap();
    let mut stream = pods
        .watch(&WatchParams::default().fields("metadata.name=critical-prod-3").timeout(20), &rv)
        .await
        .unwrap()
        .boxed();
    pods.delete("critical-prod-3", &DeleteParams::default()).await.unwrap();

    let mut timeline: Vec<String> = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        let step = match &event {
            WatchEvent::Added(p) | WatchEvent::Modified(p) => {
                let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                let ready = p
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                if p.metadata.deletion_timestamp.is_some() {
                    "Terminating".to_string()
                } else if ready {
                    format!("{phase}+Ready")
                } else {
                    phase
                }
            }
            WatchEvent::Deleted(_) => "Deleted".into(),
            _ => continue,
        };
        if timeline.last() != Some(&step) {
            timeline.push(step);
        }
        if timeline.last().map(String::as_str) == Some("Running+Ready") {
            break;
        }
    }
    assert_eq!(timeline, ["Terminating", "Deleted", "Pending", "Running+Ready"]);
    let after = pods.get("critical-prod-3").await.unwrap();
    assert_ne!(after.metadata.uid, before.metadata.uid, "a new pod, not the old one");
}

#[tokio::test]
async fn a_lost_node_keeps_its_pods_terminating_until_they_are_force_deleted() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let http = reqwest::Client::new();
    let response = http.post(format!("{}/sim/nodes/pico-2/unreachable", cluster.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let node = nodes.get("pico-2").await.unwrap();
    let ready = node.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "Unknown");

    // After the 2 s toleration the pod is evicted but, with its kubelet gone, stays Terminating.
    eventually(WAIT, "critical-prod-2 to be evicted", || async {
        pods.get("critical-prod-2").await.ok()?.metadata.deletion_timestamp.map(|_| ())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(pods.get("critical-prod-2").await.unwrap().metadata.deletion_timestamp.is_some(), "still Terminating");

    pods.delete("critical-prod-2", &DeleteParams::default().grace_period(0)).await.unwrap();
    let replacement = eventually(WAIT, "the replacement to run elsewhere", || async {
        let pod = pods.get("critical-prod-2").await.ok()?;
        let running = pod.status.as_ref()?.phase.as_deref() == Some("Running");
        running.then(|| pod.spec.unwrap().node_name.unwrap())
    })
    .await;
    assert_ne!(replacement, "pico-2");
    let bad = http.post(format!("{}/sim/nodes/pico-2/sleepy", cluster.url())).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn sim_stats_count_requests_and_open_watches() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    pods.list(&ListParams::default()).await.unwrap();
    let stream = pods.watch(&WatchParams::default().timeout(30), "0").await.unwrap().boxed();
    let stats: serde_json::Value =
        reqwest::get(format!("{}/sim/stats", cluster.url())).await.unwrap().json().await.unwrap();
    assert_eq!(stats["openWatches"]["pods"], 1);
    assert_eq!(stats["requests"]["list"]["pods"], 1);
    drop(stream);
    eventually(WAIT, "the watch to be counted closed", || async {
        (cluster.sim.stats.open_watches("pods") == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn kube_runtime_reflector_and_controller_work_against_the_simulated_api() {
    use futures::StreamExt;
    use kube::runtime::controller::{Action, Controller};
    use kube::runtime::{WatchStreamExt, reflector, watcher};
    use std::sync::Arc;

    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher::watcher(pods, watcher::Config::default())).applied_objects();
    let drain = tokio::spawn(stream.for_each(|_| async {}));
    tokio::time::timeout(WAIT, reader.wait_until_ready()).await.unwrap().unwrap();
    assert_eq!(reader.state().len(), 5);
    drain.abort();

    // A Controller that mirrors spec.nightMode into the kill counter, to prove reconcile + status.
    let booths: Api<Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    booths.create(&PostParams::default(), &Booth::new("booth", BoothSpec { night_mode: true })).await.unwrap();
    async fn reconcile(booth: Arc<Booth>, api: Arc<Api<Booth>>) -> Result<Action, kube::Error> {
        let kills = if booth.spec.night_mode { 42 } else { 0 };
        let patch = Patch::Merge(json!({"status": {"killCount": kills}}));
        api.patch_status(&booth.metadata.name.clone().unwrap(), &PatchParams::default(), &patch).await?;
        Ok(Action::await_change())
    }
    fn error_policy(_: Arc<Booth>, _: &kube::Error, _: Arc<Api<Booth>>) -> Action {
        Action::requeue(Duration::from_millis(100))
    }
    let controller = Controller::new(booths.clone(), watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(booths.clone()))
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);
    eventually(WAIT, "the controller to reconcile", || async {
        let booth = booths.get_status("booth").await.ok()?;
        (booth.status?.kill_count == 42).then_some(())
    })
    .await;
    booths.patch("booth", &PatchParams::default(), &Patch::Merge(json!({"spec": {"nightMode": false}}))).await.unwrap();
    eventually(WAIT, "the controller to react to the spec change", || async {
        let booth = booths.get_status("booth").await.ok()?;
        (booth.status?.kill_count == 0).then_some(())
    })
    .await;
    controller.abort();
}

#[tokio::test]
async fn a_restart_cuts_every_watch_refuses_connections_then_answers_410_for_old_versions() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let rv = pods.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = pods.watch(&WatchParams::default().timeout(60), &rv).await.unwrap().boxed();
    // A change after `rv`, which the restarted server's empty history no longer covers.
    pods.create(&PostParams::default(), &test_pod("before-the-restart", json!({}))).await.unwrap();
    let http = reqwest::Client::new();
    let answer = http.post(format!("{}/sim/restart?downMillis=800", cluster.url())).send().await.unwrap();
    assert_eq!(answer.status(), 202);
    let again = http.post(format!("{}/sim/restart", cluster.url())).send().await.unwrap();
    assert_eq!(again.status(), 409, "one restart at a time");

    // The open watch ends (an error or the end of the stream), as when an API server goes away.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match stream.try_next().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch was cut");
    let refused = reqwest::Client::new().get(format!("{}/version", cluster.url())).send().await;
    assert!(refused.is_err_and(|e| e.is_connect()), "nobody answers while the server is down");

    // Back with the same objects, and the history gone: resuming from the old version is 410.
    let listed = eventually(WAIT, "the API back", || async { pods.list(&ListParams::default()).await.ok() }).await;
    assert_eq!(listed.items.len(), 6);
    let mut stream = pods.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(status)) => assert_eq!(status.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    let too_long = http.post(format!("{}/sim/restart?downMillis=61000", cluster.url())).send().await.unwrap();
    assert_eq!(too_long.status(), 400);
}

#[tokio::test]
async fn events_expire_after_their_ttl() {
    let config = kube_sim::SimConfig { event_ttl: Duration::from_secs(1), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(cluster.client.clone(), "demopod");
    let event = serde_json::from_value(json!({
        "metadata": {"name": "short-lived"},
        "involvedObject": {"kind": "Pod", "name": "critical-prod-0", "namespace": "demopod"},
        "reason": "ChaosKill", "message": "test", "type": "Normal",
    }))
    .unwrap();
    events.create(&PostParams::default(), &event).await.unwrap();
    assert!(events.get_opt("short-lived").await.unwrap().is_some(), "there at first");
    eventually(WAIT, "the event expired", || async {
        events.get_opt("short-lived").await.unwrap().is_none().then_some(())
    })
    .await;
}
