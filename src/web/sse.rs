//! Server-sent event streams, all fed by the one [`crate::cluster::ClusterState`] subscription mechanism (so a
//! thousand browsers cost the Kubernetes API nothing):
//!
//! - `GET /stream_pods`, `GET /stream_nodes`: the upstream dashboard's streams. One JSON object
//!   per `data:` line with the upstream field names; a new client first receives every current
//!   pod (node); a deleted one is sent once more with `"status": "Deleted"`.
//! - `GET /stream`: the kiosk's feed with named events: `snapshot` (everything, replaces what
//!   the page shows, and the page's build: a kiosk served another one reloads itself),
//!   `pod`, `podDeleted`, `node`, `nodeDeleted`, `booth` (kill counter and mode, flag, call to
//!   action, show pace), `chaos` (a pod was picked / killed / refused by its disruption budget,
//!   by whom, dry run or not, the budget that held),
//!   `scene` (an event of [`crate::theatre`] to play: `{"name"}`, and `"pod"` for a kill
//!   animation), `availability` (the workload's answers and heal times, at most once a second),
//!   `announce` (a raffle winner or a visitor's press: first name and raffle code only).
//!
//! Every stream sets `retry:` and sends a heartbeat comment every 15 s. Payloads are built by
//! serde. This module reads the cluster state, the Booth, the chaos bus, the theatre's channel
//! and the visitor announcements only.
//!
//! May call: `crate::availability`, `crate::booth`, `crate::cluster`, `crate::theatre`,
//! `crate::visitor`.

use super::kiosk::KioskState;
use super::metrics::Stream as StreamName;
use super::{AppState, StreamsState};
use crate::availability::AvailabilityNotice;
use crate::cluster::{Change, ChaosEvent, ChaosListener, NodeView, PodView, Presser, Snapshot, Subscription, Update};
use crate::theatre::{Cue, furniture};
use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt, stream};
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;

/// Interval of the heartbeat comments (proxies and browsers drop silent connections).
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting.
pub const RETRY: Duration = Duration::from_secs(2);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stream_pods", get(stream_pods))
        .route("/stream_nodes", get(stream_nodes))
        .route("/stream", get(stream_kiosk))
}

type Events = Vec<Event>;

/// Counts an open stream for as long as it lives.
struct OpenStream(Gauge);

impl OpenStream {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// An SSE response for `state`'s stream `name`: `retry:` first, then `events`, until the
/// client leaves or the server shuts down.
fn sse<S: Stream<Item = Events> + Send + 'static>(
    state: &StreamsState,
    name: StreamName,
    events: S,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<S>> {
    sse_response(state.web_metrics.sse_clients(name), state.shutdown.clone(), events)
}

fn sse_response<S: Stream<Item = Events> + Send + 'static>(
    gauge: Gauge,
    shutdown: tokio_util::sync::CancellationToken,
    events: S,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<S>> {
    let open = OpenStream::new(gauge);
    let first = stream::once(async { vec![Event::default().retry(RETRY).comment("connected")] });
    let all = first.chain(events).take_until(shutdown.cancelled_owned()).flat_map(stream::iter).map(move |event| {
        let _counted = &open;
        Ok(event)
    });
    Sse::new(all).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
}

fn data<T: Serialize>(value: &T) -> Event {
    Event::default().json_data(value).unwrap_or_else(|_| Event::default().comment("unserialisable"))
}

fn named<T: Serialize>(name: &str, value: &T) -> Event {
    data(value).event(name)
}

/// One `data:` line of an upstream stream.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Record {
    Pod(PodView),
    Node(NodeView),
    /// A pod or node that is gone (`namespace` only for pods).
    Deleted {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        status: &'static str,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Pods,
    Nodes,
}

type Key = (String, String);

/// What one upstream client has been told, so that a fresh snapshot (after lagging) also
/// reports what disappeared meanwhile. Pure: updates in, records out.
struct UpstreamView {
    known: BTreeSet<Key>,
    kind: Kind,
}

impl UpstreamView {
    fn deleted(&self, key: &Key) -> Record {
        let namespace = (self.kind == Kind::Pods).then(|| key.0.clone());
        Record::Deleted { name: key.1.clone(), namespace, status: "Deleted" }
    }

    fn on_snapshot(&mut self, snapshot: &Snapshot) -> Vec<Record> {
        let current: Vec<(Key, Record)> = match self.kind {
            Kind::Pods => {
                snapshot.pods.iter().map(|p| ((p.namespace.clone(), p.name.clone()), Record::Pod(p.clone()))).collect()
            }
            Kind::Nodes => {
                snapshot.nodes.iter().map(|n| ((String::new(), n.name.clone()), Record::Node(n.clone()))).collect()
            }
        };
        let keys: BTreeSet<Key> = current.iter().map(|(k, _)| k.clone()).collect();
        let mut records: Vec<Record> = self.known.difference(&keys).map(|k| self.deleted(k)).collect();
        records.extend(current.into_iter().map(|(_, r)| r));
        self.known = keys;
        records
    }

    fn on_change(&mut self, change: Change) -> Vec<Record> {
        let (key, record) = match (change, self.kind) {
            (Change::Pod { pod }, Kind::Pods) => ((pod.namespace.clone(), pod.name.clone()), Record::Pod(pod)),
            (Change::Node { node }, Kind::Nodes) => ((String::new(), node.name.clone()), Record::Node(node)),
            (Change::PodDeleted { namespace, name }, Kind::Pods) => {
                let key = (namespace, name);
                self.known.remove(&key);
                return vec![self.deleted(&key)];
            }
            (Change::NodeDeleted { name }, Kind::Nodes) => {
                let key = (String::new(), name);
                self.known.remove(&key);
                return vec![self.deleted(&key)];
            }
            _ => return Vec::new(),
        };
        self.known.insert(key);
        vec![record]
    }
}

/// An upstream stream: a subscription and what its client knows.
struct UpstreamFeed {
    subscription: Subscription,
    view: UpstreamView,
}

impl UpstreamFeed {
    async fn next(mut self) -> Option<(Events, Self)> {
        let records = match self.subscription.next().await? {
            Update::Snapshot(snapshot) => self.view.on_snapshot(&snapshot),
            Update::Change(change) => self.view.on_change(change),
        };
        Some((records.iter().map(data).collect(), self))
    }
}

fn upstream(subscription: Subscription, kind: Kind) -> impl Stream<Item = Events> + Send + 'static {
    let feed = UpstreamFeed { subscription, view: UpstreamView { known: BTreeSet::new(), kind } };
    stream::unfold(feed, UpstreamFeed::next)
}

async fn stream_pods(State(state): State<StreamsState>) -> impl axum::response::IntoResponse {
    sse(&state, StreamName::pods, upstream(state.cluster.subscribe(), Kind::Pods))
}

async fn stream_nodes(State(state): State<StreamsState>) -> impl axum::response::IntoResponse {
    sse(&state, StreamName::nodes, upstream(state.cluster.subscribe(), Kind::Nodes))
}

/// The kiosk's counter and mode.
#[derive(Serialize, PartialEq, Clone)]
#[serde(rename_all = "camelCase")]
struct BoothEvent {
    kill_count: u64,
    mode: super::DisplayMode,
    flag: String,
    call_to_action: String,
    show_pace: crate::booth::ShowPace,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChaosNotice<'a> {
    phase: &'static str,
    name: &'a str,
    index: Option<u32>,
    node: Option<&'a str>,
    by: &'a Presser,
    /// Chaos safety's rehearsal: picked, never deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
    /// `refused`: the disruption budget that held (`{budget, needs, has, message}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<&'a crate::cluster::BudgetRefusal>,
}

#[derive(Serialize)]
struct NameOnly<'a> {
    name: &'a str,
    namespace: &'a str,
}

/// The kiosk's combined feed.
struct KioskFeed {
    state: StreamsState,
    subscription: Subscription,
    /// `None` once the Booth follower is gone (shutdown): the cluster is still served.
    booth: Option<tokio::sync::watch::Receiver<Option<crate::booth::Booth>>>,
    last_booth: Option<BoothEvent>,
    scenes: broadcast::Receiver<Cue>,
    chaos: ChaosListener,
    availability: broadcast::Receiver<AvailabilityNotice>,
    /// The visitor announcements (raffle winner, a press from a phone): `announce` events.
    announcements: broadcast::Receiver<crate::visitor::announce::Announcement>,
}

impl KioskFeed {
    fn booth_now(&self) -> BoothEvent {
        let spec = self.state.booth.spec();
        BoothEvent {
            kill_count: self.state.booth.kill_count(),
            mode: super::DisplayMode::of(&self.state.booth),
            flag: furniture::flag_name(&spec),
            call_to_action: furniture::call_to_action(&spec),
            show_pace: spec.show_pace,
        }
    }

    fn on_update(&mut self, update: Update) -> Events {
        match update {
            Update::Snapshot(_) => {
                // The snapshot event carries the counter too, so the booth state is current.
                let now = KioskState::now(&self.state);
                self.last_booth = Some(BoothEvent {
                    kill_count: now.kill_count,
                    mode: now.mode,
                    flag: now.flag.clone(),
                    call_to_action: now.call_to_action.clone(),
                    show_pace: now.show_pace,
                });
                vec![named("snapshot", &now)]
            }
            Update::Change(Change::Pod { pod }) => vec![named("pod", &pod)],
            Update::Change(Change::PodDeleted { namespace, name }) => {
                vec![named("podDeleted", &NameOnly { name: &name, namespace: &namespace })]
            }
            Update::Change(Change::Node { node }) => vec![named("node", &node)],
            Update::Change(Change::NodeDeleted { name }) => {
                vec![named("nodeDeleted", &NameOnly { name: &name, namespace: "" })]
            }
        }
    }

    fn on_booth(&mut self) -> Events {
        let now = self.booth_now();
        if self.last_booth.as_ref() == Some(&now) {
            return Vec::new();
        }
        self.last_booth = Some(now.clone());
        vec![named("booth", &now)]
    }

    fn on_chaos(event: &ChaosEvent) -> Events {
        let (phase, target, by, dry_run, budget) = match event {
            ChaosEvent::Picked { target, by, dry_run } => ("picked", target, by, *dry_run, None),
            ChaosEvent::Killed { target, by, .. } => ("killed", target, by, false, None),
            ChaosEvent::Refused { target, by, budget } => ("refused", target, by, false, Some(budget)),
        };
        let notice = ChaosNotice {
            phase,
            name: &target.name,
            index: target.index,
            node: target.node.as_deref(),
            by,
            dry_run,
            budget,
        };
        vec![named("chaos", &notice)]
    }

    async fn next(mut self) -> Option<(Events, Self)> {
        // Biased: the cluster first, so a new client's first event is always its snapshot.
        let events = tokio::select! {
            biased;
            update = self.subscription.next() => self.on_update(update?),
            alive = booth_changed(&mut self.booth) => if alive { self.on_booth() } else { self.booth = None; Vec::new() },
            scene = self.scenes.recv() => match scene {
                Ok(cue) => vec![named("scene", &cue)],
                Err(_) => Vec::new(),
            },
            Some(event) = self.chaos.next() => Self::on_chaos(&event),
            notice = self.availability.recv() => match notice {
                Ok(notice) => vec![named("availability", &notice)],
                Err(_) => Vec::new(),
            },
            announcement = self.announcements.recv() => match announcement {
                Ok(announcement) => vec![named("announce", &announcement)],
                Err(_) => Vec::new(),
            },
        };
        Some((events, self))
    }
}

/// The Booth's changes from now on: the snapshot already carries its current state.
fn booth_changes(state: &StreamsState) -> tokio::sync::watch::Receiver<Option<crate::booth::Booth>> {
    let mut receiver = state.booth.subscribe();
    receiver.mark_unchanged();
    receiver
}

/// Resolves when the Booth changes (`true`) or its follower is gone (`false`); never with `None`.
async fn booth_changed(booth: &mut Option<tokio::sync::watch::Receiver<Option<crate::booth::Booth>>>) -> bool {
    match booth {
        Some(receiver) => receiver.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

async fn stream_kiosk(State(state): State<StreamsState>) -> impl axum::response::IntoResponse {
    let feed = KioskFeed {
        subscription: state.cluster.subscribe(),
        booth: Some(booth_changes(&state)),
        last_booth: None,
        scenes: state.theatre.subscribe(),
        chaos: state.bus.listen(),
        availability: state.availability.subscribe(),
        announcements: state.visitor.announcements.subscribe(),
        state: state.clone(),
    };
    sse(&state, StreamName::kiosk, stream::unfold(feed, KioskFeed::next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{NodeStatus, PodPhase};
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    use serde_json::json;

    async fn next_text(body: &mut axum::body::Body) -> Option<String> {
        let frame = body.frame().await?.ok()?;
        frame.into_data().ok().map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn streams_set_retry_send_heartbeats_count_clients_and_end_at_shutdown() {
        let gauge = Gauge::default();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let events = stream::pending::<Events>();
        let mut body = sse_response(gauge.clone(), shutdown.clone(), events).into_response().into_body();
        assert_eq!(gauge.get(), 1);
        let first = next_text(&mut body).await.unwrap();
        assert!(first.contains("retry: 2000\n"), "{first:?}");
        let started = tokio::time::Instant::now();
        let heartbeat = next_text(&mut body).await.unwrap();
        assert_eq!(heartbeat, ": heartbeat\n\n");
        assert_eq!(started.elapsed(), HEARTBEAT, "a heartbeat after 15 s of silence");
        shutdown.cancel();
        assert_eq!(next_text(&mut body).await, None, "the stream ends at shutdown");
        drop(body);
        assert_eq!(gauge.get(), 0);
    }

    fn pod(name: &str, status: PodPhase) -> PodView {
        PodView {
            name: name.into(),
            namespace: "demopod".into(),
            status,
            index: name.rsplit('-').next().and_then(|n| n.parse().ok()),
            node: Some("pico-1".into()),
            ready: true,
            restarts: 0,
            protected: false,
            uid: "u".into(),
            blinkt_color: None,
            created: None,
        }
    }

    fn json_of(records: &[Record]) -> serde_json::Value {
        serde_json::to_value(records).unwrap()
    }

    #[test]
    fn upstream_records_keep_the_upstream_fields_and_report_what_vanished_while_lagging() {
        let mut view = UpstreamView { known: BTreeSet::new(), kind: Kind::Pods };
        let first =
            Snapshot { pods: vec![pod("web-0", PodPhase::Running), pod("web-1", PodPhase::Running)], nodes: vec![] };
        let records = json_of(&view.on_snapshot(&first));
        assert_eq!(records[0]["name"], "web-0");
        assert_eq!((records[0]["status"].clone(), records[0]["index"].clone()), (json!("Running"), json!(0)));
        assert_eq!(records[0]["node"], "pico-1");
        // Node changes are not for this stream.
        let node = NodeView {
            name: "pico-1".into(),
            status: NodeStatus::NotReady,
            kubelet_version: String::new(),
            architecture: String::new(),
            kernel_version: String::new(),
            os_image: String::new(),
            unschedulable: false,
        };
        assert!(view.on_change(Change::Node { node }).is_empty());
        // After lagging, web-1 is gone and web-2 is new: the client learns both.
        let later =
            Snapshot { pods: vec![pod("web-0", PodPhase::Running), pod("web-2", PodPhase::Pending)], nodes: vec![] };
        let records = json_of(&view.on_snapshot(&later));
        assert_eq!(records[0], json!({"name": "web-1", "namespace": "demopod", "status": "Deleted"}));
        assert_eq!(records.as_array().unwrap().len(), 3);
        let deleted = view.on_change(Change::PodDeleted { namespace: "demopod".into(), name: "web-2".into() });
        assert_eq!(json_of(&deleted)[0]["status"], "Deleted");
        assert_eq!(view.known.len(), 1);
    }
}
