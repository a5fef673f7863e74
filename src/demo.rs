//! The simulated cluster the booth runs against in `demo` and in the tests: the `kube-sim`
//! crate (which knows nothing of the booth) given this crate's CRDs, the demo workload's server
//! in every container, and the booth's shape: the K3s server on the Pi (`conferenceli`) and the
//! PicoCluster nodes (`pico-1`, …, labelled for the Blinkt! DaemonSet), the StatefulSet
//! `critical-prod` in `demopod` and its PodDisruptionBudget, read from the demo workload's
//! manifest (`deploy/demo-workload/pdb.yaml`) so that K3s and the demo hold the same one.
//!
//! May call: `crate::crds`, `crate::workload`.

use crate::workload::Workload;
use kube_sim::{ContainerProgram, RunningContainer, SimConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Settings of the simulated cluster (`conferenceli demo`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Pods of the simulated StatefulSet `critical-prod`.
    #[arg(long, env = "DEMO_PODS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub pods: u32,
    /// Nodes of the simulated cluster (the first is the booth Pi, the others PicoCluster nodes).
    #[arg(long, env = "DEMO_NODES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub nodes: u32,
    /// Milliseconds from Pending to Running for a recreated pod (plus up to 75 % jitter).
    #[arg(long, env = "DEMO_START_DELAY_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub(crate) start_delay_ms: u64,
    /// Seconds a NotReady node keeps its pods before they are evicted.
    #[arg(long, env = "DEMO_TOLERATION_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) toleration_seconds: u64,
    /// Seconds the simulated API keeps changes for watches to resume from (kube-apiserver
    /// compacts every 5 minutes); a watch resuming from before gets 410 Gone and lists again.
    #[arg(long, env = "DEMO_HISTORY_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) history_seconds: u64,
    /// Seconds an Event lives in the simulated API (kube-apiserver's `--event-ttl`, 1 hour).
    #[arg(long, env = "DEMO_EVENT_TTL_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) event_ttl_seconds: u64,
}

impl SimArgs {
    /// The booth's simulated cluster shaped by these settings, its workload in `namespace`,
    /// the booth's own namespace `booth_namespace` there too.
    pub(crate) fn config(&self, namespace: &str, booth_namespace: &str) -> SimConfig {
        SimConfig {
            pods: self.pods as usize,
            nodes: self.nodes as usize,
            namespace: namespace.into(),
            namespaces: vec![booth_namespace.into()],
            start_delay: Duration::from_millis(self.start_delay_ms),
            start_jitter: Duration::from_millis(self.start_delay_ms * 3 / 4),
            toleration: Duration::from_secs(self.toleration_seconds),
            history_retention: Duration::from_secs(self.history_seconds),
            event_ttl: Duration::from_secs(self.event_ttl_seconds),
            ..sim_config()
        }
    }
}

/// The booth's simulated cluster with kube-sim's default timings: what the tests and
/// benchmarks start from.
pub fn sim_config() -> SimConfig {
    SimConfig {
        control_plane: "conferenceli".into(),
        worker_prefix: "pico".into(),
        worker_labels: [("conferenceli.dev/blinkt".to_string(), "true".to_string())].into(),
        namespace: "demopod".into(),
        // The booth's own (`POD_NAMESPACE`'s default): its Booth and Leads live there.
        namespaces: vec!["conferenceli".into()],
        statefulset: "critical-prod".into(),
        image: "ghcr.io/conferenceli/critical-prod:1.0".into(),
        crds: crate::crds::all(),
        objects: vec![disruption_budget()],
        program: Some(Arc::new(DemoWorkload)),
        ..SimConfig::default()
    }
}

/// The demo workload's PodDisruptionBudget, the manifest K3s gets (kustomize gives it the
/// namespace; the simulation puts it in the workload's).
fn disruption_budget() -> serde_json::Value {
    serde_norway::from_str(include_str!("../deploy/demo-workload/pdb.yaml"))
        .expect("deploy/demo-workload/pdb.yaml is a YAML object")
}

/// The demo workload (`conferenceli workload`) as the program of every simulated container.
#[derive(Debug)]
struct DemoWorkload;

impl ContainerProgram for DemoWorkload {
    fn start(
        &self,
        pod: &str,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
    ) -> Arc<dyn RunningContainer> {
        let workload = Workload::new(pod);
        tokio::spawn(crate::workload::serve(listener, workload.clone(), stop));
        workload
    }
}

impl RunningContainer for Workload {
    fn answered(&self) -> u64 {
        Workload::answered(self)
    }
}
