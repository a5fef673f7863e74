//! `ClusterState`: the process-wide picture of the watched pods and nodes, and the fan-out of its
//! changes to any number of subscribers (SSE clients, LED drivers, controllers).
//!
//! Writers are the two watch loops; readers take a snapshot and then follow changes. Changes go
//! through a bounded broadcast channel, so a slow subscriber never blocks the watch and never
//! makes memory grow: when it falls behind it is handed a fresh snapshot instead of the backlog.
//!
//! May call: nothing else of the crate.

use super::views::{NodeView, PodView};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{broadcast, watch};

/// How many changes a subscriber may lag behind before it gets a snapshot instead.
const CHANGE_BUFFER: usize = 1024;

/// Everything at one moment, in name order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub pods: Vec<PodView>,
    pub nodes: Vec<NodeView>,
}

/// One change to the picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Change {
    Pod { pod: PodView },
    PodDeleted { namespace: String, name: String },
    Node { node: NodeView },
    NodeDeleted { name: String },
}

/// What a subscriber receives: first a snapshot, then changes, and a snapshot again whenever it
/// fell too far behind to be given the changes it missed.
#[derive(Debug, Clone)]
pub enum Update {
    Snapshot(Arc<Snapshot>),
    Change(Change),
}

type PodKey = (String, String);

#[derive(Default)]
struct Views {
    pods: BTreeMap<PodKey, PodView>,
    nodes: BTreeMap<String, NodeView>,
}

impl Views {
    fn snapshot(&self) -> Snapshot {
        Snapshot { pods: self.pods.values().cloned().collect(), nodes: self.nodes.values().cloned().collect() }
    }
}

struct Shared {
    views: RwLock<Views>,
    changes: broadcast::Sender<Change>,
    /// Bumped on every change, for consumers that only want "something changed, look again".
    version: watch::Sender<u64>,
    pods_synced: AtomicBool,
    nodes_synced: AtomicBool,
}

/// The shared picture of the cluster. Cheap to clone.
#[derive(Clone)]
pub struct ClusterState {
    shared: Arc<Shared>,
}

impl Default for ClusterState {
    fn default() -> Self {
        Self::new()
    }
}

impl ClusterState {
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (version, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                views: RwLock::new(Views::default()),
                changes,
                version,
                pods_synced: AtomicBool::new(false),
                nodes_synced: AtomicBool::new(false),
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Views> {
        self.shared.views.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Views> {
        self.shared.views.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(self.read().snapshot())
    }

    /// The pods, without copying the nodes.
    pub fn pods(&self) -> Vec<PodView> {
        self.read().pods.values().cloned().collect()
    }

    #[cfg(any(test, feature = "test-support"))]
    pub fn pod_count(&self) -> usize {
        self.read().pods.len()
    }

    /// A snapshot now and every change after it. Snapshot and subscription are taken under the
    /// same lock that writers hold while they publish, so nothing falls between them.
    pub fn subscribe(&self) -> Subscription {
        let views = self.read();
        let receiver = self.shared.changes.subscribe();
        let snapshot = Arc::new(views.snapshot());
        drop(views);
        Subscription { state: self.clone(), receiver, pending: Some(snapshot) }
    }

    /// A counter that moves on every change.
    pub(crate) fn versions(&self) -> watch::Receiver<u64> {
        self.shared.version.subscribe()
    }

    /// Both watches have listed their resource at least once.
    pub fn is_synced(&self) -> bool {
        self.pods_synced() && self.nodes_synced()
    }

    pub fn pods_synced(&self) -> bool {
        self.shared.pods_synced.load(Ordering::Acquire)
    }

    pub(crate) fn nodes_synced(&self) -> bool {
        self.shared.nodes_synced.load(Ordering::Acquire)
    }

    fn publish(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        for change in changes {
            // No subscriber is not an error: the picture is kept either way.
            let _ = self.shared.changes.send(change);
        }
        self.shared.version.send_modify(|v| *v += 1);
    }

    /// A pod was added or changed; subscribers hear of it only if its view changed.
    pub fn upsert_pod(&self, pod: PodView) {
        let mut views = self.write();
        let key = (pod.namespace.clone(), pod.name.clone());
        if views.pods.get(&key) == Some(&pod) {
            return;
        }
        views.pods.insert(key, pod.clone());
        self.publish(vec![Change::Pod { pod }]);
    }

    pub(crate) fn remove_pod(&self, namespace: &str, name: &str) {
        let mut views = self.write();
        if views.pods.remove(&(namespace.to_string(), name.to_string())).is_some() {
            self.publish(vec![Change::PodDeleted { namespace: namespace.into(), name: name.into() }]);
        }
    }

    /// Replaces all pods after a (re)list, publishing only the differences.
    pub fn replace_pods(&self, pods: Vec<PodView>) {
        let mut views = self.write();
        let fresh = pods.into_iter().map(|p| ((p.namespace.clone(), p.name.clone()), p)).collect();
        let changes = replace_all(
            &mut views.pods,
            fresh,
            |(namespace, name)| Change::PodDeleted { namespace: namespace.clone(), name: name.clone() },
            |pod| Change::Pod { pod: pod.clone() },
        );
        self.shared.pods_synced.store(true, Ordering::Release);
        self.publish(changes);
    }

    pub(crate) fn upsert_node(&self, node: NodeView) {
        let mut views = self.write();
        if views.nodes.get(&node.name) == Some(&node) {
            return;
        }
        views.nodes.insert(node.name.clone(), node.clone());
        self.publish(vec![Change::Node { node }]);
    }

    pub(crate) fn remove_node(&self, name: &str) {
        let mut views = self.write();
        if views.nodes.remove(name).is_some() {
            self.publish(vec![Change::NodeDeleted { name: name.into() }]);
        }
    }

    /// Replaces all nodes after a (re)list, publishing only the differences.
    pub(crate) fn replace_nodes(&self, nodes: Vec<NodeView>) {
        let mut views = self.write();
        let fresh = nodes.into_iter().map(|n| (n.name.clone(), n)).collect();
        let changes = replace_all(
            &mut views.nodes,
            fresh,
            |name| Change::NodeDeleted { name: name.clone() },
            |node| Change::Node { node: node.clone() },
        );
        self.shared.nodes_synced.store(true, Ordering::Release);
        self.publish(changes);
    }
}

/// Replaces `current` with `fresh` and returns the changes between them: a deletion for every
/// key that is gone, then an update for every value that is new or different (the relist of a
/// watch, for pods and nodes alike).
fn replace_all<K: Ord, V: PartialEq>(
    current: &mut BTreeMap<K, V>,
    fresh: BTreeMap<K, V>,
    deleted: impl Fn(&K) -> Change,
    changed: impl Fn(&V) -> Change,
) -> Vec<Change> {
    let mut changes: Vec<Change> = current.keys().filter(|k| !fresh.contains_key(*k)).map(deleted).collect();
    changes.extend(fresh.iter().filter(|(k, v)| current.get(*k) != Some(*v)).map(|(_, v)| changed(v)));
    *current = fresh;
    changes
}

/// One subscriber's view of the changes.
pub struct Subscription {
    state: ClusterState,
    receiver: broadcast::Receiver<Change>,
    pending: Option<Arc<Snapshot>>,
}

impl Subscription {
    /// The next update; `None` only when the state is gone.
    pub async fn next(&mut self) -> Option<Update> {
        if let Some(snapshot) = self.pending.take() {
            return Some(Update::Snapshot(snapshot));
        }
        match self.receiver.recv().await {
            Ok(change) => Some(Update::Change(change)),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let fresh = self.state.subscribe();
                self.receiver = fresh.receiver;
                fresh.pending.map(Update::Snapshot)
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::views::{NodeStatus, PodPhase};
    use super::*;

    fn pod(name: &str, status: PodPhase) -> PodView {
        PodView {
            name: name.into(),
            namespace: "ns".into(),
            status,
            index: None,
            node: None,
            ready: false,
            restarts: 0,
            protected: false,
            uid: name.into(),
            blinkt_color: None,
            created: None,
        }
    }

    fn node(name: &str) -> NodeView {
        NodeView {
            name: name.into(),
            status: NodeStatus::KubeletReady,
            kubelet_version: String::new(),
            architecture: String::new(),
            kernel_version: String::new(),
            os_image: String::new(),
            unschedulable: false,
        }
    }

    #[tokio::test]
    async fn subscribers_get_a_snapshot_then_only_real_changes() {
        let state = ClusterState::new();
        state.replace_pods(vec![pod("a", PodPhase::Running)]);
        state.replace_nodes(vec![node("n")]);
        assert!(state.is_synced());
        let mut sub = state.subscribe();
        match sub.next().await {
            Some(Update::Snapshot(s)) => assert_eq!((s.pods.len(), s.nodes.len()), (1, 1)),
            other => panic!("expected a snapshot, got {other:?}"),
        }
        state.upsert_pod(pod("a", PodPhase::Running)); // unchanged: no event
        state.upsert_pod(pod("a", PodPhase::Terminating));
        state.remove_pod("ns", "a");
        match sub.next().await {
            Some(Update::Change(Change::Pod { pod })) => {
                assert_eq!(pod.status, PodPhase::Terminating)
            }
            other => panic!("expected the pod change, got {other:?}"),
        }
        assert!(matches!(sub.next().await, Some(Update::Change(Change::PodDeleted { .. }))));
    }

    #[tokio::test]
    async fn a_relist_publishes_only_differences() {
        let state = ClusterState::new();
        state.replace_pods(vec![pod("a", PodPhase::Running), pod("b", PodPhase::Running)]);
        let mut sub = state.subscribe();
        sub.next().await;
        state.replace_pods(vec![pod("a", PodPhase::Running), pod("c", PodPhase::Pending)]);
        let mut seen = Vec::new();
        for _ in 0..2 {
            if let Some(Update::Change(change)) = sub.next().await {
                seen.push(change);
            }
        }
        assert_eq!(
            seen,
            vec![
                Change::PodDeleted { namespace: "ns".into(), name: "b".into() },
                Change::Pod { pod: pod("c", PodPhase::Pending) }
            ]
        );
    }

    #[tokio::test]
    async fn a_lagging_subscriber_gets_a_fresh_snapshot_not_the_backlog() {
        let state = ClusterState::new();
        let mut sub = state.subscribe();
        sub.next().await;
        for i in 0..(CHANGE_BUFFER * 3) {
            state.upsert_pod(pod("a", if i % 2 == 0 { PodPhase::Running } else { PodPhase::Pending }));
        }
        match sub.next().await {
            Some(Update::Snapshot(s)) => assert_eq!(s.pods.len(), 1),
            other => panic!("expected a snapshot after lagging, got {other:?}"),
        }
    }
}
