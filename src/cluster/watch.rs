//! The process's watch loops: one kube-runtime `watcher` on pods of the target namespace and one
//! on nodes, each feeding [`ClusterState`]. The watcher relists by itself on 410 Gone and
//! reconnects with backoff when the API server goes away; these loops only translate its events.
//! `start` runs both among the app's tasks; they hold nothing to finish and end with its token.
//!
//! May call: `crate::tasks`.

use super::api_calls::{ApiCall, Scope, watched};
use super::state::ClusterState;
use super::views::{NodeView, PodView};
use crate::tasks::Tasks;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The API requests of the watch loops (see [`super::api_calls`]).
pub(crate) const API_CALLS: [[ApiCall; 2]; 2] =
    [watched(Scope::Target, "", "pods"), watched(Scope::Cluster, "", "nodes")];

/// What the pod watch covers: the target namespace (or all), narrowed by selectors.
#[derive(Debug, Clone, Default)]
pub struct PodScope {
    /// `None` watches every namespace.
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
}

/// Counts how often each watch had to be restarted (an error from the API or the connection).
#[derive(Debug, Default)]
pub struct WatchRestarts {
    pub pods: AtomicU64,
    pub nodes: AtomicU64,
}

fn watcher_config(labels: Option<&str>, fields: Option<&str>) -> watcher::Config {
    let mut config = watcher::Config::default();
    if let Some(labels) = labels {
        config = config.labels(labels);
    }
    if let Some(fields) = fields {
        config = config.fields(fields);
    }
    config
}

/// Applies a watcher's events to the state: `apply`/`delete` for live changes, and the whole
/// listed set at `InitDone` (so a relist after 410 or a restart publishes only differences).
async fn drive<K, V>(
    stream: impl Stream<Item = watcher::Result<watcher::Event<K>>>,
    view: impl Fn(&K) -> V,
    apply: impl Fn(V),
    delete: impl Fn(&K),
    replace: impl Fn(Vec<V>),
    restarts: &AtomicU64,
    what: &str,
) {
    let mut stream = std::pin::pin!(stream);
    let mut listing: Vec<V> = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(object)) => apply(view(&object)),
            Ok(watcher::Event::Delete(object)) => delete(&object),
            Ok(watcher::Event::Init) => listing.clear(),
            Ok(watcher::Event::InitApply(object)) => listing.push(view(&object)),
            Ok(watcher::Event::InitDone) => {
                tracing::debug!(what, objects = listing.len(), "watch (re)synced");
                replace(std::mem::take(&mut listing));
            }
            Err(error) => {
                restarts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(what, %error, "watch interrupted; resuming with backoff");
            }
        }
    }
}

/// What the watches fill: the cluster state and how often each watch restarted.
pub(crate) struct Watched {
    pub state: ClusterState,
    pub restarts: Arc<WatchRestarts>,
}

/// Follows the pods in `scope` and the nodes (all, or the one `node_selector` names) among
/// `tasks`, until their token fires.
pub(crate) fn start(client: kube::Client, scope: PodScope, node_selector: Option<String>, tasks: &Tasks) -> Watched {
    let state = ClusterState::new();
    let restarts = Arc::new(WatchRestarts::default());
    tasks.spawn_until_shutdown("pod watch", watch_pods(client.clone(), scope, state.clone(), restarts.clone()));
    tasks.spawn_until_shutdown("node watch", watch_nodes(client, node_selector, state.clone(), restarts.clone()));
    Watched { state, restarts }
}

/// Follows pods in `scope` into `state` until the task is dropped.
pub async fn watch_pods(client: kube::Client, scope: PodScope, state: ClusterState, restarts: Arc<WatchRestarts>) {
    let api: Api<Pod> = match &scope.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let config = watcher_config(scope.label_selector.as_deref(), scope.field_selector.as_deref());
    let stream = watcher::watcher(api, config).default_backoff();
    drive(
        stream,
        PodView::from_pod,
        |pod| state.upsert_pod(pod),
        |pod: &Pod| {
            state
                .remove_pod(pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or(""))
        },
        |pods| state.replace_pods(pods),
        &restarts.pods,
        "pods",
    )
    .await;
}

/// Follows nodes (all of them, or the one named by `field_selector`) into `state`.
pub async fn watch_nodes(
    client: kube::Client,
    field_selector: Option<String>,
    state: ClusterState,
    restarts: Arc<WatchRestarts>,
) {
    let api: Api<Node> = Api::all(client);
    let stream = watcher::watcher(api, watcher_config(None, field_selector.as_deref())).default_backoff();
    drive(
        stream,
        NodeView::from_node,
        |node| state.upsert_node(node),
        |node: &Node| state.remove_node(node.metadata.name.as_deref().unwrap_or("")),
        |nodes| state.replace_nodes(nodes),
        &restarts.nodes,
        "nodes",
    )
    .await;
}
