//! The web layer's own counters, registered by `app` in the process's registry (`GET /metrics`):
//! presses of the chaos button by outcome (`conferenceli_chaos_presses_total{outcome}`: the red
//! button, the control panel and the visitors' presses) and the open server-sent event streams
//! (`conferenceli_sse_clients{stream}`). They live here rather than in `crate::chaos` because
//! the web handlers are what count them: the chaos button itself counts nothing.
//!
//! May call: `crate::chaos`.

use crate::chaos::PressOutcome;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: PressOutcome,
}

/// The server-sent event streams (the `stream` label), named as their exported label values:
/// prometheus-client's derive writes the name as it is.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub(crate) enum Stream {
    /// `/stream_pods`
    pods,
    /// `/stream_nodes`
    nodes,
    /// `/stream`, the kiosk's feed.
    kiosk,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabel {
    stream: Stream,
}

/// Chaos presses by outcome, open SSE clients by stream; cheap to clone (shared cells).
#[derive(Clone, Default)]
pub(crate) struct WebMetrics {
    chaos_presses: Family<OutcomeLabel, Counter>,
    sse_clients: Family<StreamLabel, Gauge>,
}

impl WebMetrics {
    /// Creates the metrics and registers them as `conferenceli_chaos_presses_total` and
    /// `conferenceli_sse_clients` (the registry adds the prefix).
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register("chaos_presses", "Chaos button presses by outcome", metrics.chaos_presses.clone());
        registry.register("sse_clients", "Open server-sent event streams", metrics.sse_clients.clone());
        metrics
    }

    /// Counts one press of the chaos button.
    pub(crate) fn pressed(&self, outcome: PressOutcome) {
        self.chaos_presses.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// The gauge of `stream`'s open clients.
    pub(crate) fn sse_clients(&self, stream: Stream) -> Gauge {
        self.sse_clients.get_or_create(&StreamLabel { stream }).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_values_are_the_exported_names() {
        let mut registry = Registry::with_prefix("conferenceli");
        let metrics = WebMetrics::register(&mut registry);
        metrics.pressed(PressOutcome::cooling_down);
        for stream in [Stream::pods, Stream::nodes, Stream::kiosk] {
            metrics.sse_clients(stream).inc();
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("conferenceli_chaos_presses_total{outcome=\"cooling_down\"} 1"), "{text}");
        for stream in ["pods", "nodes", "kiosk"] {
            assert!(text.contains(&format!("conferenceli_sse_clients{{stream=\"{stream}\"}} 1")), "{text}");
        }
    }
}
