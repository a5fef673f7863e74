//! `conferenceli blinkt`: the DaemonSet mode. On every PicoCluster node it watches the pods of
//! *that* node (`fieldSelector spec.nodeName=$NODE_NAME`) and that node itself
//! (`metadata.name=$NODE_NAME`), and shows them on the node's Pimoroni Blinkt!: LED `i` is the
//! `i`-th pod by ordinal then name, a NotReady node dims everything red, a dying pod blinks, a
//! new one fades in, and the LEDs go dark when the pod is stopped.
//!
//! It may call the Kubernetes API (through the shared watch loops) and the GPIO device. Its
//! probes (`/healthz`, `/readyz` on `HEALTH_LISTEN_ADDR`) read `BlinktProbes`.
//!
//! May call: `crate::cluster`, `crate::tasks`, `crate::telemetry`.

use super::ColourArgs;
use super::driver::{self, DriverConfig, LedDevice, LedHealth};
use super::frame::{BLINKT_LEDS, Frame};
use super::gpio::{Apa102Strip, PrintedStrip, RppalGpio};
use super::render::{self, NodeScene};
use crate::cluster::api_calls::{ApiCall, Scope, watched};
use crate::cluster::{ClusterState, PodScope};
use crate::tasks::Tasks;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

/// The API requests of blinkt mode (see [`crate::cluster::api_calls`]): its node's pods in the
/// target namespace and its own Node, both watched with field selectors. Its service account
/// (deploy/base/blinkt-rbac.yaml) grants exactly these.
pub(crate) const API_CALLS: [[ApiCall; 2]; 2] =
    [watched(Scope::Target, "", "pods"), watched(Scope::Cluster, "", "nodes")];

/// How the Blinkt!'s frames leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GpioMode {
    /// The real pins through rppal (Raspberry Pi 4 and 5).
    Rppal,
    /// Every new frame as one line on stdout: `frame #rrggbb ... (8 colours)`.
    Virtual,
}

/// The settings of `conferenceli blinkt`.
#[derive(Debug, Clone, Args)]
pub struct BlinktArgs {
    /// The node whose pods this Blinkt! shows (downward API `spec.nodeName`).
    #[arg(long, env = "NODE_NAME")]
    pub node_name: String,
    /// Namespace of the pods shown (ignored with --all-namespaces).
    #[arg(long = "namespace", env = "K8S_NAMESPACE", default_value = "demopod")]
    pub namespace: String,
    /// Show the node's pods of every namespace.
    #[arg(long, env = "BLINKT_ALL_NAMESPACES", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub(crate) all_namespaces: bool,
    /// Only pods matching this label selector count (the classic convention: `blinkt=show`).
    #[arg(long, env = "BLINKT_SELECTOR")]
    pub(crate) selector: Option<String>,
    /// GPIO output: rppal (the pins) or virtual (frames on stdout).
    #[arg(long, env = "GPIO", value_enum, default_value = "rppal")]
    pub(crate) gpio: GpioMode,
    /// BCM number of the data pin.
    #[arg(long, env = "BLINKT_DATA_PIN", default_value_t = 23, value_parser = clap::value_parser!(u8).range(0..=53))]
    pub data_pin: u8,
    /// BCM number of the clock pin.
    #[arg(long, env = "BLINKT_CLOCK_PIN", default_value_t = 24, value_parser = clap::value_parser!(u8).range(0..=53))]
    pub clock_pin: u8,
    /// Kubeconfig file; without it, ~/.kube/config or the in-cluster service account.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// How long to wait for the Kubernetes API to answer at start-up.
    #[arg(long, env = "CONNECT_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) connect_timeout_seconds: u64,
    #[command(flatten)]
    pub colours: ColourArgs,
    #[command(flatten)]
    pub health: crate::telemetry::HealthArgs,
}

impl BlinktArgs {
    /// What the pod watch covers: this node's pods, of one namespace or all, maybe by label.
    pub(crate) fn pod_scope(&self) -> PodScope {
        PodScope {
            namespace: (!self.all_namespaces).then(|| self.namespace.clone()),
            label_selector: self.selector.clone().filter(|s| !s.is_empty()),
            field_selector: Some(format!("spec.nodeName={}", self.node_name)),
        }
    }

    /// The LED device `--gpio` asks for.
    pub fn device(&self) -> Box<dyn LedDevice> {
        match self.gpio {
            GpioMode::Virtual => Box::new(PrintedStrip),
            GpioMode::Rppal => {
                let (data, clock) = (self.data_pin, self.clock_pin);
                Box::new(Apa102Strip::new(Box::new(move || RppalGpio::open(data, clock))))
            }
        }
    }
}

/// What `conferenceli blinkt`'s readiness probe reports: its two watches (this node's pods,
/// this node) and its LEDs.
#[derive(Clone)]
pub(crate) struct BlinktProbes {
    cluster: ClusterState,
    leds: watch::Receiver<LedHealth>,
}

impl BlinktProbes {
    /// Ready once this node and its pods are listed: the LEDs show the truth from then on.
    pub(crate) fn ready(&self) -> bool {
        self.cluster.is_synced()
    }

    pub(crate) fn pods_synced(&self) -> bool {
        self.cluster.pods_synced()
    }

    pub(crate) fn nodes_synced(&self) -> bool {
        self.cluster.nodes_synced()
    }

    /// The LEDs' state (informational: a Blinkt! that lost its GPIO is retried, not restarted).
    pub(crate) fn leds(&self) -> String {
        self.leds.borrow().to_string()
    }
}

/// A running Blinkt! mode: its frames, and the way to stop it (LEDs off first).
pub struct Blinkt {
    pub frames: watch::Receiver<Frame>,
    pub health: watch::Receiver<LedHealth>,
    cluster: ClusterState,
    /// The mode's own tasks: `blinkt` is an app of its own, beside no booth.
    tasks: Tasks,
}

impl Blinkt {
    /// Starts the watches, the renderer and the driver of `device` on `client`.
    pub fn start(client: kube::Client, args: &BlinktArgs, device: Box<dyn LedDevice>, config: DriverConfig) -> Self {
        let tasks = Tasks::default();
        let node_selector = Some(format!("metadata.name={}", args.node_name));
        let cluster = crate::cluster::watch::start(client, args.pod_scope(), node_selector, &tasks).state;
        let scene = NodeScene::new(args.colours.colours(), args.node_name.clone());
        let (frame_tx, frames) = watch::channel(Frame::off(BLINKT_LEDS));
        let (health_tx, health) = watch::channel(LedHealth::Starting);
        let shutdown = tasks.token().clone();
        tasks.spawn("Blinkt renderer", render::render(scene, cluster.clone(), None, frame_tx, shutdown.clone()));
        // The driver ends on the token after writing the LEDs dark.
        tasks.spawn("Blinkt driver", driver::drive("Blinkt", device, frames.clone(), health_tx, config, shutdown));
        Self { frames, health, cluster, tasks }
    }

    /// What its probes read.
    pub(crate) fn probes(&self) -> BlinktProbes {
        BlinktProbes { cluster: self.cluster.clone(), leds: self.health.clone() }
    }

    /// Stops rendering, turns the LEDs off and ends the watches, within five seconds.
    pub async fn stop(self) {
        self.tasks.shutdown(Duration::from_secs(5)).await;
    }
}
