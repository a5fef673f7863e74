//! Prometheus metrics (`GET /metrics`, text exposition format). Counters are incremented where
//! things happen; gauges that describe the cluster are read from [`ClusterState`] at scrape time,
//! so they can never drift from what the booth shows.
//!
//! May call: `crate::automations`, `crate::cluster`, `crate::leads`.

use crate::cluster::{ClusterState, NodeStatus, PodPhase, WatchRestarts};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResourceLabel {
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
    pub(crate) fn registry_mut(&mut self) -> &mut Registry {
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

/// Metrics read at scrape time from parts that keep their own counts: the fog machine, the
/// chaos webhooks, and the Leads (by sync and print state, from the outbox controller's store).
pub(crate) struct ScrapeTime {
    pub fog: Option<crate::automations::Fog>,
    pub webhooks: Option<Arc<crate::automations::webhooks::WebhookStats>>,
    pub leads: kube::runtime::reflector::Store<crate::leads::crd::Lead>,
}

impl std::fmt::Debug for ScrapeTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeTime").finish_non_exhaustive()
    }
}

fn encode_counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}

fn encode_gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// Counts per label value, as one gauge family.
fn encode_gauge_family(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    counts: &std::collections::BTreeMap<String, i64>,
) -> Result<(), std::fmt::Error> {
    let family = Family::<StatusLabel, Gauge>::default();
    for (state, count) in counts {
        family.get_or_create(&StatusLabel { status: state.clone() }).set(*count);
    }
    family.encode(encoder.encode_descriptor(name, help, None, family.metric_type())?)
}

impl Collector for ScrapeTime {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(fog) = &self.fog {
            let status = fog.status();
            encode_gauge(&mut encoder, "fog_on", "Whether the fog machine's relay is on", i64::from(status.on))?;
            encode_counter(&mut encoder, "fog_puffs", "Puffs of the fog machine", status.puffs)?;
            encode_counter(&mut encoder, "fog_refused", "Puffs refused during the minimum pause", status.refused)?;
            encode_counter(
                &mut encoder,
                "fog_relay_errors",
                "Times the fog relay did not switch",
                status.relay_errors,
            )?;
        }
        if let Some(stats) = &self.webhooks {
            use std::sync::atomic::Ordering::Relaxed;
            let help = "Chaos webhook deliveries that a receiver accepted";
            encode_counter(&mut encoder, "chaos_webhooks_delivered", help, stats.delivered.load(Relaxed))?;
            let help = "Chaos webhook deliveries given up after every attempt";
            encode_counter(&mut encoder, "chaos_webhooks_failed", help, stats.failed.load(Relaxed))?;
            let help = "Chaos webhook notices dropped because the queue was full";
            encode_counter(&mut encoder, "chaos_webhooks_dropped", help, stats.dropped.load(Relaxed))?;
        }
        let mut sync = std::collections::BTreeMap::new();
        let mut print = std::collections::BTreeMap::new();
        for lead in self.leads.state() {
            let status = lead.status.clone().unwrap_or_default();
            *sync.entry(format!("{:?}", status.sync_state)).or_insert(0) += 1;
            *print.entry(status.print_state.as_str().to_string()).or_insert(0) += 1;
        }
        encode_gauge_family(&mut encoder, "leads", "Leads by their state with Odoo", &sync)?;
        encode_gauge_family(&mut encoder, "lead_labels", "Leads by the state of their labels", &print)
    }
}
