//! The simulated cluster's moving parts: the nodes, a scheduler, the kubelets and the
//! StatefulSet controller, folded into one reconcile loop over the store.
//!
//! What it models: a deleted pod turns Terminating and disappears after
//! its grace period, then the StatefulSet recreates it (Pending, then Running and Ready after a
//! start delay with jitter). A node that is NotReady or unreachable has its pods marked not Ready,
//! and after the toleration they are evicted; its kubelet is gone, so those pods stay Terminating
//! until they are force-deleted or the node comes back, exactly as on a real cluster.
//!
//! May call: `crate::config`, `crate::object`, `crate::resources`, `crate::store`.

use crate::config::{NodeHealth, SimConfig};
use crate::object::{pod_ready, str_at, timestamp};
use crate::resources::ResourceDef;
use crate::store::{Deletion, Store, Write, now_rfc3339};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
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
                                 "uid": "5f0c1c3e-0000-4000-a000-000000000001", "controller": true, "blockOwnerDeletion": true}],
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
    /// Events of both APIs (`v1` and `events.k8s.io/v1`), which expire after `event_ttl`.
    events: [Arc<ResourceDef>; 2],
    /// When each Pending pod (by uid) starts running.
    start_at: Mutex<HashMap<String, Instant>>,
    serial: std::sync::atomic::AtomicU64,
}

impl Controllers {
    pub fn new(store: Arc<Store>, config: SimConfig) -> Self {
        let pods = store.registry.find("", "v1", "pods").expect("pods are built in");
        let nodes = store.registry.find("", "v1", "nodes").expect("nodes are built in");
        let events = [
            store.registry.find("", "v1", "events").expect("events are built in"),
            store.registry.find("events.k8s.io", "v1", "events").expect("events are built in"),
        ];
        Self { store, config, pods, nodes, events, start_at: Mutex::new(HashMap::new()), serial: 0.into() }
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

    /// Puts a node's kubelet in the given health (the booth unplugging a PicoCluster node).
    pub fn set_node_health(&self, name: &str, health: NodeHealth) -> bool {
        let Ok(node) = self.store.get(&self.nodes, "", name) else {
            return false;
        };
        let uid = str_at(&node, "/metadata/uid").to_string();
        let (status, reason, message, taint) = match health {
            NodeHealth::Ready => ("True", "KubeletReady", "kubelet is posting ready status", None),
            NodeHealth::NotReady => (
                "False",
                "KubeletNotReady",
                "container runtime network not ready",
                Some("node.kubernetes.io/not-ready"),
            ),
            NodeHealth::Unreachable => (
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                Some("node.kubernetes.io/unreachable"),
            ),
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
                node["spec"]["taints"] = match taint {
                    Some(key) => json!([{"key": key, "effect": "NoExecute", "timeAdded": now}]),
                    None => Value::Null,
                };
                if let Some(spec) = node["spec"].as_object_mut() {
                    spec.retain(|_, v| !v.is_null());
                }
            })
            .is_some()
    }

    /// One pass of every controller; returns when the next timed transition is due.
    pub fn reconcile(&self) -> Option<Instant> {
        let now = Instant::now();
        let wall = jiff::Timestamp::now();
        let mut next: Option<Instant> = None;
        let mut due = |at: Instant| next = Some(next.map_or(at, |n: Instant| n.min(at)));

        let nodes = self.store.all(&self.nodes);
        let node_index: HashMap<&str, usize> =
            nodes.iter().enumerate().map(|(i, n)| (str_at(n, "/metadata/name"), i)).collect();
        let ready_nodes: BTreeMap<&str, &Value> =
            nodes.iter().filter(|n| node_is_ready(n)).map(|n| (str_at(n, "/metadata/name"), n.as_ref())).collect();
        // When each lost node's pods are evicted.
        let evict_at: HashMap<&str, jiff::Timestamp> = nodes
            .iter()
            .filter(|n| !node_is_ready(n))
            .filter_map(|n| {
                let since = ready_condition(n).and_then(|c| timestamp(&c["lastTransitionTime"]))?;
                let toleration = jiff::SignedDuration::try_from(self.config.toleration).ok()?;
                Some((str_at(n, "/metadata/name"), since + toleration))
            })
            .collect();

        let pods = self.store.all(&self.pods);
        let mut load: HashMap<&str, usize> = ready_nodes.keys().map(|n| (*n, 0)).collect();
        for pod in &pods {
            if let Some(count) = load.get_mut(str_at(pod, "/spec/nodeName")) {
                *count += 1;
            }
        }
        let mut start_at = self.start_at.lock().unwrap_or_else(|p| p.into_inner());
        for pod in &pods {
            let (namespace, name, uid) =
                (str_at(pod, "/metadata/namespace"), str_at(pod, "/metadata/name"), str_at(pod, "/metadata/uid"));
            let node = str_at(pod, "/spec/nodeName");
            let node_alive = ready_nodes.contains_key(node);
            if let Some(deadline) = timestamp(&pod["metadata"]["deletionTimestamp"]) {
                if node.is_empty() || node_alive {
                    if wall >= deadline {
                        self.store.remove(&self.pods, namespace, name, uid);
                        start_at.remove(uid);
                    } else {
                        due(now
                            + Duration::from_millis((deadline.as_millisecond() - wall.as_millisecond()).max(1) as u64));
                    }
                }
                continue;
            }
            if node.is_empty() {
                let target = load.iter().min_by_key(|(n, count)| (**count, **n)).map(|(n, _)| n.to_string());
                if let Some(target) = target {
                    if let Some(count) = load.get_mut(target.as_str()) {
                        *count += 1;
                    }
                    self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_scheduled(p, &target));
                }
                continue;
            }
            if !node_alive {
                if pod_ready(pod) {
                    self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_readiness(p, false));
                }
                match evict_at.get(node) {
                    Some(at) if wall >= *at => {
                        let _ = self.store.delete(
                            &Write::to(&self.pods, namespace),
                            name,
                            &Deletion { uid: Some(uid.into()), ..Deletion::default() },
                        );
                    }
                    Some(at) => {
                        due(now + Duration::from_millis((at.as_millisecond() - wall.as_millisecond()).max(1) as u64))
                    }
                    None => {}
                }
                continue;
            }
            match pod["status"]["phase"].as_str() {
                Some("Pending") | None => {
                    let at = *start_at.entry(uid.to_string()).or_insert_with(|| now + self.start_delay());
                    if now >= at {
                        let index = node_index.get(node).copied().unwrap_or(0);
                        let serial = self.next_serial();
                        self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_running(p, index, serial));
                        start_at.remove(uid);
                    } else {
                        due(at);
                    }
                }
                Some("Running") if !pod_ready(pod) && pod["status"]["containerStatuses"].is_array() => {
                    self.store.mutate(&self.pods, namespace, name, uid, |p| set_pod_readiness(p, true));
                }
                _ => {}
            }
        }
        drop(start_at);
        self.recreate_missing_replicas(&pods);
        if let Some(at) = self.expire_events(now, wall) {
            due(at);
        }
        next
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
        for def in &self.events {
            for event in self.store.all(def) {
                let Some(expires) = timestamp(&event["metadata"]["creationTimestamp"]).map(|t| t + ttl) else {
                    continue;
                };
                if wall >= expires {
                    let (namespace, name) = (str_at(&event, "/metadata/namespace"), str_at(&event, "/metadata/name"));
                    self.store.remove(def, namespace, name, str_at(&event, "/metadata/uid"));
                } else {
                    let left = Duration::try_from(expires.duration_since(wall)).unwrap_or_default();
                    next = Some(next.map_or(now + left, |n| n.min(now + left)));
                }
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
