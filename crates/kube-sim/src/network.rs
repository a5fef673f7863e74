//! The simulated cluster's network: the workload's containers, its Service, the endpoints
//! controller and kube-proxy, so the booth's traffic in `demo` and the tests is real traffic.
//!
//! - Containers: every pod of the StatefulSet whose container runs gets the program the cluster
//!   was given ([`crate::ContainerProgram`], the booth's demo workload) on its own loopback port. The pod IP in
//!   its status maps to that port (the pod network). The container keeps serving while the pod
//!   is Terminating and stops when the pod object is gone (the end of its grace period), so
//!   traffic stops reaching a deleted pod because it left the endpoints, not because it died.
//! - The Service named after the StatefulSet (ClusterIP, port 80 → 8080) and the endpoints controller: one
//!   `Endpoints` object (Ready pods in `addresses`, not-Ready ones in `notReadyAddresses`, a pod
//!   with a `deletionTimestamp` nowhere) and one `discovery.k8s.io/v1` EndpointSlice (every pod
//!   with an IP, with the `ready`/`serving`/`terminating` conditions kube-controller-manager sets).
//! - kube-proxy: the Service address is a loopback TCP proxy; each new connection goes to one
//!   endpoint picked at random among the slice's `ready` ones, as kube-proxy's iptables mode does.
//!
//! Without a program, pods have no process behind them: their endpoints follow readiness alone.
//!
//! May call: `crate::config`, `crate::object`, `crate::resources`, `crate::store`.

use crate::config::{ContainerProgram, RunningContainer, SimConfig};
use crate::object::{pod_ready, str_at, terminating};
use crate::resources::ResourceDef;
use crate::store::{Store, Write};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The Service's port and the containers' port.
const SERVICE_PORT: u16 = 80;
const CONTAINER_PORT: u16 = 8080;
/// The cluster IP the simulated Service is given (K3s' service CIDR is 10.43.0.0/16).
const CLUSTER_IP: &str = "10.43.80.80";

/// One pod's container: its server and where it listens.
struct Container {
    pod: String,
    pod_ip: String,
    addr: SocketAddr,
    running: Arc<dyn RunningContainer>,
    stop: CancellationToken,
}

/// The network of the simulated cluster; see the module documentation.
pub struct Network {
    store: Arc<Store>,
    namespace: String,
    service: String,
    /// What the containers run; without it no container is started.
    program: Option<Arc<dyn ContainerProgram>>,
    pods: Arc<ResourceDef>,
    services: Arc<ResourceDef>,
    endpoints: Arc<ResourceDef>,
    slices: Arc<ResourceDef>,
    /// Running containers by pod uid.
    containers: Mutex<HashMap<String, Container>>,
    /// Pods (by uid) whose container could not listen (no free port or file descriptor): tried
    /// once and logged once, so a huge simulated StatefulSet cannot flood the log.
    refused: Mutex<std::collections::HashSet<String>>,
    /// The Service's address on this machine (what the ClusterIP is in `demo`).
    service_addr: SocketAddr,
}

fn container_running(pod: &Value) -> bool {
    pod["status"]["containerStatuses"].as_array().is_some_and(|s| s.iter().any(|s| s["state"]["running"].is_object()))
}

/// An endpoint as the controllers see a pod: what the Endpoints and the slice say about it.
#[derive(Debug, Clone, PartialEq)]
struct Endpoint {
    ip: String,
    name: String,
    uid: String,
    node: String,
    ready: bool,
    serving: bool,
    terminating: bool,
}

impl Endpoint {
    fn of(pod: &Value) -> Option<Self> {
        let ip = str_at(pod, "/status/podIP");
        if ip.is_empty() {
            return None;
        }
        let terminating = terminating(pod);
        Some(Self {
            ip: ip.into(),
            name: str_at(pod, "/metadata/name").into(),
            uid: str_at(pod, "/metadata/uid").into(),
            node: str_at(pod, "/spec/nodeName").into(),
            // The endpoints controller: a terminating pod is never ready, whatever its condition.
            ready: pod_ready(pod) && !terminating,
            serving: pod_ready(pod),
            terminating,
        })
    }

    fn address(&self, namespace: &str) -> Value {
        json!({"ip": self.ip, "nodeName": self.node,
               "targetRef": {"kind": "Pod", "namespace": namespace, "name": self.name, "uid": self.uid}})
    }
}

/// The `subsets` of the Endpoints object for these pods (pure): Ready ones in `addresses`, the
/// others that are not terminating in `notReadyAddresses`, terminating ones left out.
fn endpoints_subsets(endpoints: &[Endpoint], namespace: &str) -> Value {
    let ready: Vec<Value> = endpoints.iter().filter(|e| e.ready).map(|e| e.address(namespace)).collect();
    let not_ready: Vec<Value> =
        endpoints.iter().filter(|e| !e.ready && !e.terminating).map(|e| e.address(namespace)).collect();
    if ready.is_empty() && not_ready.is_empty() {
        return json!([]);
    }
    let mut subset = json!({"ports": [{"name": "http", "port": CONTAINER_PORT, "protocol": "TCP"}]});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    json!([subset])
}

/// The `endpoints` of the EndpointSlice (pure), with the conditions kube-controller-manager sets.
fn slice_endpoints(endpoints: &[Endpoint], namespace: &str) -> Value {
    endpoints
        .iter()
        .map(|e| {
            json!({
                "addresses": [e.ip],
                "conditions": {"ready": e.ready, "serving": e.serving, "terminating": e.terminating},
                "nodeName": e.node,
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": e.name, "uid": e.uid},
            })
        })
        .collect()
}

/// The addresses kube-proxy sends new connections to: the slice's `ready` endpoints (pure).
fn ready_addresses(slice: &Value) -> Vec<String> {
    let Some(endpoints) = slice["endpoints"].as_array() else { return Vec::new() };
    endpoints
        .iter()
        .filter(|e| e["conditions"]["ready"] == true)
        .filter_map(|e| e["addresses"][0].as_str().map(str::to_string))
        .collect()
}

impl Network {
    /// Creates the Service and starts the controllers and the proxy until `stop` fires. Binds
    /// the Service address on 127.0.0.1 (a free port) at once, so it is known before any traffic.
    pub fn start(store: Arc<Store>, config: &SimConfig, stop: CancellationToken) -> std::io::Result<Arc<Self>> {
        let find = |group: &str, plural: &str| store.registry.find(group, "v1", plural).expect("built in");
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let service_addr = listener.local_addr()?;
        let network = Arc::new(Self {
            namespace: config.namespace.clone(),
            service: config.statefulset.clone(),
            program: config.program.clone(),
            pods: find("", "pods"),
            services: find("", "services"),
            endpoints: find("", "endpoints"),
            slices: find("discovery.k8s.io", "endpointslices"),
            containers: Mutex::new(HashMap::new()),
            refused: Mutex::new(Default::default()),
            service_addr,
            store,
        });
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tokio::spawn(network.clone().proxy(listener, stop.clone()));
        if config.network {
            network.create_service();
            tokio::spawn(network.clone().run(stop));
        }
        Ok(network)
    }

    /// Where the Service answers (`http://<addr>/`).
    pub fn service_addr(&self) -> SocketAddr {
        self.service_addr
    }

    /// The answers each running container gave so far, by pod name (a container is gone with its
    /// pod object).
    pub fn answered(&self) -> HashMap<String, u64> {
        let containers = self.containers.lock().unwrap_or_else(|p| p.into_inner());
        containers.values().map(|c| (c.pod.clone(), c.running.answered())).collect()
    }

    /// The loopback address of the container of the pod with this name, if it runs.
    pub fn container_addr(&self, pod: &str) -> Option<SocketAddr> {
        let containers = self.containers.lock().unwrap_or_else(|p| p.into_inner());
        containers.values().find(|c| c.pod == pod).map(|c| c.addr)
    }

    fn create_service(&self) {
        let service = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": self.service, "namespace": self.namespace, "labels": {"app": self.service}},
            "spec": {
                "type": "ClusterIP", "clusterIP": CLUSTER_IP, "clusterIPs": [CLUSTER_IP],
                "selector": {"app": self.service},
                // As a manifest would write it, so `kubectl apply --server-side` of one co-owns
                // the fields instead of conflicting (the simulation does not default built-in
                // types, so kube-apiserver's `protocol: TCP` is left out).
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}],
                "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            },
            "status": {"loadBalancer": {}},
        });
        // Already there when the cluster was seeded before: fine.
        let _ = self.store.create(&Write::to(&self.services, &self.namespace), service);
    }

    /// The workload's pods: those the Service selects.
    fn selected_pods(&self) -> Vec<Arc<Value>> {
        let mut pods: Vec<Arc<Value>> = self
            .store
            .all(&self.pods)
            .into_iter()
            .filter(|p| {
                str_at(p, "/metadata/namespace") == self.namespace && str_at(p, "/metadata/labels/app") == self.service
            })
            .collect();
        pods.sort_by(|a, b| str_at(a, "/metadata/name").cmp(str_at(b, "/metadata/name")));
        pods
    }

    /// The kubelets' part: starts a container for every pod whose container runs, stops those
    /// whose pod object is gone.
    fn run_containers(&self, pods: &[Arc<Value>]) {
        let Some(program) = &self.program else { return };
        let mut containers = self.containers.lock().unwrap_or_else(|p| p.into_inner());
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let uids: std::collections::HashSet<&str> = pods.iter().map(|p| str_at(p, "/metadata/uid")).collect();
        refused.retain(|uid| uids.contains(uid.as_str()));
        containers.retain(|uid, container| {
            let alive = uids.contains(uid.as_str());
            if !alive {
                container.stop.cancel();
            }
            alive
        });
        for pod in pods {
            let uid = str_at(pod, "/metadata/uid");
            let ip = str_at(pod, "/status/podIP");
            let skip = containers.contains_key(uid) || refused.contains(uid);
            if skip || ip.is_empty() || !container_running(pod) || terminating(pod) {
                continue;
            }
            let name = str_at(pod, "/metadata/name");
            match start_container(program.as_ref(), name) {
                Ok((addr, running, stop)) => {
                    let container = Container { pod: name.into(), pod_ip: ip.into(), addr, running, stop };
                    containers.insert(uid.into(), container);
                }
                Err(error) => {
                    tracing::warn!(%error, pod = str_at(pod, "/metadata/name"), "simulated container could not listen");
                    refused.insert(uid.to_string());
                }
            }
        }
    }

    /// The endpoints controllers' part: the Endpoints object and the EndpointSlice. With a
    /// program, a pod is an endpoint once its container listens, so the proxy never sends to a
    /// port not yet open.
    fn update_endpoints(&self, pods: &[Arc<Value>]) {
        let listening: Option<std::collections::HashSet<String>> = self.program.as_ref().map(|_| {
            let containers = self.containers.lock().unwrap_or_else(|p| p.into_inner());
            containers.values().map(|c| c.pod_ip.clone()).collect()
        });
        let endpoints: Vec<Endpoint> = pods
            .iter()
            .filter_map(|p| Endpoint::of(p))
            .filter(|e| listening.as_ref().is_none_or(|l| l.contains(&e.ip)))
            .collect();
        let subsets = endpoints_subsets(&endpoints, &self.namespace);
        match self.store.get(&self.endpoints, &self.namespace, &self.service) {
            Ok(existing) => {
                let uid = str_at(&existing, "/metadata/uid").to_string();
                self.store.mutate(&self.endpoints, &self.namespace, &self.service, &uid, |e| e["subsets"] = subsets);
            }
            Err(_) => {
                let object = json!({"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": self.service, "namespace": self.namespace, "labels": {"app": self.service}},
                    "subsets": subsets});
                let _ = self.store.create(&Write::to(&self.endpoints, &self.namespace), object);
            }
        }
        let slice_endpoints = slice_endpoints(&endpoints, &self.namespace);
        match self.slice() {
            Some(existing) => {
                let (name, uid) =
                    (str_at(&existing, "/metadata/name").to_string(), str_at(&existing, "/metadata/uid").to_string());
                self.store.mutate(&self.slices, &self.namespace, &name, &uid, |s| s["endpoints"] = slice_endpoints);
            }
            None => {
                let object = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": format!("{}-", self.service), "namespace": self.namespace,
                                 "labels": {"kubernetes.io/service-name": self.service,
                                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
                    "addressType": "IPv4",
                    "ports": [{"name": "http", "port": CONTAINER_PORT, "protocol": "TCP"}],
                    "endpoints": slice_endpoints});
                let _ = self.store.create(&Write::to(&self.slices, &self.namespace), object);
            }
        }
    }

    /// The Service's EndpointSlice.
    fn slice(&self) -> Option<Arc<Value>> {
        self.store.all(&self.slices).into_iter().find(|s| {
            str_at(s, "/metadata/namespace") == self.namespace
                && str_at(s, "/metadata/labels/kubernetes.io~1service-name") == self.service
        })
    }

    fn reconcile(&self) {
        let pods = self.selected_pods();
        self.run_containers(&pods);
        self.update_endpoints(&pods);
    }

    async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let changed = self.store.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.reconcile();
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = changed => {}
            }
        }
        for container in self.containers.lock().unwrap_or_else(|p| p.into_inner()).values() {
            container.stop.cancel();
        }
    }

    /// Where a new connection goes: a random ready endpoint of the slice, on its container's
    /// loopback port; `None` when the Service has no ready endpoint.
    fn pick_backend(&self) -> Option<SocketAddr> {
        let ready = ready_addresses(self.slice()?.as_ref());
        let containers = self.containers.lock().unwrap_or_else(|p| p.into_inner());
        let backends: Vec<SocketAddr> =
            containers.values().filter(|c| ready.contains(&c.pod_ip)).map(|c| c.addr).collect();
        use rand::seq::IndexedRandom;
        backends.choose(&mut rand::rng()).copied()
    }

    /// kube-proxy: one backend per connection, bytes copied both ways until either side closes.
    async fn proxy(self: Arc<Self>, listener: tokio::net::TcpListener, stop: CancellationToken) {
        loop {
            let mut client = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            // No ready endpoint: the connection is refused (closed), as kube-proxy rejects it.
            let Some(backend) = self.pick_backend() else { continue };
            let stop = stop.clone();
            tokio::spawn(async move {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else { return };
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                }
            });
        }
    }
}

/// A started container: where it listens, what it reports, and what stops it.
type Started = (SocketAddr, Arc<dyn RunningContainer>, CancellationToken);

/// Starts one container: `program` as pod `name` on a free loopback port.
fn start_container(program: &dyn ContainerProgram, name: &str) -> std::io::Result<Started> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let stop = CancellationToken::new();
    let running = program.start(name, listener, stop.clone());
    Ok((addr, running, stop))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, ready: bool, terminating: bool) -> Endpoint {
        Endpoint {
            ip: format!("10.42.0.{}", name.len()),
            name: name.into(),
            uid: format!("uid-{name}"),
            node: "n".into(),
            ready,
            serving: ready || terminating,
            terminating,
        }
    }

    #[test]
    fn endpoints_hold_ready_pods_and_leave_terminating_ones_out() {
        let pods = [endpoint("a", true, false), endpoint("bb", false, false), endpoint("ccc", false, true)];
        let subsets = endpoints_subsets(&pods, "demopod");
        assert_eq!(subsets[0]["addresses"].as_array().unwrap().len(), 1);
        assert_eq!(subsets[0]["addresses"][0]["targetRef"]["name"], "a");
        assert_eq!(subsets[0]["notReadyAddresses"][0]["targetRef"]["name"], "bb");
        assert!(!subsets.to_string().contains("ccc"));
        assert_eq!(endpoints_subsets(&[], "demopod"), json!([]));
    }

    #[test]
    fn the_proxy_uses_only_the_slices_ready_endpoints() {
        let pods = [endpoint("a", true, false), endpoint("bb", false, false), endpoint("ccc", false, true)];
        let slice = json!({"endpoints": slice_endpoints(&pods, "demopod")});
        assert_eq!(slice["endpoints"][2]["conditions"], json!({"ready": false, "serving": true, "terminating": true}));
        assert_eq!(ready_addresses(&slice), ["10.42.0.1"]);
    }
}
