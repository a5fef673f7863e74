//! The simulated cluster's moving parts, run as one reconcile loop over the store with a pass
//! per controller: the node lifecycle controller (taints, lost nodes), the scheduler, the
//! kubelets, the StatefulSet controller, the disruption controller (PodDisruptionBudgets'
//! status, see `crate::disruption`) and the API server's event TTL.
//!
//! What it models: a deleted pod turns Terminating and disappears after
//! its grace period, then the StatefulSet recreates it (Pending, then Running and Ready after a
//! start delay with jitter). A node that is NotReady or unreachable has its pods marked not Ready,
//! and after the toleration they are evicted; its kubelet is gone, so those pods stay Terminating
//! until they are force-deleted or the node comes back, exactly as on a real cluster. A cordoned
//! node (`spec.unschedulable`, `kubectl cordon`) carries the `node.kubernetes.io/unschedulable`
//! taint and gets no new pods, and nor does a node with a `NoSchedule` taint the pod does not
//! tolerate; its running pods stay.
//!
//! May call: `crate::config`, `crate::disruption`, `crate::object`, `crate::resources`, `crate::store`.

use crate::config::{NodeHealth, SimConfig};
use crate::disruption;
use crate::object::{pod_ready, rfc3339, str_at, terminating, timestamp};
use crate::resources::ResourceDef;
use crate::store::{Deletion, Store, Write, now_rfc3339};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn node_object(config: &SimConfig, index: usize) -> Value {
    let name = config.node_name(index);
    let now = now_rfc3339();
    let mut labels = json!({
        "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
        "beta.kubernetes.io/arch": "arm64", "beta.kubernetes.io/os": "linux",
    });
    if index == 0 {
        labels["node-role.kubernetes.io/control-plane"] = json!("true");
        labels["node-role.kubernetes.io/master"] = json!("true");
    } else {
        for (key, value) in &config.worker_labels {
            labels[key] = json!(value);
        }
    }
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": format!("10.42.{index}.0/24")},
        "status": {
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{}", 10 + index)}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "8049104Ki", "pods": "110", "ephemeral-storage": "61202244Ki"},
            "allocatable": {"cpu": "4", "memory": "8049104Ki", "pods": "110", "ephemeral-storage": "59536530684"},
            "nodeInfo": {
                "architecture": "arm64", "operatingSystem": "linux",
                "kernelVersion": "6.12.25+rpt-rpi-2712", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kubeletVersion": "v1.33.5+k3s1", "kubeProxyVersion": "v1.33.5+k3s1",
                "containerRuntimeVersion": "containerd://2.0.5-k3s2",
                "machineID": format!("{:032x}", 0xc0ffee_u64 + index as u64), "systemUUID": format!("{:032x}", 0xfeed_u64 + index as u64),
                "bootID": format!("{:032x}", 0xb007_u64 + index as u64),
            },
        },
    })
}

/// The uid of the simulated StatefulSet its pods name as their controller.
const STATEFULSET_UID: &str = "5f0c1c3e-0000-4000-a000-000000000001";

fn pod_object(config: &SimConfig, ordinal: usize) -> Value {
    let name = format!("{}-{ordinal}", config.statefulset);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app": config.statefulset,
                "statefulset.kubernetes.io/pod-name": name,
                "apps.kubernetes.io/pod-index": ordinal.to_string(),
                "controller-revision-hash": format!("{}-5d8c9b7f4", config.statefulset),
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": config.statefulset,
                                 "uid": STATEFULSET_UID, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "containers": [{"name": "app", "image": config.image,
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
            "hostname": name, "subdomain": config.statefulset,
            "terminationGracePeriodSeconds": config.grace_period_seconds,
            "restartPolicy": "Always", "schedulerName": "default-scheduler",
        },
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    })
}

fn ready_condition(node: &Value) -> Option<&Value> {
    node["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == "Ready")
}

fn node_is_ready(node: &Value) -> bool {
    ready_condition(node).is_some_and(|c| c["status"] == "True")
}

/// The taint a cordoned node carries (`kubectl cordon` sets `spec.unschedulable`).
const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The taints the node lifecycle controller owns, by the node condition (and status) that
/// calls for them; the `Ready` ones are `NoExecute` too, which evicts the pods that do not
/// tolerate them (kube's `nodeConditionToTaintKeyStatusMap`).
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", "node.kubernetes.io/not-ready"),
    ("Ready", "Unknown", "node.kubernetes.io/unreachable"),
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
];

/// The taints a node should carry, as the node lifecycle controller keeps them: `NoSchedule`
/// for each condition of [`CONDITION_TAINTS`] and for `spec.unschedulable`, `NoExecute` (with
/// its `timeAdded`) while it is not Ready. Taints it does not own are kept, and so are the
/// ones still due, as they were (their `timeAdded` too).
fn lifecycle_taints(node: &Value, now: &str) -> Vec<Value> {
    let conditions = node["status"]["conditions"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for (kind, status, key) in CONDITION_TAINTS {
        if conditions.iter().any(|c| c["type"] == kind && c["status"] == status) {
            wanted.push((key, "NoSchedule"));
            if kind == "Ready" {
                wanted.push((key, "NoExecute"));
            }
        }
    }
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        wanted.push((UNSCHEDULABLE, "NoSchedule"));
    }
    let owned = |key: &str| key == UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == key);
    let is = |taint: &Value, (key, effect): (&str, &str)| taint["key"] == key && taint["effect"] == effect;
    let mut taints: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| !owned(str_at(t, "/key")) || wanted.iter().any(|w| is(t, *w)))
        .cloned()
        .collect();
    for (key, effect) in wanted {
        if !taints.iter().any(|t| is(t, (key, effect))) {
            let mut taint = json!({"key": key, "effect": effect});
            if effect == "NoExecute" {
                taint["timeAdded"] = json!(now);
            }
            taints.push(taint);
        }
    }
    taints
}

/// Whether one of a pod's tolerations tolerates a taint (`v1.Toleration.ToleratesTaint`): the
/// same effect (or none), the same key (or none), and the same value unless it only asks that
/// the key exists.
fn tolerated(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let (effect, key) = (str_at(t, "/effect"), str_at(t, "/key"));
        (effect.is_empty() || effect == str_at(taint, "/effect"))
            && (key.is_empty() || key == str_at(taint, "/key"))
            && match str_at(t, "/operator") {
                "" | "Equal" => str_at(t, "/value") == str_at(taint, "/value"),
                "Exists" => true,
                _ => false,
            }
    })
}

/// Whether the scheduler may put `pod` on `node`: the node is Ready, not cordoned (unless the
/// pod tolerates that, the `NodeUnschedulable` plugin), and every `NoSchedule` or `NoExecute`
/// taint on it is tolerated (the `TaintToleration` plugin).
fn takes(node: &Value, pod: &Value) -> bool {
    let tolerations = pod["spec"]["tolerations"].as_array().map(Vec::as_slice).unwrap_or_default();
    let cordoned = node["spec"]["unschedulable"].as_bool() == Some(true)
        && !tolerated(tolerations, &json!({"key": UNSCHEDULABLE, "effect": "NoSchedule"}));
    let taints = node["spec"]["taints"].as_array().map(Vec::as_slice).unwrap_or_default();
    node_is_ready(node)
        && !cordoned
        && taints
            .iter()
            .filter(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
            .all(|t| tolerated(tolerations, t))
}

/// What one pass of the controllers sees: the time it started and the nodes then.
struct Pass {
    now: Instant,
    wall: jiff::Timestamp,
    nodes: Vec<Arc<Value>>,
}

impl Pass {
    /// The instant of a wall-clock time (at least a millisecond from now).
    fn instant_of(&self, at: jiff::Timestamp) -> Instant {
        self.now + Duration::from_millis((at.as_millisecond() - self.wall.as_millisecond()).max(1) as u64)
    }
}

/// The earliest time a pass asked to be woken at.
#[derive(Default)]
struct Due(Option<Instant>);

impl Due {
    fn at(&mut self, at: Instant) {
        self.0 = Some(self.0.map_or(at, |due| due.min(at)));
    }
}

fn set_pod_scheduled(pod: &mut Value, node: &str) {
    pod["spec"]["nodeName"] = json!(node);
    pod["status"]["conditions"] =
        json!([{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}]);
}

fn set_pod_running(pod: &mut Value, node_index: usize, serial: u64) {
    let now = now_rfc3339();
    let condition = |kind: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now});
    let image = pod["spec"]["containers"][0]["image"].clone();
    let container = pod["spec"]["containers"][0]["name"].clone();
    pod["status"] = json!({
        "phase": "Running",
        "qosClass": "Burstable",
        "hostIP": format!("10.0.0.{}", 10 + node_index),
        "podIP": format!("10.42.{}.{}", node_index % 256, 2 + serial % 250),
        "startTime": now,
        "conditions": [condition("Initialized"), condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
        "containerStatuses": [{
            "name": container, "image": image, "imageID": format!("{}@sha256:5e1f", image.as_str().unwrap_or_default().split(':').next().unwrap_or_default()),
            "containerID": format!("containerd://{serial:064x}"),
            "ready": true, "started": true, "restartCount": 0,
            "state": {"running": {"startedAt": now}},
        }],
    });
}

/// Sets the Ready condition of every container-facing condition of a pod (node lost or back).
fn set_pod_readiness(pod: &mut Value, ready: bool) {
    let status = if ready { "True" } else { "False" };
    if let Some(conditions) = pod["status"]["conditions"].as_array_mut() {
        for c in conditions.iter_mut().filter(|c| c["type"] == "Ready" || c["type"] == "ContainersReady") {
            c["status"] = json!(status);
            c["lastTransitionTime"] = json!(now_rfc3339());
        }
    }
    if let Some(statuses) = pod["status"]["containerStatuses"].as_array_mut() {
        for s in statuses {
            s["ready"] = json!(ready);
        }
    }
}

/// The controllers of the simulated cluster.
pub struct Controllers {
    store: Arc<Store>,
    config: SimConfig,
    pods: Arc<ResourceDef>,
    nodes: Arc<ResourceDef>,
    budgets: Arc<ResourceDef>,
    statefulsets: Arc<ResourceDef>,
    /// Events, which expire after `event_ttl` (those of `events.k8s.io/v1` are the same objects,
    /// served from this storage).
    events: Arc<ResourceDef>,
    /// When each Pending pod (by uid) starts running.
    start_at: Mutex<HashMap<String, Instant>>,
    serial: std::sync::atomic::AtomicU64,
}

impl Controllers {
    pub fn new(store: Arc<Store>, config: SimConfig) -> Self {
        let pods = store.registry.find("", "v1", "pods").expect("pods are built in");
        let nodes = store.registry.find("", "v1", "nodes").expect("nodes are built in");
        let events = store.registry.find("", "v1", "events").expect("events are built in");
        let budgets = store.registry.find("policy", "v1", "poddisruptionbudgets").expect("budgets are built in");
        let statefulsets = store.registry.find("apps", "v1", "statefulsets").expect("statefulsets are built in");
        Self {
            store,
            config,
            pods,
            nodes,
            budgets,
            statefulsets,
            events,
            start_at: Mutex::new(HashMap::new()),
            serial: 0.into(),
        }
    }

    fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Creates the nodes and the StatefulSet's pods (spread round-robin over the nodes).
    pub(crate) fn seed(&self) {
        for index in 0..self.config.nodes {
            self.store
                .create(&Write::to(&self.nodes, ""), node_object(&self.config, index))
                .expect("seeding a fresh store");
        }
        for ordinal in 0..self.config.pods {
            let mut pod = pod_object(&self.config, ordinal);
            if self.config.nodes > 0 {
                let node_index = ordinal % self.config.nodes;
                set_pod_scheduled(&mut pod, &self.config.node_name(node_index));
                if self.config.start_running {
                    set_pod_running(&mut pod, node_index, self.next_serial());
                }
            }
            self.store.create(&Write::to(&self.pods, &self.config.namespace), pod).expect("seeding a fresh store");
        }
    }

    /// Puts a node's kubelet in the given health (the booth unplugging a PicoCluster node): its
    /// `Ready` condition; the node lifecycle pass then taints it.
    pub fn set_node_health(&self, name: &str, health: NodeHealth) -> bool {
        let Ok(node) = self.store.get(&self.nodes, "", name) else {
            return false;
        };
        let uid = str_at(&node, "/metadata/uid").to_string();
        let (status, reason, message) = match health {
            NodeHealth::Ready => ("True", "KubeletReady", "kubelet is posting ready status"),
            NodeHealth::NotReady => ("False", "KubeletNotReady", "container runtime network not ready"),
            NodeHealth::Unreachable => ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
        };
        self.store
            .mutate(&self.nodes, "", name, &uid, |node| {
                let now = now_rfc3339();
                if let Some(conditions) = node["status"]["conditions"].as_array_mut() {
                    for c in conditions.iter_mut().filter(|c| c["type"] == "Ready") {
                        if c["status"] != status {
                            c["lastTransitionTime"] = json!(now);
                        }
                        c["status"] = json!(status);
                        c["reason"] = json!(reason);
                        c["message"] = json!(message);
                        c["lastHeartbeatTime"] = json!(now);
                    }
                }
            })
            .is_some()
    }

    /// One pass of every controller; returns when the next timed transition is due.
    pub fn reconcile(&self) -> Option<Instant> {
        let pass = Pass { now: Instant::now(), wall: jiff::Timestamp::now(), nodes: self.store.all(&self.nodes) };
        let pods = self.store.all(&self.pods);
        let mut due = Due::default();
        self.taint_nodes(&pass);
        self.evict_from_lost_nodes(&pass, &pods, &mut due);
        self.schedule(&pass, &pods);
        self.run_kubelets(&pass, &pods, &mut due);
        self.recreate_missing_replicas(&pods);
        self.sync_budgets(&pass, &mut due);
        if let Some(at) = self.expire_events(pass.now, pass.wall) {
            due.at(at);
        }
        due.0
    }

    /// The node lifecycle controller's taints (see [`lifecycle_taints`]), so that a cordoned or
    /// lost node shows why nothing new is scheduled on it.
    fn taint_nodes(&self, pass: &Pass) {
        let now = rfc3339(pass.wall);
        for node in &pass.nodes {
            let taints = lifecycle_taints(node, &now);
            let current = node["spec"]["taints"].as_array().map(Vec::as_slice).unwrap_or_default();
            if current == taints.as_slice() {
                continue;
            }
            let (name, uid) = (str_at(node, "/metadata/name"), str_at(node, "/metadata/uid"));
            self.store.mutate(&self.nodes, "", name, uid, |node| {
                if !taints.is_empty() {
                    node["spec"]["taints"] = Value::Array(taints);
                } else if let Some(spec) = node["spec"].as_object_mut() {
                    spec.remove("taints");
                }
            });
        }
    }

    /// The node lifecycle controller and its taint manager for lost nodes: the pods of a node
    /// that is not Ready are marked not Ready at once and deleted after the toleration.
    fn evict_from_lost_nodes(&self, pass: &Pass, pods: &[Arc<Value>], due: &mut Due) {
        let Ok(toleration) = jiff::SignedDuration::try_from(self.config.toleration) else { return };
        for node in pass.nodes.iter().filter(|n| !node_is_ready(n)) {
            let since = ready_condition(node).and_then(|c| timestamp(&c["lastTransitionTime"]));
            let Some(evict_at) = since.and_then(|since| since.checked_add(toleration).ok()) else { continue };
            let name = str_at(node, "/metadata/name");
            for pod in pods.iter().filter(|p| str_at(p, "/spec/nodeName") == name && !terminating(p)) {
                let (namespace, pod_name, uid) =
                    (str_at(pod, "/metadata/namespace"), str_at(pod, "/metadata/name"), str_at(pod, "/metadata/uid"));
                if pod_ready(pod) {
                    self.store.mutate(&self.pods, namespace, pod_name, uid, |p| set_pod_readiness(p, false));
                }
                if pass.wall >= evict_at {
                    let deletion = Deletion { uid: Some(uid.into()), ..Deletion::default() };
                    let _ = self.store.delete(&Write::to(&self.pods, namespace), pod_name, &deletion);
                } else {
                    due.at(pass.instant_of(evict_at));
                }
            }
        }
    }

    /// The scheduler: a pod without a node goes to the least loaded node that takes it (see
    /// [`takes`]).
    fn schedule(&self, pass: &Pass, pods: &[Arc<Value>]) {
        let mut load: HashMap<&str, usize> = HashMap::new();
        for pod in pods {
            *load.entry(str_at(pod, "/spec/nodeName")).or_default() += 1;
        }
        for pod in pods.iter().filter(|p| str_at(p, "/spec/nodeName").is_empty() && !terminating(p)) {
            let target = pass
                .nodes
                .iter()
                .filter(|node| takes(node, pod))
                .map(|node| str_at(node, "/metadata/name"))
                .min_by_key(|name| (load.get(name).copied().unwrap_or(0), *name));
            let Some(target) = target else { continue };
            *load.entry(target).or_default() += 1;
            let (namespace, name, uid) =
                (str_at(pod, "/metadata/namespace"), str_at(pod, "/metadata/name"), str_at(pod, "/metadata/uid"));
            self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_scheduled(p, target));
        }
    }

    /// The kubelets of the Ready nodes: a pod being deleted goes at the end of its grace period
    /// (so does one never scheduled), a Pending one runs after its start delay, a running one
    /// whose node came back is Ready again.
    fn run_kubelets(&self, pass: &Pass, pods: &[Arc<Value>], due: &mut Due) {
        let node_index: HashMap<&str, usize> =
            pass.nodes.iter().enumerate().map(|(i, n)| (str_at(n, "/metadata/name"), i)).collect();
        let alive = |node: &str| pass.nodes.iter().any(|n| str_at(n, "/metadata/name") == node && node_is_ready(n));
        let mut start_at = self.start_at.lock().unwrap_or_else(|p| p.into_inner());
        for pod in pods {
            let (namespace, name, uid) =
                (str_at(pod, "/metadata/namespace"), str_at(pod, "/metadata/name"), str_at(pod, "/metadata/uid"));
            let node = str_at(pod, "/spec/nodeName");
            if let Some(deadline) = timestamp(&pod["metadata"]["deletionTimestamp"]) {
                if node.is_empty() || alive(node) {
                    if pass.wall >= deadline {
                        self.store.remove(&self.pods, namespace, name, uid);
                        start_at.remove(uid);
                    } else {
                        due.at(pass.instant_of(deadline));
                    }
                }
                continue;
            }
            if node.is_empty() || !alive(node) {
                continue;
            }
            match pod["status"]["phase"].as_str() {
                Some("Pending") | None => {
                    let at = *start_at.entry(uid.to_string()).or_insert_with(|| pass.now + self.start_delay());
                    if pass.now >= at {
                        let index = node_index.get(node).copied().unwrap_or(0);
                        let serial = self.next_serial();
                        self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_running(p, index, serial));
                        start_at.remove(uid);
                    } else {
                        due.at(at);
                    }
                }
                Some("Running") if !pod_ready(pod) && pod["status"]["containerStatuses"].is_array() => {
                    self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_readiness(p, true));
                }
                _ => {}
            }
        }
    }

    /// The disruption controller: every PodDisruptionBudget's status from the pods as they are
    /// now ([`disruption::sync`]), computed on the budget as stored, so that an eviction's
    /// `disruptedPods` entry written meanwhile is never lost.
    fn sync_budgets(&self, pass: &Pass, due: &mut Due) {
        let budgets = self.store.all(&self.budgets);
        if budgets.is_empty() {
            return;
        }
        let pods = self.store.all(&self.pods);
        let scales = self.controller_scales(&pods);
        let pods: Vec<&Value> = pods.iter().map(|p| p.as_ref()).collect();
        let scale = |controller: &Value| scales.get(str_at(controller, "/uid")).copied();
        for pdb in budgets {
            let (namespace, name, uid) =
                (str_at(&pdb, "/metadata/namespace"), str_at(&pdb, "/metadata/name"), str_at(&pdb, "/metadata/uid"));
            let mut recheck = None;
            self.store.mutate(&self.budgets, namespace, name, uid, |pdb| {
                let synced = disruption::sync(pdb, &pods, &scale, pass.wall);
                pdb["status"] = synced.status;
                recheck = synced.recheck;
            });
            if let Some(at) = recheck {
                due.at(pass.instant_of(at));
            }
        }
    }

    /// The replicas of the controllers the pods name, by uid, as the disruption controller's
    /// finders read them: the simulated StatefulSet has the configured replicas, a StatefulSet
    /// stored through the API its `spec.replicas`; other kinds are not found.
    fn controller_scales(&self, pods: &[Arc<Value>]) -> HashMap<String, i64> {
        let mut scales = HashMap::new();
        for pod in pods {
            let Some(controller) = disruption::controller_of(pod) else { continue };
            let (uid, name) = (str_at(controller, "/uid"), str_at(controller, "/name"));
            if scales.contains_key(uid) || controller["kind"] != "StatefulSet" || controller["apiVersion"] != "apps/v1"
            {
                continue;
            }
            let namespace = str_at(pod, "/metadata/namespace");
            let own = uid == STATEFULSET_UID && name == self.config.statefulset && namespace == self.config.namespace;
            let replicas = if own {
                Some(self.config.pods as i64)
            } else {
                let stored = self.store.get(&self.statefulsets, namespace, name).ok();
                stored
                    .filter(|s| str_at(s, "/metadata/uid") == uid)
                    .map(|s| s["spec"]["replicas"].as_i64().unwrap_or(1))
            };
            if let Some(replicas) = replicas {
                scales.insert(uid.to_string(), replicas);
            }
        }
        scales
    }

    fn start_delay(&self) -> Duration {
        let jitter_ms = self.config.start_jitter.as_millis() as u64;
        let jitter = if jitter_ms == 0 { 0 } else { rand::random_range(0..=jitter_ms) };
        self.config.start_delay + Duration::from_millis(jitter)
    }

    /// The API server's event TTL: removes the Events older than `event_ttl`; returns when the
    /// next one expires.
    fn expire_events(&self, now: Instant, wall: jiff::Timestamp) -> Option<Instant> {
        let ttl = jiff::SignedDuration::try_from(self.config.event_ttl).ok()?;
        let mut next: Option<Instant> = None;
        for event in self.store.all(&self.events) {
            let Some(expires) = timestamp(&event["metadata"]["creationTimestamp"]).map(|t| t + ttl) else {
                continue;
            };
            if wall >= expires {
                let (namespace, name) = (str_at(&event, "/metadata/namespace"), str_at(&event, "/metadata/name"));
                self.store.remove(&self.events, namespace, name, str_at(&event, "/metadata/uid"));
            } else {
                let left = Duration::try_from(expires.duration_since(wall)).unwrap_or_default();
                next = Some(next.map_or(now + left, |n| n.min(now + left)));
            }
        }
        next
    }

    /// The StatefulSet controller: every ordinal below the replica count has a pod.
    fn recreate_missing_replicas(&self, pods: &[Arc<Value>]) {
        for ordinal in 0..self.config.pods {
            let name = format!("{}-{ordinal}", self.config.statefulset);
            let exists = pods.iter().any(|p| {
                str_at(p, "/metadata/name") == name && str_at(p, "/metadata/namespace") == self.config.namespace
            });
            if !exists {
                // A pod recreated by a racing pass already exists: AlreadyExists is fine.
                let _ = self
                    .store
                    .create(&Write::to(&self.pods, &self.config.namespace), pod_object(&self.config, ordinal));
            }
        }
    }

    /// Runs the controllers until `stop` fires: on every change, and when a timer is due.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let changed = self.store.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let next = self.reconcile();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = changed => {
                    // Let a burst of changes land before the next pass.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                _ = sleep => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str, unschedulable: bool, taints: Value) -> Value {
        json!({"metadata": {"name": "n"},
               "spec": {"unschedulable": unschedulable, "taints": taints},
               "status": {"conditions": [{"type": "Ready", "status": ready}, {"type": "MemoryPressure", "status": "False"}]}})
    }

    fn keys(taints: &[Value]) -> Vec<String> {
        taints.iter().map(|t| format!("{}:{}", str_at(t, "/key"), str_at(t, "/effect"))).collect()
    }

    #[test]
    fn cordon_and_lost_nodes_are_tainted_and_the_taints_go_with_the_cause() {
        let now = "2026-11-29T12:00:00Z";
        assert!(lifecycle_taints(&node("True", false, json!([])), now).is_empty());
        let cordoned = lifecycle_taints(&node("True", true, json!([])), now);
        assert_eq!(cordoned, [json!({"key": UNSCHEDULABLE, "effect": "NoSchedule"})]);
        let lost = lifecycle_taints(
            &node("Unknown", false, json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])),
            now,
        );
        assert_eq!(
            keys(&lost),
            [
                "dedicated:NoSchedule",
                "node.kubernetes.io/unreachable:NoSchedule",
                "node.kubernetes.io/unreachable:NoExecute"
            ]
        );
        assert_eq!(lost[2]["timeAdded"], now);
        // Back and uncordoned: only the taint nobody here owns stays; a kept taint keeps its time.
        let back = node("True", false, Value::Array(lost.clone()));
        assert_eq!(keys(&lifecycle_taints(&back, now)), ["dedicated:NoSchedule"]);
        let still_lost = node("Unknown", false, Value::Array(lost.clone()));
        assert_eq!(lifecycle_taints(&still_lost, "2026-11-29T12:05:00Z"), lost);
    }

    #[test]
    fn the_scheduler_skips_cordoned_and_untolerated_tainted_nodes() {
        let pod = |tolerations: Value| json!({"spec": {"tolerations": tolerations}});
        let plain = pod(json!([]));
        assert!(takes(&node("True", false, json!([])), &plain));
        assert!(!takes(&node("False", false, json!([])), &plain), "not Ready");
        assert!(!takes(&node("True", true, json!([])), &plain), "cordoned");
        let tolerant = pod(json!([{"key": UNSCHEDULABLE, "operator": "Exists", "effect": "NoSchedule"}]));
        assert!(takes(&node("True", true, json!([])), &tolerant), "tolerates the cordon");

        let gpu = node("True", false, json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]));
        assert!(!takes(&gpu, &plain));
        assert!(takes(&gpu, &pod(json!([{"key": "dedicated", "value": "gpu"}]))), "Equal, any effect");
        assert!(!takes(&gpu, &pod(json!([{"key": "dedicated", "value": "cpu"}]))), "another value");
        assert!(takes(&gpu, &pod(json!([{"operator": "Exists"}]))), "tolerates everything");
        assert!(!takes(&gpu, &pod(json!([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]))));
        let soft = node("True", false, json!([{"key": "dedicated", "effect": "PreferNoSchedule"}]));
        assert!(takes(&soft, &plain), "PreferNoSchedule is a preference");
    }
}
