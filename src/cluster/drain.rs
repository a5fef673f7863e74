//! Draining a node as `kubectl drain` does, for the control panel's buttons: cordon the node
//! (`spec.unschedulable: true`, so the scheduler places nothing new there), then evict its pods
//! through the Eviction API, so the disruption budget sets the pace: an eviction it refuses is
//! tried again every 5 s (kubectl's interval: the budget frees up when replacements get Ready,
//! not with time, so there is nothing to back off from) until no pod is left, the node is
//! uncordoned (which ends the drain) or the app stops. Uncordon sets `spec.unschedulable` back.
//!
//! Only the target namespace's pods are evicted: the booth's Role grants no more, and they are
//! the pods the booth shows. `kubectl drain <node> --ignore-daemonsets` by hand drains the rest.
//! Which pods are still to go is a pure function of the cluster picture ([`to_evict`]).
//!
//! May call: `crate::tasks`.

use super::api_calls::{ApiCall, Scope};
use super::client::Clients;
use super::eviction::{self, EvictError};
use super::state::ClusterState;
use super::views::{PodPhase, PodView};
use crate::tasks::Tasks;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The API requests of draining (see [`super::api_calls`]): the cordon and uncordon patches,
/// and the evictions.
pub(crate) const API_CALLS: [ApiCall; 2] = [ApiCall::new(Scope::Cluster, "", "nodes", "patch"), eviction::API_CALLS[0]];

/// How long a drain waits before asking again for evictions the budget refused (kubectl's).
pub(crate) const RETRY_REFUSED: Duration = Duration::from_secs(5);

/// Why a drain or an uncordon was not started.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error("No node {0:?} in the cluster")]
    NoSuchNode(String),
    #[error("The Kubernetes API did not change node {node}: {error}")]
    Api { node: String, error: kube::Error },
}

/// What a drain button started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drain {
    /// Cordoned; these many pods are to be evicted.
    Started { pods: usize },
    /// A drain of this node is under way already (the node is cordoned).
    Running,
}

/// The pods of `namespace` on `node` a drain still has to evict: not on their way out already,
/// and not evicted by this drain before (by uid).
pub(crate) fn to_evict<'a>(
    pods: &'a [PodView],
    node: &str,
    namespace: &str,
    evicted: &HashSet<String>,
) -> Vec<&'a PodView> {
    pods.iter()
        .filter(|p| p.namespace == namespace && p.node.as_deref() == Some(node))
        .filter(|p| p.status != PodPhase::Terminating && !evicted.contains(&p.uid))
        .collect()
}

/// The drains under way, by node: which one (a number) and how to end it.
#[derive(Default)]
struct Running {
    drains: Mutex<HashMap<String, (u64, CancellationToken)>>,
    next: AtomicU64,
}

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, CancellationToken)>> {
        self.drains.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a drain of `node`; `None` when one is under way already.
    fn start(&self, node: &str, stop: CancellationToken) -> Option<u64> {
        let mut drains = self.lock();
        if drains.contains_key(node) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        drains.insert(node.to_string(), (id, stop));
        Some(id)
    }

    /// Ends the drain of `node`, if any.
    fn cancel(&self, node: &str) {
        if let Some((_, stop)) = self.lock().remove(node) {
            stop.cancel();
        }
    }

    /// Drain `id` of `node` is over: forgotten, unless another has taken its place.
    fn finished(&self, node: &str, id: u64) {
        let mut drains = self.lock();
        if drains.get(node).is_some_and(|(current, _)| *current == id) {
            drains.remove(node);
        }
    }

    fn is_draining(&self, node: &str) -> bool {
        self.lock().contains_key(node)
    }
}

/// The drains of this process, one at most per node.
pub(crate) struct Drains {
    clients: Clients,
    cluster: ClusterState,
    namespace: String,
    retry: Duration,
    running: Arc<Running>,
    /// The app's tasks: each drain runs among them and ends on their token.
    tasks: Tasks,
}

impl Drains {
    /// Drains of `namespace`'s pods on `cluster`'s nodes, run among `tasks` until their shutdown.
    pub fn new(clients: Clients, cluster: ClusterState, namespace: &str, tasks: &Tasks) -> Self {
        Self {
            clients,
            cluster,
            namespace: namespace.into(),
            retry: RETRY_REFUSED,
            running: Arc::default(),
            tasks: tasks.clone(),
        }
    }

    fn known(&self, node: &str) -> Result<(), DrainError> {
        match self.cluster.snapshot().nodes.iter().any(|n| n.name == node) {
            true => Ok(()),
            false => Err(DrainError::NoSuchNode(node.into())),
        }
    }

    async fn set_unschedulable(&self, node: &str, cordoned: bool) -> Result<(), DrainError> {
        let nodes: Api<Node> = Api::all(self.clients.client.clone());
        // As kubectl's: `false` is the field's zero value, which the API leaves out.
        let patch = serde_json::json!({"spec": {"unschedulable": if cordoned { Some(true) } else { None }}});
        match nodes.patch(node, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Err(DrainError::NoSuchNode(node.into())),
            Err(error) => Err(DrainError::Api { node: node.into(), error }),
        }
    }

    /// Cordons `node` and starts evicting its pods (see the module's doc).
    pub async fn drain(&self, node: &str) -> Result<Drain, DrainError> {
        self.known(node)?;
        if self.running.is_draining(node) {
            return Ok(Drain::Running);
        }
        self.set_unschedulable(node, true).await?;
        let stop = self.tasks.token().child_token();
        // Two presses at once: the first to get here drains, the other says so.
        let Some(id) = self.running.start(node, stop.clone()) else { return Ok(Drain::Running) };
        let pods = to_evict(&self.cluster.pods(), node, &self.namespace, &HashSet::new()).len();
        tracing::info!(node, pods, "draining: cordoned, evicting its pods as the disruption budget allows");
        let drain = Evicting {
            clients: self.clients.clone(),
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            node: node.to_string(),
            retry: self.retry,
        };
        let running = self.running.clone();
        let node = node.to_string();
        self.tasks.spawn("node drain", async move {
            drain.run(stop).await;
            running.finished(&node, id);
        });
        Ok(Drain::Started { pods })
    }

    /// Ends a drain of `node` in progress and uncordons it.
    pub(crate) async fn uncordon(&self, node: &str) -> Result<(), DrainError> {
        self.known(node)?;
        self.running.cancel(node);
        self.set_unschedulable(node, false).await?;
        tracing::info!(node, "uncordoned");
        Ok(())
    }
}

/// One drain in progress.
struct Evicting {
    clients: Clients,
    cluster: ClusterState,
    namespace: String,
    node: String,
    retry: Duration,
}

impl Evicting {
    async fn run(self, stop: CancellationToken) {
        let mut evicted: HashSet<String> = HashSet::new();
        let mut versions = self.cluster.versions();
        loop {
            let pods = self.cluster.pods();
            let left: Vec<PodView> =
                to_evict(&pods, &self.node, &self.namespace, &evicted).into_iter().cloned().collect();
            if left.is_empty() {
                tracing::info!(node = %self.node, evicted = evicted.len(), "drained");
                return;
            }
            let mut refused = false;
            for pod in left {
                match eviction::evict(&self.clients.evictions, &pod.namespace, &pod.name, &pod.uid).await {
                    Ok(()) | Err(EvictError::Gone) => {
                        evicted.insert(pod.uid);
                    }
                    Err(error @ EvictError::Refused(_)) => {
                        tracing::info!(node = %self.node, pod = %pod.name, %error, "draining: waiting for the disruption budget");
                        refused = true;
                    }
                    Err(EvictError::Failed(error)) => {
                        tracing::warn!(node = %self.node, pod = %pod.name, %error, "draining: the eviction failed; trying again");
                        refused = true;
                    }
                }
            }
            if refused {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(self.retry) => {}
                }
            } else {
                // Everything asked for was evicted: the next look is once the watch has moved.
                tokio::select! {
                    _ = stop.cancelled() => return,
                    changed = versions.changed() => if changed.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, namespace: &str, node: &str, status: PodPhase) -> PodView {
        PodView {
            name: name.into(),
            namespace: namespace.into(),
            status,
            index: None,
            node: Some(node.into()),
            ready: status == PodPhase::Running,
            restarts: 0,
            protected: false,
            uid: format!("uid-{name}"),
            blinkt_color: None,
            created: None,
        }
    }

    #[test]
    fn a_drain_evicts_the_namespaces_pods_of_its_node_once_each() {
        let pods = vec![
            pod("a", "demopod", "pico-1", PodPhase::Running),
            pod("b", "demopod", "pico-1", PodPhase::Pending),
            pod("c", "demopod", "pico-1", PodPhase::Terminating),
            pod("d", "demopod", "pico-2", PodPhase::Running),
            pod("e", "kube-system", "pico-1", PodPhase::Running),
        ];
        let names = |evicted: &HashSet<String>| -> Vec<String> {
            to_evict(&pods, "pico-1", "demopod", evicted).iter().map(|p| p.name.clone()).collect()
        };
        assert_eq!(names(&HashSet::new()), ["a", "b"], "not one on its way out, elsewhere or of another namespace");
        assert_eq!(names(&HashSet::from(["uid-a".to_string()])), ["b"], "evicted once");
        // A pod of the node with a new uid (one that tolerates the cordon, say) goes too.
        let mut replaced = pods.clone();
        replaced[0].uid = "uid-a2".into();
        assert_eq!(to_evict(&replaced, "pico-1", "demopod", &HashSet::from(["uid-a".to_string()])).len(), 2);
    }

    #[test]
    fn one_drain_per_node_and_a_finished_one_is_forgotten() {
        let running = Running::default();
        let first = running.start("pico-1", CancellationToken::new()).unwrap();
        assert_eq!(running.start("pico-1", CancellationToken::new()), None, "one at a time");
        assert!(running.start("pico-2", CancellationToken::new()).is_some());
        running.finished("pico-1", first);
        assert!(!running.is_draining("pico-1"));
        let second = running.start("pico-1", CancellationToken::new()).unwrap();
        running.finished("pico-1", first);
        assert!(running.is_draining("pico-1"), "a late end of the first does not forget the second");
        let stop = CancellationToken::new();
        running.cancel("pico-1");
        running.finished("pico-1", second);
        let third = running.start("pico-3", stop.clone()).unwrap();
        running.cancel("pico-3");
        assert!(stop.is_cancelled() && !running.is_draining("pico-3"), "{third}");
    }
}
