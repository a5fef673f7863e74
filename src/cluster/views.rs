//! What the booth shows of a pod and of a node: small derived views, computed once per change
//! from the Kubernetes objects, serialised with the field names the Python dashboard used
//! (`name`, `status`, `index`, `node`; `kubeletVersion`, `osImage`, ...).
//!
//! May call: nothing else of the crate.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde::Serialize;

/// A pod's state as the booth shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum PodPhase {
    Pending,
    Running,
    /// `deletionTimestamp` is set: the pod is on its way out.
    Terminating,
    Succeeded,
    Failed,
    Unknown,
}

/// A pod of the watched namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodView {
    pub name: String,
    pub namespace: String,
    pub status: PodPhase,
    /// The StatefulSet ordinal (`critical-prod-3` → 3), if the pod has one.
    pub index: Option<u32>,
    pub node: Option<String>,
    pub ready: bool,
    pub restarts: u32,
    /// Labelled `conferenceli.dev/chaos: protected`: the chaos button never picks it.
    pub protected: bool,
    #[serde(skip)]
    pub uid: String,
    /// The `blinktColor` label (`FF0000`): the colour the Blinkt! shows for this pod instead of
    /// its state's (the classic blinkt controller convention).
    #[serde(skip)]
    pub blinkt_color: Option<String>,
    /// `metadata.creationTimestamp`: chaos safety never picks a pod younger than its minimum age.
    #[serde(skip)]
    pub created: Option<jiff::Timestamp>,
}

/// A node's readiness as the upstream dashboard named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NodeStatus {
    KubeletReady,
    NotReady,
    Unknown,
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    pub name: String,
    pub status: NodeStatus,
    pub(crate) kubelet_version: String,
    pub architecture: String,
    pub(crate) kernel_version: String,
    pub(crate) os_image: String,
    /// Cordoned for maintenance.
    pub(crate) unschedulable: bool,
}

/// The StatefulSet ordinal of a pod: the number after the last `-` of its
/// `statefulset.kubernetes.io/pod-name` label, else its `apps.kubernetes.io/pod-index` label.
pub fn ordinal(pod: &Pod) -> Option<u32> {
    let labels = pod.metadata.labels.as_ref()?;
    labels
        .get("statefulset.kubernetes.io/pod-name")
        .and_then(|name| name.rsplit_once('-'))
        .and_then(|(_, n)| n.parse().ok())
        .or_else(|| labels.get("apps.kubernetes.io/pod-index").and_then(|n| n.parse().ok()))
}

impl PodView {
    pub(crate) fn from_pod(pod: &Pod) -> Self {
        let status = pod.status.as_ref();
        let phase = if pod.metadata.deletion_timestamp.is_some() {
            PodPhase::Terminating
        } else {
            match status.and_then(|s| s.phase.as_deref()) {
                Some("Pending") | None => PodPhase::Pending,
                Some("Running") => PodPhase::Running,
                Some("Succeeded") => PodPhase::Succeeded,
                Some("Failed") => PodPhase::Failed,
                Some(_) => PodPhase::Unknown,
            }
        };
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let restarts = status
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |c| c.iter().map(|c| c.restart_count.max(0) as u32).sum());
        let protected = pod
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.get("conferenceli.dev/chaos").map(String::as_str) == Some("protected"));
        Self {
            name: pod.metadata.name.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            status: phase,
            index: ordinal(pod),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()),
            ready,
            restarts,
            protected,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            blinkt_color: pod.metadata.labels.as_ref().and_then(|l| l.get("blinktColor").cloned()),
            created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
        }
    }
}

impl NodeView {
    pub(crate) fn from_node(node: &Node) -> Self {
        let status = node.status.as_ref();
        let ready = status.and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
        let info = status.and_then(|s| s.node_info.as_ref());
        let text =
            |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| info.map(f).cloned().unwrap_or_default();
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            status: match ready.map(|c| c.status.as_str()) {
                Some("True") => NodeStatus::KubeletReady,
                Some("False") => NodeStatus::NotReady,
                _ => NodeStatus::Unknown,
            },
            kubelet_version: text(|i| &i.kubelet_version),
            architecture: text(|i| &i.architecture),
            kernel_version: text(|i| &i.kernel_version),
            os_image: text(|i| &i.os_image),
            unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn pod_views_derive_state_and_ordinal() {
        let running = pod(json!({"metadata": {"name": "critical-prod-3", "namespace": "demopod", "uid": "u",
                "labels": {"statefulset.kubernetes.io/pod-name": "critical-prod-3", "conferenceli.dev/chaos": "protected"}},
            "spec": {"containers": [], "nodeName": "pico-1"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "a", "ready": true, "restartCount": 2, "image": "i", "imageID": ""}]}}));
        let view = PodView::from_pod(&running);
        assert_eq!(
            (view.index, view.status, view.ready, view.restarts, view.protected),
            (Some(3), PodPhase::Running, true, 2, true)
        );
        assert_eq!(view.node.as_deref(), Some("pico-1"));
        let upstream = serde_json::to_value(&view).unwrap();
        assert_eq!(upstream["name"], "critical-prod-3");
        assert_eq!(upstream["status"], "Running");
        assert_eq!(upstream["index"], 3);
        assert_eq!(upstream["node"], "pico-1");
        assert!(upstream.get("uid").is_none());

        let terminating = pod(
            json!({"metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}}),
        );
        assert_eq!(PodView::from_pod(&terminating).status, PodPhase::Terminating);
        let fresh = pod(json!({"metadata": {"name": "web-abc", "labels": {"apps.kubernetes.io/pod-index": "7"}}}));
        let fresh = PodView::from_pod(&fresh);
        assert_eq!((fresh.status, fresh.index, fresh.node), (PodPhase::Pending, Some(7), None));
    }

    #[test]
    fn node_views_use_upstream_names() {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "pico-1"}, "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                       "nodeInfo": {"architecture": "arm64", "kernelVersion": "6.12", "osImage": "Debian", "kubeletVersion": "v1.33",
                                    "bootID": "", "containerRuntimeVersion": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux", "systemUUID": ""}}}))
        .unwrap();
        let view = serde_json::to_value(NodeView::from_node(&node)).unwrap();
        assert_eq!(
            view,
            json!({"name": "pico-1", "status": "NotReady", "kubeletVersion": "v1.33", "architecture": "arm64",
                                "kernelVersion": "6.12", "osImage": "Debian", "unschedulable": true})
        );
    }
}
