//! Events as kube-apiserver serves them: one storage seen through core `v1` and
//! `events.k8s.io/v1`, each in its own shape, with the same name, uid and resource version. Written
//! by kube-rs's `Recorder` (which speaks `events.k8s.io/v1`), by kube-rs's core `Api` and by plain
//! HTTP; read, patched, watched, selected and expired through either API.

use crate::common::{TestCluster, eventually, fast_config};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const NAMESPACE: &str = "demopod";

/// A `Recorder` as an operator makes one: its controller's name and its instance.
pub fn recorder(client: &kube::Client) -> Recorder {
    Recorder::new(client.clone(), Reporter { controller: "conferenceli".into(), instance: Some("booth-1".into()) })
}

/// The event the booth records when a node is lost under a pod.
pub fn node_lost() -> Event {
    Event {
        type_: EventType::Warning,
        reason: "NodeLost".into(),
        note: Some("node pico-2 is unreachable".into()),
        action: "Evicting".into(),
        secondary: None,
    }
}

/// A reference to one of the StatefulSet's pods, as a controller makes it.
pub async fn pod_reference(client: &kube::Client, name: &str) -> ObjectReference {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    pods.get(name).await.expect("the StatefulSet's pod").object_ref(&())
}

fn apis(cluster: &TestCluster) -> (Api<CoreEvent>, Api<NewEvent>) {
    (Api::namespaced(cluster.client.clone(), NAMESPACE), Api::namespaced(cluster.client.clone(), NAMESPACE))
}

/// Records [`node_lost`] on one of the pods with a fresh [`recorder`]; returns the pod's reference.
async fn record_node_lost(cluster: &TestCluster, pod: &str) -> ObjectReference {
    let reference = pod_reference(&cluster.client, pod).await;
    recorder(&cluster.client).publish(&node_lost(), &reference).await.unwrap();
    reference
}

/// The reasons of the events a field selector picks through `api`.
async fn reasons<K>(api: &Api<K>, selector: &str) -> Vec<String>
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let list = api.list(&ListParams::default().fields(selector)).await.unwrap();
    let reason = |event: &K| serde_json::to_value(event).unwrap()["reason"].as_str().unwrap_or_default().to_string();
    list.items.iter().map(reason).collect()
}

/// The one event with `reason` through the core API.
async fn core_event(events: &Api<CoreEvent>, reason: &str) -> CoreEvent {
    let list = events.list(&ListParams::default()).await.unwrap();
    let mut found: Vec<CoreEvent> = list.items.into_iter().filter(|e| e.reason.as_deref() == Some(reason)).collect();
    assert_eq!(found.len(), 1, "one {reason} event: {found:?}");
    found.remove(0)
}

fn chaos_kill(name: &str, victim: &str) -> CoreEvent {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": victim, "namespace": NAMESPACE},
        "reason": "ChaosKill", "message": "the big red button", "type": "Normal",
        "source": {"component": "chaos", "host": "conferenceli"}, "count": 3,
        "firstTimestamp": "2026-03-01T10:00:00Z", "lastTimestamp": "2026-03-01T10:05:00Z",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_recorded_event_is_a_core_event_with_kubes_field_names() {
    let cluster = TestCluster::start(fast_config()).await;
    let (core, new) = apis(&cluster);
    let reference = record_node_lost(&cluster, "critical-prod-0").await;

    let event = core_event(&core, "NodeLost").await;
    assert_eq!(event.involved_object, reference, "regarding is involvedObject");
    assert_eq!(event.message.as_deref(), Some("node pico-2 is unreachable"), "note is message");
    assert_eq!(event.reporting_component.as_deref(), Some("conferenceli"), "reportingController is reportingComponent");
    assert_eq!(event.reporting_instance.as_deref(), Some("booth-1"));
    assert_eq!((event.action.as_deref(), event.type_.as_deref()), (Some("Evicting"), Some("Warning")));
    assert!(event.event_time.is_some());
    assert_eq!((event.source, event.count, event.first_timestamp), (None, None, None), "nothing made up");

    let name = event.metadata.name.as_deref().unwrap();
    let same = new.get(name).await.unwrap();
    assert_eq!(same.metadata.uid, event.metadata.uid, "one object");
    assert_eq!(same.metadata.resource_version, event.metadata.resource_version, "one version");
    assert_eq!(same.regarding.as_ref(), Some(&reference));
}

#[tokio::test]
async fn a_core_event_reads_writes_and_goes_through_events_k8s_io() {
    let cluster = TestCluster::start(fast_config()).await;
    let (core, new) = apis(&cluster);
    let created = core.create(&PostParams::default(), &chaos_kill("kill-1", "critical-prod-1")).await.unwrap();

    let read = new.get("kill-1").await.unwrap();
    assert_eq!(read.regarding.as_ref(), Some(&created.involved_object));
    assert_eq!(read.note.as_deref(), Some("the big red button"));
    assert_eq!(read.deprecated_source, created.source);
    assert_eq!(read.deprecated_count, Some(3));
    assert_eq!(read.deprecated_first_timestamp, created.first_timestamp);
    assert_eq!(read.deprecated_last_timestamp, created.last_timestamp);
    assert_eq!(read.metadata.resource_version, created.metadata.resource_version);

    // Plain HTTP: the answer is the group's own kind and shape, item and list.
    let http = reqwest::Client::new();
    let base = format!("{}/apis/events.k8s.io/v1/namespaces/{NAMESPACE}/events", cluster.url());
    let one: Value = http.get(format!("{base}/kill-1")).send().await.unwrap().json().await.unwrap();
    assert_eq!((one["apiVersion"].as_str(), one["kind"].as_str()), (Some("events.k8s.io/v1"), Some("Event")));
    assert_eq!(one["deprecatedSource"], json!({"component": "chaos", "host": "conferenceli"}));
    for core_name in ["involvedObject", "message", "source", "count", "firstTimestamp"] {
        assert!(one.get(core_name).is_none(), "{core_name} in {one}");
    }
    let list: Value = http.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!((list["apiVersion"].as_str(), list["kind"].as_str()), (Some("events.k8s.io/v1"), Some("EventList")));
    assert_eq!(list["items"][0]["note"], "the big red button");

    // Patches in each API's shape: strategic merge through the new API, JSON patch through the
    // old, a replace through the new.
    let params = PatchParams::default();
    new.patch("kill-1", &params, &Patch::Strategic(json!({"note": "pressed twice"}))).await.unwrap();
    assert_eq!(core.get("kill-1").await.unwrap().message.as_deref(), Some("pressed twice"));
    let operations = serde_json::from_value(json!([{"op": "replace", "path": "/count", "value": 4}])).unwrap();
    core.patch("kill-1", &params, &Patch::<()>::Json(operations)).await.unwrap();
    let mut replaced = new.get("kill-1").await.unwrap();
    assert_eq!(replaced.deprecated_count, Some(4));
    replaced.note = Some("pressed thrice".into());
    let answer = new.replace("kill-1", &PostParams::default(), &replaced).await.unwrap();
    assert_eq!(answer.note.as_deref(), Some("pressed thrice"), "answered in the new API's shape");
    let stored = core.get("kill-1").await.unwrap();
    assert_eq!(stored.message.as_deref(), Some("pressed thrice"));
    assert_eq!(stored.metadata.resource_version, answer.metadata.resource_version);

    // Server-side apply through the new API: its fields, owned in its version, as kube records them.
    let apply =
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "kill-1"}, "note": "applied"});
    new.patch("kill-1", &PatchParams::apply("booth").force(), &Patch::Apply(&apply)).await.unwrap();
    let stored = core.get("kill-1").await.unwrap();
    assert_eq!(stored.message.as_deref(), Some("applied"));
    let managed = stored.metadata.managed_fields.unwrap_or_default();
    let entry = managed.iter().find(|m| m.manager.as_deref() == Some("booth")).expect("the applier's entry");
    assert_eq!((entry.operation.as_deref(), entry.api_version.as_deref()), (Some("Apply"), Some("events.k8s.io/v1")));
    assert!(entry.fields_v1.as_ref().is_some_and(|f| f.0.get("f:note").is_some()), "{entry:?}");

    // A create through the new API with a name the old one has is a conflict: one storage.
    let mut twin = read.clone();
    twin.metadata.resource_version = None;
    twin.metadata.uid = None;
    let conflict = new.create(&PostParams::default(), &twin).await.unwrap_err();
    assert!(matches!(conflict, kube::Error::Api(ref s) if s.code == 409), "{conflict:?}");

    core.delete("kill-1", &DeleteParams::default()).await.unwrap();
    assert!(new.get_opt("kill-1").await.unwrap().is_none(), "deleted through the old API, gone from the new");
}

#[tokio::test]
async fn a_watch_on_either_api_sees_writes_through_the_other() {
    let cluster = TestCluster::start(fast_config()).await;
    let (core, new) = apis(&cluster);
    let version = core.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();

    // The new API watches, with its own field labels, what the old one writes.
    let params = WatchParams::default().fields("regarding.name=critical-prod-1,reason=ChaosKill").timeout(10);
    let mut watched = new.watch(&params, &version).await.unwrap().boxed();
    core.create(&PostParams::default(), &chaos_kill("kill-0", "critical-prod-0")).await.unwrap();
    core.create(&PostParams::default(), &chaos_kill("kill-1", "critical-prod-1")).await.unwrap();
    let first = tokio::time::timeout(WAIT, watched.try_next()).await.unwrap().unwrap().expect("an event");
    let WatchEvent::Added(added) = first else { panic!("expected ADDED, got {first:?}") };
    assert_eq!(added.metadata.name.as_deref(), Some("kill-1"), "the selector left kill-0 out");
    assert_eq!(added.note.as_deref(), Some("the big red button"), "in the new API's shape");

    // The old API watches what the Recorder writes through the new one.
    let version = added.metadata.resource_version.unwrap();
    let params = WatchParams::default().fields("involvedObject.kind=Pod,reason=NodeLost").timeout(10);
    let mut watched = core.watch(&params, &version).await.unwrap().boxed();
    record_node_lost(&cluster, "critical-prod-2").await;
    let first = tokio::time::timeout(WAIT, watched.try_next()).await.unwrap().unwrap().expect("an event");
    let WatchEvent::Added(added) = first else { panic!("expected ADDED, got {first:?}") };
    assert_eq!(added.message.as_deref(), Some("node pico-2 is unreachable"), "in the old API's shape");
    assert_eq!(added.involved_object.name.as_deref(), Some("critical-prod-2"));
}

#[tokio::test]
async fn a_recorded_series_is_a_patch_seen_through_both_apis() {
    let cluster = TestCluster::start(fast_config()).await;
    let (core, new) = apis(&cluster);
    let reference = pod_reference(&cluster.client, "critical-prod-0").await;
    let recorder = recorder(&cluster.client);
    recorder.publish(&node_lost(), &reference).await.unwrap();
    let first = core_event(&core, "NodeLost").await;
    assert!(first.series.is_none(), "a singleton first");

    let version = first.metadata.resource_version.clone().unwrap();
    let mut watched = core.watch(&WatchParams::default().timeout(10), &version).await.unwrap().boxed();
    recorder.publish(&node_lost(), &reference).await.unwrap();
    assert_eq!(cluster.sim.stats.requests("patch", "events.events.k8s.io"), 1, "the Recorder patched");

    let change = tokio::time::timeout(WAIT, watched.try_next()).await.unwrap().unwrap().expect("an event");
    let WatchEvent::Modified(modified) = change else { panic!("expected MODIFIED, got {change:?}") };
    let series = modified.series.as_ref().expect("a series through the old API");
    assert_eq!(series.count, Some(2));
    assert!(series.last_observed_time.is_some());
    assert_eq!(modified.count, None, "a series counts in series.count, not in the old count");
    assert_eq!(modified.metadata.uid, first.metadata.uid);

    let name = first.metadata.name.as_deref().unwrap();
    let through_new = new.get(name).await.unwrap();
    assert_eq!(through_new.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(through_new.deprecated_count, None);
    assert_eq!(through_new.metadata.resource_version, modified.metadata.resource_version);
    assert_eq!(core.list(&ListParams::default()).await.unwrap().items.len(), 1, "one event, not two");
}

#[tokio::test]
async fn field_selectors_name_each_apis_fields() {
    let cluster = TestCluster::start(fast_config()).await;
    let (core, new) = apis(&cluster);
    record_node_lost(&cluster, "critical-prod-0").await;
    core.create(&PostParams::default(), &chaos_kill("kill-1", "critical-prod-1")).await.unwrap();

    assert_eq!(reasons(&core, "involvedObject.name=critical-prod-0").await, ["NodeLost"]);
    assert_eq!(reasons(&core, "involvedObject.kind=Pod,type!=Warning").await, ["ChaosKill"]);
    assert_eq!(
        reasons(&core, "source=conferenceli").await,
        ["NodeLost"],
        "source falls back to the reporting controller"
    );
    assert_eq!(reasons(&core, "source=chaos,reportingComponent=").await, ["ChaosKill"]);
    assert_eq!(reasons(&new, "regarding.name=critical-prod-1").await, ["ChaosKill"]);
    assert_eq!(reasons(&new, "reportingController=conferenceli,reason=NodeLost").await, ["NodeLost"]);
    assert_eq!(reasons(&new, "regarding.uid=none").await, Vec::<String>::new());

    for (selector, api) in [("regarding.name=x", "/api/v1"), ("involvedObject.name=x", "/apis/events.k8s.io/v1")] {
        let url = format!("{}{api}/namespaces/{NAMESPACE}/events?fieldSelector={selector}", cluster.url());
        let answer = reqwest::get(url).await.unwrap();
        assert_eq!(answer.status(), 400, "{selector} on {api}");
        let status: Value = answer.json().await.unwrap();
        let label = selector.trim_end_matches("=x");
        assert!(
            status["message"].as_str().unwrap().contains(&format!("field label not supported: {label}")),
            "{status}"
        );
    }
}

#[tokio::test]
async fn recorded_events_expire_from_both_apis() {
    let config = kube_sim::SimConfig { event_ttl: Duration::from_secs(1), ..fast_config() };
    let cluster = TestCluster::start(config).await;
    let (core, new) = apis(&cluster);
    record_node_lost(&cluster, "critical-prod-0").await;
    let name = core_event(&core, "NodeLost").await.metadata.name.unwrap();
    eventually(WAIT, "the event expired", || async {
        let gone = core.get_opt(&name).await.unwrap().is_none() && new.get_opt(&name).await.unwrap().is_none();
        gone.then_some(())
    })
    .await;
}
