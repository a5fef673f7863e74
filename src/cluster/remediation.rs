//! Node-loss remediation: when a PicoCluster node is unplugged, its pods hang in Terminating and
//! the StatefulSet does not replace them until they are gone. Booth staff used to run a script
//! that force-deleted them; this does it in the controller.
//!
//! A node that has been NotReady or Unknown for longer than the threshold has the target
//! namespace's pods bound to it force-deleted (grace period 0, uid precondition), once per pod,
//! with a `NodeLost` Event on each. Ready nodes, cordoned nodes (maintenance) and other
//! namespaces are never touched. The decision is a pure function of the cluster picture and the
//! clock ([`pods_to_release`]); the loop around it only reads `ClusterState` and calls the API.
//!
//! May call: nothing else of the crate.

use super::api_calls::{ApiCall, Scope};
use super::recorder::regarding;
use super::state::{ClusterState, Snapshot};
use super::views::{NodeStatus, NodeView, PodView};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The API requests of this module (see [`super::api_calls`]); its Events are the app's one
/// recorder's ([`super::recorder`]).
pub(crate) const API_CALLS: [ApiCall; 1] = [ApiCall::new(Scope::Target, "", "pods", "delete")];

/// Since when each lost node has been seen NotReady or Unknown.
#[derive(Debug, Default)]
pub(crate) struct LostNodes {
    since: HashMap<String, Instant>,
}

impl LostNodes {
    /// Starts the clock for nodes that just became lost; forgets nodes that are Ready again,
    /// cordoned (maintenance is never remediated) or gone.
    pub(crate) fn observe(&mut self, nodes: &[NodeView], now: Instant) {
        let lost: HashSet<&str> = nodes
            .iter()
            .filter(|n| n.status != NodeStatus::KubeletReady && !n.unschedulable)
            .map(|n| n.name.as_str())
            .collect();
        self.since.retain(|name, _| lost.contains(name.as_str()));
        for name in lost {
            self.since.entry(name.to_string()).or_insert(now);
        }
    }

    fn lost_for(&self, node: &str, now: Instant) -> Option<Duration> {
        self.since.get(node).map(|since| now.saturating_duration_since(*since))
    }

    /// When the next node passes the threshold, if any is still below it.
    pub(crate) fn next_deadline(&self, threshold: Duration, now: Instant) -> Option<Instant> {
        self.since.values().map(|since| *since + threshold).filter(|at| *at > now).min()
    }
}

/// The pods to force-delete now: in `namespace`, bound to a node lost for longer than
/// `threshold`, and not released before (by uid).
pub(crate) fn pods_to_release<'a>(
    snapshot: &'a Snapshot,
    lost: &LostNodes,
    now: Instant,
    threshold: Duration,
    namespace: &str,
    released: &HashSet<String>,
) -> Vec<&'a PodView> {
    snapshot
        .pods
        .iter()
        .filter(|pod| pod.namespace == namespace && !released.contains(&pod.uid))
        .filter(|pod| {
            pod.node.as_deref().and_then(|node| lost.lost_for(node, now)).is_some_and(|lost_for| lost_for > threshold)
        })
        .collect()
}

/// Settings of the remediation loop.
#[derive(Debug, Clone)]
pub(crate) struct Remediation {
    /// How long a node may be lost before its pods are released.
    pub(crate) threshold: Duration,
    /// The only namespace whose pods are touched.
    pub namespace: String,
}

async fn force_delete(pods: &Api<Pod>, recorder: &Recorder, pod: &PodView, lost_for: Duration) {
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: Some(pod.uid.clone()), resource_version: None }),
        ..DeleteParams::default()
    };
    let node = pod.node.as_deref().unwrap_or_default();
    match pods.delete(&pod.name, &params).await {
        Ok(_) => {
            tracing::warn!(pod = %pod.name, node, seconds = lost_for.as_secs(), "node lost: force-deleted its pod");
            let event = Event {
                type_: EventType::Warning,
                reason: "NodeLost".into(),
                note: Some(format!(
                    "Node {node} not ready for {} s: force-deleted so that the StatefulSet can replace the pod",
                    lost_for.as_secs()
                )),
                action: "ForceDelete".into(),
                secondary: None,
            };
            if let Err(error) = recorder.publish(&event, &regarding(pod)).await {
                tracing::warn!(%error, pod = %pod.name, "could not record the NodeLost event");
            }
        }
        // Gone already, or replaced by a new pod of the same name: nothing left to release.
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
        Err(error) => tracing::warn!(%error, pod = %pod.name, "force delete failed; the pod stays"),
    }
}

impl Remediation {
    /// Watches the cluster picture until `shutdown`, releasing pods of lost nodes.
    pub async fn run(self, client: kube::Client, state: ClusterState, recorder: Recorder, shutdown: CancellationToken) {
        let pods: Api<Pod> = Api::namespaced(client, &self.namespace);
        let mut versions = state.versions();
        let mut lost = LostNodes::default();
        let mut released: HashSet<String> = HashSet::new();
        loop {
            let now = Instant::now();
            let snapshot = state.snapshot();
            lost.observe(&snapshot.nodes, now);
            let due: Vec<PodView> = pods_to_release(&snapshot, &lost, now, self.threshold, &self.namespace, &released)
                .into_iter()
                .cloned()
                .collect();
            for pod in due {
                released.insert(pod.uid.clone());
                let lost_for = pod.node.as_deref().and_then(|n| lost.lost_for(n, now)).unwrap_or_default();
                force_delete(&pods, &recorder, &pod, lost_for).await;
            }
            // Only uids still in the picture can come up again; the set stays small.
            let present: HashSet<&str> = snapshot.pods.iter().map(|p| p.uid.as_str()).collect();
            released.retain(|uid| present.contains(uid.as_str()));
            let next = lost.next_deadline(self.threshold, now);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = versions.changed() => if changed.is_err() { return },
                _ = async { match next {
                    Some(at) => tokio::time::sleep_until(at + Duration::from_millis(10)).await,
                    None => std::future::pending().await,
                } } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::views::PodPhase;
    use super::*;

    fn node(name: &str, status: NodeStatus, unschedulable: bool) -> NodeView {
        NodeView {
            name: name.into(),
            status,
            kubelet_version: String::new(),
            architecture: String::new(),
            kernel_version: String::new(),
            os_image: String::new(),
            unschedulable,
        }
    }

    fn pod(name: &str, namespace: &str, node: &str) -> PodView {
        PodView {
            name: name.into(),
            namespace: namespace.into(),
            status: PodPhase::Terminating,
            index: None,
            node: Some(node.into()),
            ready: false,
            restarts: 0,
            protected: false,
            uid: format!("uid-{name}"),
            blinkt_color: None,
            created: None,
        }
    }

    #[test]
    fn only_pods_of_the_target_namespace_on_nodes_lost_past_the_threshold() {
        let start = Instant::now();
        let threshold = Duration::from_secs(20);
        let nodes = vec![
            node("pi", NodeStatus::KubeletReady, false),
            node("lost", NodeStatus::Unknown, false),
            node("notready", NodeStatus::NotReady, false),
            node("cordoned", NodeStatus::NotReady, true),
        ];
        let snapshot = Snapshot {
            pods: vec![
                pod("a", "demopod", "pi"),
                pod("b", "demopod", "lost"),
                pod("c", "other", "lost"),
                pod("d", "demopod", "notready"),
                pod("e", "demopod", "cordoned"),
            ],
            nodes: nodes.clone(),
        };
        let mut lost = LostNodes::default();
        lost.observe(&nodes, start);
        let none = HashSet::new();
        assert!(
            pods_to_release(&snapshot, &lost, start + Duration::from_secs(19), threshold, "demopod", &none).is_empty()
        );
        assert_eq!(lost.next_deadline(threshold, start), Some(start + threshold));
        let due = pods_to_release(&snapshot, &lost, start + Duration::from_secs(21), threshold, "demopod", &none);
        let names: Vec<&str> = due.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["b", "d"]);
        let released: HashSet<String> = ["uid-b".to_string()].into();
        let again = pods_to_release(&snapshot, &lost, start + Duration::from_secs(30), threshold, "demopod", &released);
        assert_eq!(again.len(), 1, "a released pod is never released twice");
    }

    #[test]
    fn a_node_that_recovers_or_is_cordoned_starts_over() {
        let start = Instant::now();
        let mut lost = LostNodes::default();
        lost.observe(&[node("n", NodeStatus::NotReady, false)], start);
        lost.observe(&[node("n", NodeStatus::KubeletReady, false)], start + Duration::from_secs(10));
        lost.observe(&[node("n", NodeStatus::NotReady, false)], start + Duration::from_secs(15));
        assert_eq!(lost.lost_for("n", start + Duration::from_secs(20)), Some(Duration::from_secs(5)));
        lost.observe(&[node("n", NodeStatus::NotReady, true)], start + Duration::from_secs(21));
        assert_eq!(lost.lost_for("n", start + Duration::from_secs(22)), None);
    }
}
