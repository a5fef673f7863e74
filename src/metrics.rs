//! Prometheus metrics (`GET /metrics`, text exposition format). Counters are incremented where
//! things happen; gauges that describe the cluster are read from [`ClusterState`] at scrape time,
//! so they can never drift from what the booth shows.

use crate::cluster::{ClusterState, NodeStatus, PodPhase, WatchRestarts};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabel {
    pub resource: String,
}

/// Every metric the process exposes.
pub struct Metrics {
    registry: Registry,
    pods: Family<StatusLabel, Gauge>,
    nodes: Family<StatusLabel, Gauge>,
    watch_restarts: Family<ResourceLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("conferenceli");
        let pods = Family::<StatusLabel, Gauge>::default();
        let nodes = Family::<StatusLabel, Gauge>::default();
        let watch_restarts = Family::<ResourceLabel, Gauge>::default();
        registry.register("pods", "Pods of the watched namespace by status", pods.clone());
        registry.register("nodes", "Nodes by status", nodes.clone());
        registry.register("watch_restarts", "Times a watch was interrupted and resumed", watch_restarts.clone());
        Self { registry, pods, nodes, watch_restarts }
    }

    /// The registry, for parts that register metrics of their own.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Reads the cluster-derived gauges, then encodes everything.
    pub fn render(&self, cluster: &ClusterState, restarts: &Arc<WatchRestarts>) -> String {
        let snapshot = cluster.snapshot();
        for phase in [
            PodPhase::Pending,
            PodPhase::Running,
            PodPhase::Terminating,
            PodPhase::Succeeded,
            PodPhase::Failed,
            PodPhase::Unknown,
        ] {
            let count = snapshot.pods.iter().filter(|p| p.status == phase).count();
            self.pods.get_or_create(&StatusLabel { status: format!("{phase:?}") }).set(count as i64);
        }
        for status in [NodeStatus::KubeletReady, NodeStatus::NotReady, NodeStatus::Unknown] {
            let count = snapshot.nodes.iter().filter(|n| n.status == status).count();
            self.nodes.get_or_create(&StatusLabel { status: format!("{status:?}") }).set(count as i64);
        }
        for (resource, counter) in [("pods", &restarts.pods), ("nodes", &restarts.nodes)] {
            self.watch_restarts
                .get_or_create(&ResourceLabel { resource: resource.into() })
                .set(counter.load(Ordering::Relaxed) as i64);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
