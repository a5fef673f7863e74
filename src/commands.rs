//! The subcommands: what `conferenceli run`, `demo` and `crd` do, each returning the line to
//! print when it fails.

use crate::app;
use crate::automations::FogSpec;
use crate::cluster::client;
use crate::config::{CrdArgs, DemoArgs, RunArgs};
use crate::sim::{SimCluster, SimConfig};
use std::time::Duration;

/// `conferenceli run`: a real cluster, checked before anything starts.
pub async fn run(mut args: RunArgs) -> Result<(), String> {
    args.app.leds.mode.get_or_insert(crate::leds::LedMode::Blinkstick);
    let credentials = args.app.staff_credentials(false)?;
    let listener = app::bind(args.app.listen_addr, "LISTEN_ADDR").await.map_err(|e| e.to_string())?;
    let config = client::load_config(args.kubeconfig.as_deref()).await.map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(args.connect_timeout_seconds);
    let kube = client::connect(config, timeout).await.map_err(|e| e.to_string())?;
    app::serve(kube, args.app, credentials, listener, app::shutdown_on_signals()).await.map_err(|e| e.to_string())
}

/// `conferenceli demo`: the simulated cluster on `--sim-listen`, the app against it over HTTP.
pub async fn demo(args: DemoArgs) -> Result<(), String> {
    demo_with_devices(args, app::Devices::default()).await
}

/// [`demo`] driving `devices` (the booth-day scenario's simulated USB port).
pub async fn demo_with_devices(mut args: DemoArgs, devices: app::Devices) -> Result<(), String> {
    args.app.fog.spec.get_or_insert(FogSpec::Virtual);
    args.app.leds.mode.get_or_insert(crate::leds::LedMode::Virtual);
    let credentials = args.app.staff_credentials(true)?;
    args.app.printer.printer_url = args.app.printer.resolve(Some(std::env::temp_dir().join("conferenceli-labels")));
    let config = SimConfig {
        pods: args.pods as usize,
        nodes: args.nodes as usize,
        namespace: args.app.namespace.clone(),
        start_delay: Duration::from_millis(args.start_delay_ms),
        start_jitter: Duration::from_millis(args.start_delay_ms * 3 / 4),
        toleration: Duration::from_secs(args.toleration_seconds),
        history_retention: Duration::from_secs(args.history_seconds),
        event_ttl: Duration::from_secs(args.event_ttl_seconds),
        ..SimConfig::default()
    };
    let app_listener = app::bind(args.app.listen_addr, "LISTEN_ADDR").await.map_err(|e| e.to_string())?;
    let public_listener =
        app::bind(args.app.leads.public_listen_addr, "PUBLIC_LISTEN_ADDR").await.map_err(|e| e.to_string())?;
    let sim_listener = app::bind(args.sim_listen, "SIM_LISTEN").await.map_err(|e| e.to_string())?;
    let sim = SimCluster::start(config);
    let server = sim.serve(sim_listener).map_err(|e| e.to_string())?;
    let service = format!("http://{}/", sim.network.service_addr());
    tracing::info!(url = %service, "the simulated workload Service (critical-prod)");
    args.app.availability.url.get_or_insert(service.parse().map_err(|e| format!("the simulated Service: {e}"))?);
    tracing::info!(url = %server.url(), "simulated Kubernetes API (kubectl --server {})", server.url());
    let kube = client::client_for_url(&server.url()).map_err(|e| e.to_string())?;
    let shutdown = app::shutdown_on_signals();
    let listeners = app::Listeners { private: app_listener, public: public_listener };
    let result =
        app::serve_on(kube, args.app, credentials, listeners, devices, shutdown).await.map_err(|e| e.to_string());
    server.shutdown().await;
    result
}

/// `conferenceli crd`: prints every CRD, or writes one file each.
pub fn crd(args: CrdArgs) -> Result<(), String> {
    match args.out_dir {
        None => {
            print!("{}", crate::crds::all_yaml());
            Ok(())
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for crd in crate::crds::all() {
                let path = dir.join(crate::crds::file_name(&crd));
                std::fs::write(&path, crate::crds::to_yaml(&crd))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Ok(())
        }
    }
}

/// `conferenceli label`: renders a label to PNG and/or prints it.
pub async fn label(args: crate::labels::LabelArgs) -> Result<(), String> {
    crate::labels::run_label_command(args).await.map_err(|e| e.to_string())
}

/// `conferenceli workload`: the demo workload, until SIGTERM.
pub async fn workload(args: crate::workload::WorkloadArgs) -> Result<(), String> {
    crate::workload::run(args, app::shutdown_on_signals()).await
}
