//! The subcommands: what `conferenceli run`, `demo`, `crd`, `blinkt` and `label` do. Each
//! returns the crate's [`Error`], whose chain `main` prints as one line.
//!
//! May call: [`crate::app`], [`crate::automations`], [`crate::cluster`], [`crate::config`],
//! [`crate::crds`], [`crate::demo`], [`crate::error`], [`crate::labels`], [`crate::leds`],
//! [`crate::workload`].

use crate::app;
use crate::automations::FogSpec;
use crate::cluster::client;
use crate::config::{CrdArgs, DemoArgs, RunArgs};
use crate::error::{Error, Result};
use crate::leds::blinkt::{Blinkt, BlinktArgs};
use crate::leds::driver::DriverConfig;
use kube_sim::SimCluster;
use std::time::Duration;

/// `conferenceli run`: a real cluster, checked before anything starts.
pub async fn run(mut args: RunArgs) -> Result<()> {
    args.app.leds.mode.get_or_insert(crate::leds::LedMode::Blinkstick);
    let credentials = args.app.staff_credentials(false).map_err(Error::Settings)?;
    let listeners = app::Listeners::bind(&args.app).await?;
    let config = client::load_config(args.kubeconfig.as_deref()).await?;
    let timeout = Duration::from_secs(args.connect_timeout_seconds);
    let kube = client::connect(config, timeout).await?;
    let shutdown = app::shutdown_on_signals();
    Ok(app::serve(kube, args.app, credentials, listeners, app::Devices::default(), shutdown).await?)
}

/// `conferenceli demo`: the simulated cluster on `--sim-listen`, the app against it over HTTP.
pub async fn demo(args: DemoArgs) -> Result<()> {
    demo_with_devices(args, app::Devices::default()).await
}

/// [`demo`] driving `devices` (the booth-day scenario's simulated USB port).
pub async fn demo_with_devices(mut args: DemoArgs, devices: app::Devices) -> Result<()> {
    args.app.fog.spec.get_or_insert(FogSpec::Virtual);
    args.app.leds.mode.get_or_insert(crate::leds::LedMode::Virtual);
    let credentials = args.app.staff_credentials(true).map_err(Error::Settings)?;
    args.app.printer.printer_url = args.app.printer.resolve(Some(std::env::temp_dir().join("conferenceli-labels")));
    let config = args.cluster.config(&args.app.namespace);
    let listeners = app::Listeners::bind(&args.app).await?;
    let sim_listener = app::bind(args.sim_listen, "SIM_LISTEN").await?;
    let sim = SimCluster::start(config);
    let server = sim.serve(sim_listener).map_err(Error::Sim)?;
    let service = format!("http://{}/", sim.network.service_addr());
    tracing::info!(url = %service, "the simulated workload Service (critical-prod)");
    let service = service.parse().map_err(|e| Error::Settings(format!("the simulated Service: {e}")))?;
    args.app.availability.url.get_or_insert(service);
    tracing::info!(url = %server.url(), "simulated Kubernetes API (kubectl --server {})", server.url());
    let kube = client::clients_for_url(&server.url())?;
    let shutdown = app::shutdown_on_signals();
    let result = app::serve(kube, args.app, credentials, listeners, devices, shutdown).await;
    server.shutdown().await;
    Ok(result?)
}

/// `conferenceli crd`: prints every CRD, or writes one file each.
pub fn crd(args: CrdArgs) -> Result<()> {
    match args.out_dir {
        None => {
            print!("{}", crate::crds::all_yaml());
            Ok(())
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| Error::Write { path: dir.clone(), source })?;
            for crd in crate::crds::all() {
                let path = dir.join(crate::crds::file_name(&crd));
                std::fs::write(&path, crate::crds::to_yaml(&crd)).map_err(|source| Error::Write { path, source })?;
            }
            Ok(())
        }
    }
}

/// `conferenceli label`: renders a label to PNG and/or prints it.
pub async fn label(args: crate::labels::LabelArgs) -> Result<()> {
    Ok(crate::labels::run_label_command(args).await?)
}

/// `conferenceli blinkt`: connects, then shows this node's pods until SIGTERM or Ctrl-C.
pub async fn blinkt(args: BlinktArgs) -> Result<()> {
    if args.node_name.is_empty() {
        return Err(Error::Settings("missing NODE_NAME (--node-name): the node whose pods to show".into()));
    }
    let config = client::load_config(args.kubeconfig.as_deref()).await?;
    let timeout = Duration::from_secs(args.connect_timeout_seconds);
    let kube = client::connect(config, timeout).await?.client;
    // Fail fast on a GPIO that cannot work at all (wrong pins, no access); later losses are retried.
    let mut device = args.device();
    device.connect().map_err(Error::Blinkt)?;
    tracing::info!(node = %args.node_name, scope = ?args.pod_scope(), "showing this node's pods on the Blinkt!");
    let blinkt = Blinkt::start(kube, &args, device, DriverConfig::default());
    app::shutdown_on_signals().cancelled().await;
    blinkt.stop().await;
    Ok(())
}

/// `conferenceli workload`: the demo workload, until SIGTERM.
pub async fn workload(args: crate::workload::WorkloadArgs) -> Result<()> {
    let listener = app::bind(args.listen_addr, "LISTEN_ADDR").await?;
    let workload = crate::workload::Workload::new(crate::workload::pod_name(args.pod_name));
    tracing::info!(addr = %args.listen_addr, name = workload.name(), "serving the demo workload");
    crate::workload::serve(listener, workload, app::shutdown_on_signals()).await.map_err(Error::Workload)
}
