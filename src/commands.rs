//! The subcommands: what `conferenceli run`, `demo`, `sim`, `check`, `crd`, `blinkt` and `label`
//! do. Each
//! returns the crate's [`Error`], whose chain `main` prints as one line.
//!
//! May call: [`crate::app`], [`crate::automations`], [`crate::cluster`], [`crate::config`],
//! [`crate::crds`], [`crate::demo`], [`crate::error`], [`crate::health`], [`crate::labels`],
//! [`crate::leds`], [`crate::tasks`], [`crate::workload`].

use crate::app;
use crate::automations::FogSpec;
use crate::cluster::client;
use crate::config::{CheckArgs, CrdArgs, DemoArgs, OutputFormat, RunArgs, SimServeArgs};
use crate::error::{Error, Result};
use crate::health::hardware::{Hardware, PortFactory};
use crate::health::kubernetes::Cluster;
use crate::health::{BoothSource, Context, PodSource, Report};
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
    let shutdown = crate::tasks::shutdown_on_signals();
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
    let config = args.cluster.config(&args.app.namespace, &args.app.booth_namespace);
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
    let shutdown = crate::tasks::shutdown_on_signals();
    let result = app::serve(kube, args.app, credentials, listeners, devices, shutdown).await;
    server.shutdown().await;
    Ok(result?)
}

/// `conferenceli check`: prints the report; fails (exit 1) when a check failed.
pub async fn check(args: CheckArgs) -> Result<()> {
    let report = check_report(&args, None).await;
    match args.output {
        OutputFormat::Text => print!("{}", report.to_text()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
    }
    match report.failed() {
        0 => Ok(()),
        failed => Err(Error::ChecksFailed(failed)),
    }
}

/// The checks `conferenceli check` runs, with the settings and kubeconfig `run` reads; the
/// BlinkStick is looked for on `blinkstick` (the hidraw node the settings name when `None`).
pub async fn check_report(args: &CheckArgs, blinkstick: Option<PortFactory>) -> Report {
    let app = &args.run.app;
    let settings = app.health_settings(app.leds.mode.unwrap_or(crate::leds::LedMode::Blinkstick));
    let timeout = settings.timeout;
    let kube = match client::load_config(args.run.kubeconfig.as_deref()).await {
        Ok(mut config) => {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            let url = config.cluster_url.to_string();
            kube::Client::try_from(config).map(|c| Cluster::new(c, Some(url))).map_err(|e| e.to_string())
        }
        Err(error) => Err(error.to_string()),
    };
    let context = Context::new(settings, kube, (BoothSource::Read, PodSource::List), Hardware::Probe { blinkstick });
    let scope = if args.pre { crate::health::Scope::Install } else { crate::health::Scope::Full };
    crate::health::run(&context, scope).await
}

/// `conferenceli sim`: the simulated cluster `demo` runs, alone, until SIGTERM or Ctrl-C; with a
/// token file, authenticated, authorised by RBAC and over HTTPS with a certificate of its own.
pub async fn sim(args: SimServeArgs) -> Result<()> {
    let tokens = args.token_auth_file.as_deref().map(kube_sim::TokenFile::read).transpose()?;
    let secure = tokens.is_some();
    let config = kube_sim::SimConfig { tokens, ..args.cluster.config(&args.namespace, &args.booth_namespace) };
    let listener = app::bind(args.listen, "SIM_LISTEN").await?;
    let port = listener.local_addr().map_err(Error::Sim)?.port();
    let sim = SimCluster::start(config);
    let server = if secure {
        let mut hosts = vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()];
        if !args.listen.ip().is_unspecified() {
            hosts.push(args.listen.ip().to_string());
        }
        let cert = kube_sim::ServingCert::generate(&hosts)?;
        let dir = args.cert_dir.unwrap_or_else(|| std::env::temp_dir().join(format!("conferenceli-sim-{port}")));
        let files = cert.write(&dir).map_err(|source| Error::Write { path: dir.clone(), source })?;
        let server = sim.serve_tls(listener, &cert).map_err(Error::Sim)?;
        tracing::info!(
            url = %server.url(),
            ca = %files.ca.display(),
            "simulated Kubernetes API with authentication and RBAC (kubectl --server {} --certificate-authority {} --token <a token of the file>)",
            server.url(),
            files.ca.display()
        );
        server
    } else {
        let server = sim.serve(listener).map_err(Error::Sim)?;
        tracing::info!(url = %server.url(), "simulated Kubernetes API (kubectl --server {})", server.url());
        server
    };
    crate::tasks::shutdown_on_signals().cancelled().await;
    server.shutdown().await;
    Ok(())
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
    let probes = app::bind(args.health.health_listen_addr, "HEALTH_LISTEN_ADDR").await?;
    let config = client::load_config(args.kubeconfig.as_deref()).await?;
    let timeout = Duration::from_secs(args.connect_timeout_seconds);
    let kube = client::connect(config, timeout).await?.client;
    // Fail fast on a GPIO that cannot work at all (wrong pins, no access); later losses are retried.
    let mut device = args.device();
    device.connect().map_err(Error::Blinkt)?;
    tracing::info!(node = %args.node_name, scope = ?args.pod_scope(), "showing this node's pods on the Blinkt!");
    let blinkt = Blinkt::start(kube, &args, device, DriverConfig::default());
    let shutdown = crate::tasks::shutdown_on_signals();
    // The probes answer until the signal, then the LEDs go dark.
    let probes = app::serve_blinkt_probes(probes, blinkt.probes(), shutdown).await;
    blinkt.stop().await;
    Ok(probes?)
}

/// `conferenceli workload`: the demo workload, until SIGTERM.
pub async fn workload(args: crate::workload::WorkloadArgs) -> Result<()> {
    let listener = app::bind(args.listen_addr, "LISTEN_ADDR").await?;
    let workload = crate::workload::Workload::new(crate::workload::pod_name(args.pod_name));
    tracing::info!(addr = %args.listen_addr, name = workload.name(), "serving the demo workload");
    crate::workload::serve(listener, workload, crate::tasks::shutdown_on_signals()).await.map_err(Error::Workload)
}
