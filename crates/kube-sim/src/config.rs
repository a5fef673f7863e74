//! What a simulated cluster is made of: its shape and timings ([`SimConfig`]), the custom
//! resource definitions it serves and the objects it holds from the start, and the program its workload's containers run
//! ([`ContainerProgram`]), which the embedding project hands in.
//!
//! May call: `crate::auth`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shape and timing of the simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    /// The first node's name (the control plane: a K3s server runs workloads too).
    pub control_plane: String,
    /// The other nodes are `<worker_prefix>-1`, `<worker_prefix>-2`, …
    pub worker_prefix: String,
    /// Labels the worker nodes carry besides the well-known ones (`kubernetes.io/arch`, …).
    pub worker_labels: BTreeMap<String, String>,
    /// Replicas of the StatefulSet the cluster runs.
    pub pods: usize,
    pub namespace: String,
    /// Namespaces that exist from the start besides the system ones and the workload's (the
    /// embedding project's own, as if applied before anyone looked).
    pub namespaces: Vec<String>,
    pub statefulset: String,
    /// The image the StatefulSet's pods name (what `kubectl get pods -o wide` and the container
    /// statuses show; what runs is [`SimConfig::program`]).
    pub image: String,
    /// `terminationGracePeriodSeconds` of the workload's pods.
    pub grace_period_seconds: i64,
    /// Time from Pending to Running, plus up to `start_jitter`.
    pub start_delay: Duration,
    pub start_jitter: Duration,
    /// How long pods stay on a NotReady node before they are evicted.
    pub toleration: Duration,
    /// Changes kept for watches to resume from; older versions get 410 Gone.
    pub history_limit: usize,
    /// How long a change stays in that history (kube-apiserver compacts etcd every 5 minutes).
    pub history_retention: Duration,
    /// How long an Event lives (kube-apiserver's `--event-ttl`, 1 hour by default).
    pub event_ttl: Duration,
    pub bookmark_interval: Duration,
    /// Whether the initial pods start Running (a calm demo) or Pending.
    pub start_running: bool,
    /// Whether the workload has a network: a container answering on its own port for each
    /// running pod (when there is a [`SimConfig::program`]), its Service with Endpoints and an
    /// EndpointSlice, and the proxy ([`crate::network`]). On by default; a benchmark of thousands
    /// of pods turns it off, as each readiness change would rewrite an Endpoints object of
    /// thousands of addresses, every version of it kept in the watch history.
    pub network: bool,
    /// Custom resource definitions served from the start, as if applied before anyone looked.
    pub crds: Vec<CustomResourceDefinition>,
    /// Objects of any served kind (custom resources too) created at start, after the CRDs, as
    /// if applied before anyone looked: the workload's PodDisruptionBudget, say. A namespaced
    /// one without `metadata.namespace` goes to [`SimConfig::namespace`], the workload's, as
    /// kustomize's `namespace:` puts a workload's manifests there.
    pub objects: Vec<serde_json::Value>,
    /// What each running container of the workload runs; `None`: no process behind the pods
    /// (their endpoints follow readiness alone, and the Service's connections are refused).
    pub program: Option<Arc<dyn ContainerProgram>>,
    /// kube-apiserver's static token file (`--token-auth-file`): with it every request needs a
    /// known bearer token (401 otherwise) and is authorised by RBAC (403); without it (the
    /// default) everything is allowed.
    pub tokens: Option<crate::auth::TokenFile>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            nodes: 3,
            control_plane: "control-plane".into(),
            worker_prefix: "worker".into(),
            worker_labels: BTreeMap::new(),
            pods: 5,
            namespace: "default".into(),
            namespaces: Vec::new(),
            statefulset: "web".into(),
            image: "registry.example/web:1.0".into(),
            grace_period_seconds: 1,
            start_delay: Duration::from_millis(2000),
            start_jitter: Duration::from_millis(1500),
            toleration: Duration::from_secs(30),
            history_limit: 20_000,
            history_retention: Duration::from_secs(300),
            event_ttl: Duration::from_secs(3600),
            bookmark_interval: Duration::from_secs(5),
            start_running: true,
            network: true,
            crds: Vec::new(),
            objects: Vec::new(),
            program: None,
            tokens: None,
        }
    }
}

impl SimConfig {
    /// The name of node `index`: the control plane first, then the workers.
    pub fn node_name(&self, index: usize) -> String {
        if index == 0 { self.control_plane.clone() } else { format!("{}-{index}", self.worker_prefix) }
    }
}

/// The node condition the simulation can put a node in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeHealth {
    /// Kubelet posting ready status.
    Ready,
    /// Kubelet up but not ready (`Ready=False`).
    NotReady,
    /// Kubelet unreachable, the node unplugged (`Ready=Unknown`).
    Unreachable,
}

/// The program a simulated container runs: an HTTP server of the embedding project's (the
/// booth's demo workload), started once per running pod on a loopback port of its own.
pub trait ContainerProgram: Send + Sync + std::fmt::Debug + 'static {
    /// Starts serving as pod `pod` on `listener` until `stop` fires (the pod object is gone).
    fn start(&self, pod: &str, listener: tokio::net::TcpListener, stop: CancellationToken)
    -> Arc<dyn RunningContainer>;
}

/// A started container, as the simulation (and its user's tests) may ask about it.
pub trait RunningContainer: Send + Sync {
    /// Requests it has answered so far: where the Service's traffic went.
    fn answered(&self) -> u64;
}
