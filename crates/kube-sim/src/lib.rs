//! A simulated Kubernetes API server over real HTTP, for tests and demos of Kubernetes clients
//! and operators.
//!
//! It speaks kube-apiserver's wire format (discovery, OpenAPI v3, JSON objects, `Status` errors
//! with their causes, chunked watch streams with bookmarks, one global resource version, 410 Gone
//! for compacted history, paging, label and field selectors, merge / JSON / strategic merge patch
//! and server-side apply with `managedFields`, dry runs, graceful deletion, finalizers, status
//! subresources, CRDs with their structural schemas enforced, server-side `Table` printing), so a
//! kube-rs client, a stock `kubectl` and the official Python and JavaScript clients work against
//! it unchanged. It also runs a small cluster's controllers: nodes, a scheduler, kubelets, one
//! StatefulSet, its network (containers answering HTTP, a Service, endpoints, a proxy) and its
//! PodDisruptionBudgets, which evictions (`kubectl drain`) honour.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = kube_sim::SimCluster::start(kube_sim::SimConfig::default());
//! let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
//! println!("kubectl --server {}", server.url());
//! # Ok(()) }
//! ```
//!
//! The layout, from the wire down:
//!
//! - `api`: the routes (discovery, OpenAPI, resources by verb, `/sim/...` controls) and the
//!   handlers that map requests onto the store; `watch` streams; `table`: kubectl's table form;
//!   `openapi`: the OpenAPI documents kubectl reads;
//! - `params`: query parameters as kube-apiserver reads them; [`error`]: `Status` errors;
//! - [`store`]: objects, resource versions, watch history and API semantics, with `schema`
//!   (custom resources pruned, defaulted, validated), `merge` (strategic merge patch) and
//!   `apply` (server-side apply and `managedFields`) beneath it;
//! - [`auth`] and [`rbac`]: with a token file ([`SimConfig::tokens`]), every request is
//!   authenticated (401) and authorised by RBAC (403), as kube-apiserver does it; `reviews`:
//!   `SelfSubjectAccessReview`, `SelfSubjectRulesReview`, `SelfSubjectReview`; `bootstrap`:
//!   the system namespaces and the bootstrap RBAC policy every cluster starts with;
//! - `resources`: the type registry, with `conversion` for the types served as a converted view
//!   of another's storage (`events.k8s.io` Events are the core Events); [`selectors`], `field`:
//!   parsing and field errors; `object`: reading objects (a pod's readiness, timestamps);
//! - [`controllers`]: nodes (taints, cordons), scheduler, kubelets, the StatefulSet and the
//!   disruption controller, whose arithmetic is `disruption`'s; `eviction`: the `pods/eviction`
//!   subresource; [`network`]: containers, Service, endpoints and kube-proxy; [`config`]: what a
//!   cluster is made of.
//!
//! What it serves beyond the built-in types (the embedding project's CRDs) and what runs in
//! its containers are given in [`SimConfig`]; the crate knows nothing of its users.
//!
//! May call: nothing else of the crate.

mod api;
mod apply;
pub mod auth;
mod bootstrap;
pub mod config;
pub mod controllers;
mod conversion;
mod disruption;
pub mod error;
mod eviction;
mod field;
mod merge;
pub mod network;
mod object;
mod openapi;
mod params;
mod protobuf;
pub mod rbac;
mod resources;
mod reviews;
mod schema;
pub mod selectors;
pub mod store;
mod table;
pub mod tls;
pub mod watch;

pub use auth::{TokenFile, TokenFileError};
pub use config::{ContainerProgram, NodeHealth, RunningContainer, SimConfig};
pub use error::ApiError;
pub use resources::ResourceDef;
pub use store::{Deletion, Part, PatchKind, Store, Write, WriteMode, Written};
pub use tls::{CertFiles, ServingCert, TlsError};

use controllers::Controllers;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[cfg(test)]
/// The CRDs the unit tests serve: a real project's (conferenceli's Booth and Lead, as they stood
/// when the simulation became a crate of its own), kept as fixtures under `tests/fixtures/`.
pub(crate) fn fixture_crds() -> Vec<serde_json::Value> {
    [
        include_str!("../tests/fixtures/booths.conferenceli.dev.yaml"),
        include_str!("../tests/fixtures/leads.conferenceli.dev.yaml"),
    ]
    .iter()
    .map(|yaml| serde_norway::from_str(yaml).expect("the fixture CRDs are YAML"))
    .collect()
}

/// Request counts per verb and resource, and open watches per resource (`GET /sim/stats`).
#[derive(Debug, Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    watches: Mutex<BTreeMap<String, i64>>,
}

impl Stats {
    fn count(&self, verb: &str, resource: &str) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry(verb.into()).or_default().entry(resource.into()).or_default() += 1;
    }

    /// Watches open now on `resource` (`pods`, `nodes`, `booths.conferenceli.dev`).
    pub fn open_watches(&self, resource: &str) -> i64 {
        self.watches.lock().unwrap_or_else(|p| p.into_inner()).get(resource).copied().unwrap_or(0)
    }

    /// Requests served so far with `verb` on `resource`.
    pub fn requests(&self, verb: &str, resource: &str) -> u64 {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.get(verb).and_then(|r| r.get(resource)).copied().unwrap_or(0)
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let watches = self.watches.lock().unwrap_or_else(|p| p.into_inner()).clone();
        serde_json::json!({"openWatches": watches, "requests": requests})
    }
}

/// Counts a watch as open for as long as it lives.
pub(crate) struct WatchGuard {
    stats: Arc<Stats>,
    resource: String,
}

impl WatchGuard {
    fn open(stats: Arc<Stats>, resource: String) -> Self {
        *stats.watches.lock().unwrap_or_else(|p| p.into_inner()).entry(resource.clone()).or_default() += 1;
        Self { stats, resource }
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        *self.stats.watches.lock().unwrap_or_else(|p| p.into_inner()).entry(self.resource.clone()).or_default() -= 1;
    }
}

/// What the HTTP handlers share.
pub(crate) struct SimShared {
    pub store: Arc<Store>,
    pub controllers: Arc<Controllers>,
    pub stats: Arc<Stats>,
    bookmark_interval: Duration,
    /// Who may do what: with a token file every request is authenticated and authorised
    /// (`crate::auth`, `crate::rbac`); without one everything is allowed.
    pub tokens: Option<Arc<auth::TokenFile>>,
    /// Fires when the serving listener stops, ending its watch streams.
    stop: CancellationToken,
    /// Asks the server to restart, down for the given time (`POST /sim/restart`).
    restart: tokio::sync::mpsc::Sender<Duration>,
}

impl SimShared {
    /// Restarts the server after a moment (so the answer to the request that asked leaves first):
    /// every connection and watch is cut, nothing answers for `down`, and the watch history is
    /// gone, so a client resuming from an old resource version gets 410 Gone, as from a real API
    /// server whose watch cache restarted.
    pub fn restart(&self, down: Duration) -> bool {
        let restart = self.restart.clone();
        match restart.try_reserve_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    permit.send(down);
                });
                true
            }
            Err(_) => false,
        }
    }
}

/// A simulated cluster: its state outlives any one HTTP server, so tests can stop the server and
/// start another on the same address ("the API server restarted") with the objects intact.
pub struct SimCluster {
    pub store: Arc<Store>,
    pub controllers: Arc<Controllers>,
    /// The workload's Service, endpoints and containers.
    pub network: Arc<network::Network>,
    pub stats: Arc<Stats>,
    config: SimConfig,
    /// Stops the controllers and the network when the cluster is dropped.
    stop: CancellationToken,
}

impl SimCluster {
    /// Builds the cluster (nodes, pods, the configured CRDs and objects) and starts its
    /// controllers.
    ///
    /// # Panics
    /// When a configured CRD or object is refused (invalid, of a kind not served, or two of the
    /// same name): the configuration is the caller's code, not input.
    pub fn start(config: SimConfig) -> Arc<Self> {
        let store = Arc::new(Store::new(config.history_limit, config.history_retention));
        for (group, plural, object) in bootstrap::objects(&config) {
            let def = store.registry.find(group, "v1", plural).expect("built in");
            store.create(&Write::to(&def, ""), object).expect("the bootstrap objects are valid");
        }
        for crd in &config.crds {
            create_configured(&store, &serde_json::to_value(crd).expect("CRDs serialise"), "");
        }
        for object in &config.objects {
            create_configured(&store, object, &config.namespace);
        }
        let controllers = Arc::new(Controllers::new(store.clone(), config.clone()));
        controllers.seed();
        let stop = CancellationToken::new();
        tokio::spawn(controllers.clone().run(stop.clone()));
        let network = network::Network::start(store.clone(), &config, stop.clone())
            .expect("a loopback port for the simulated Service");
        Arc::new(Self { store, controllers, network, stats: Arc::new(Stats::default()), config, stop })
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Serves the API on `listener` (plain HTTP) until the returned server is shut down.
    pub fn serve(self: &Arc<Self>, listener: TcpListener) -> std::io::Result<SimServer> {
        self.serve_with(listener, None)
    }

    /// Serves the API over HTTPS with `cert`, as kube-apiserver's secure port: what kubectl
    /// needs to send a bearer token (it sends none over plain HTTP).
    pub fn serve_tls(self: &Arc<Self>, listener: TcpListener, cert: &ServingCert) -> std::io::Result<SimServer> {
        let acceptor = cert.acceptor().map_err(std::io::Error::other)?;
        self.serve_with(listener, Some((acceptor, cert.ca_pem().to_string())))
    }

    fn serve_with(
        self: &Arc<Self>,
        listener: TcpListener,
        tls: Option<(tokio_rustls::TlsAcceptor, String)>,
    ) -> std::io::Result<SimServer> {
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let (restart, restarts) = tokio::sync::mpsc::channel(1);
        let shared = Arc::new(SimShared {
            store: self.store.clone(),
            controllers: self.controllers.clone(),
            stats: self.stats.clone(),
            bookmark_interval: self.config.bookmark_interval,
            tokens: self.config.tokens.clone().map(Arc::new),
            stop: stop.clone(),
            restart,
        });
        let app = api::router(shared);
        let (acceptor, ca_pem) = tls.unzip();
        let server = Server { app, store: self.store.clone(), stop: stop.clone(), tls: acceptor };
        let task = tokio::spawn(server.accept_loop(listener, restarts));
        Ok(SimServer { addr, ca_pem, stop, task })
    }

    /// Sets a node's health (also `POST /sim/nodes/<name>/<ready|not-ready|unreachable>`).
    pub fn set_node_health(&self, name: &str, health: NodeHealth) -> bool {
        self.controllers.set_node_health(name, health)
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Creates an object of the configuration, in `namespace` unless it names its own.
fn create_configured(store: &Store, object: &serde_json::Value, namespace: &str) {
    let (api_version, kind) = (object["apiVersion"].as_str().unwrap_or(""), object["kind"].as_str().unwrap_or(""));
    let Some(def) = store.registry.find_kind(api_version, kind) else {
        panic!("the simulated API serves no {api_version} {kind} for a configured object");
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or(namespace);
    if let Err(error) = store.create(&Write::to(&def, namespace), object.clone()) {
        panic!("the simulated API refuses a configured {kind}: {error}");
    }
}

/// Writes `dir/kubeconfig` for the simulated API at `url` (plain HTTP, no credentials), for the
/// programs and tools a test points at it (kubectl, an operator's binary).
pub fn write_kubeconfig(url: &str, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    kubeconfig(url, None, None, dir)
}

fn kubeconfig(
    url: &str,
    ca_pem: Option<&str>,
    token: Option<&str>,
    dir: &std::path::Path,
) -> std::io::Result<std::path::PathBuf> {
    use base64::Engine;
    let path = dir.join("kubeconfig");
    let user = match token {
        Some(token) => format!("{{token: {}}}", serde_json::to_string(token).unwrap_or_default()),
        None => "{}".to_string(),
    };
    let ca = match ca_pem {
        Some(pem) => {
            format!("\n    certificate-authority-data: {}", base64::engine::general_purpose::STANDARD.encode(pem))
        }
        None => String::new(),
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: sim\n  \
         context:\n    cluster: sim\n    user: u\ncurrent-context: sim\nusers:\n- name: u\n  user: {user}\n"
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A running HTTP server of the simulated API.
pub struct SimServer {
    addr: SocketAddr,
    /// The CA of its certificate, when it serves HTTPS.
    ca_pem: Option<String>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, or `https://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Writes `dir/kubeconfig` for this server as the user of bearer `token` (or none), with
    /// its CA when it serves HTTPS.
    pub fn write_kubeconfig(&self, token: Option<&str>, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        kubeconfig(&self.url(), self.ca_pem.as_deref(), token, dir)
    }

    /// Stops listening and drops every open connection and watch at once, like a crashed server.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// What the accept loop serves, and what it resets on a restart.
struct Server {
    app: axum::Router,
    store: Arc<Store>,
    stop: CancellationToken,
    /// The TLS handshake before HTTP, when it serves HTTPS.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Server {
    /// Accepts connections until `stop`; each connection is dropped mid-flight when `stop` fires
    /// or the server restarts.
    async fn accept_loop(self, mut listener: TcpListener, mut restarts: tokio::sync::mpsc::Receiver<Duration>) {
        let mut connections = self.stop.child_token();
        loop {
            let socket = tokio::select! {
                _ = self.stop.cancelled() => return,
                Some(down) = restarts.recv() => {
                    connections.cancel();
                    connections = self.stop.child_token();
                    match self.restart(listener, down).await {
                        Some(again) => listener = again,
                        None => return,
                    }
                    continue;
                }
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(error) => {
                        tracing::warn!(%error, "simulated API: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            self.serve_connection(socket, connections.clone());
        }
    }

    /// Closes the port for `down` (clients see "connection refused"), forgets the watch history
    /// and listens again on the same address; `None` when stopped meanwhile or the port is lost.
    async fn restart(&self, listener: TcpListener, down: Duration) -> Option<TcpListener> {
        let addr = listener.local_addr().ok()?;
        drop(listener);
        self.store.compact();
        tracing::info!(%addr, ?down, "simulated API: restarting");
        tokio::select! {
            _ = self.stop.cancelled() => return None,
            _ = tokio::time::sleep(down) => {}
        }
        for _ in 0..100 {
            match TcpListener::bind(addr).await {
                Ok(listener) => return Some(listener),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        tracing::error!(%addr, "simulated API: cannot listen again after the restart");
        None
    }

    fn serve_connection(&self, socket: tokio::net::TcpStream, cut: CancellationToken) {
        let _ = socket.set_nodelay(true);
        let app = self.app.clone();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_io(socket, app, cut).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        handshake = acceptor.accept(socket) => handshake,
                        _ = cut.cancelled() => return,
                    };
                    match handshake {
                        Ok(stream) => serve_io(stream, app, cut).await,
                        Err(error) => tracing::debug!(%error, "simulated API: TLS handshake failed"),
                    }
                }
            }
        });
    }
}

/// Serves HTTP on one connection until it ends or `cut` fires.
async fn serve_io<I>(io: I, app: axum::Router, cut: CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    let service = TowerToHyperService::new(app);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = connection => {}
        _ = cut.cancelled() => {}
    }
}
