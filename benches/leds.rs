//! LED benchmark (`cargo bench --bench leds`): prints a Markdown table.
//!
//! 1. BlinkStick: a pod change made in the simulated API (a pod's readiness flipped) until the
//!    frame showing it is handed to the device: the real watch loop, `ClusterState`, renderer
//!    and driver task; the device records the time of each write. p50 and p99 over the samples.
//! 2. Blinkt!: the same for `blinkt` mode (node-scoped watches, node scene).
//! 3. Idle CPU of the release `conferenceli blinkt --gpio virtual` binary against the simulated
//!    API once its start-up fade is over, over `BENCH_IDLE_SECONDS` (default 20) seconds.
//! 4. The cost of building the 15-LED BlinkStick report and the 8-LED APA102 stream.
//!
//! The headline figures also go to the performance report (`report::record`).

#[path = "procfs/mod.rs"]
mod procfs;
#[path = "report/mod.rs"]
mod report;

use conferenceli::cluster::client::client_for_url;
use conferenceli::cluster::watch::watch_pods;
use conferenceli::cluster::{ChaosBus, ClusterState, PodScope, WatchRestarts};
use conferenceli::leds::blinkt::{Blinkt, BlinktArgs};
use conferenceli::leds::colour::{Colours, Rgb};
use conferenceli::leds::driver::{DriverConfig, LedDevice, LedError, LedHealth, drive};
use conferenceli::leds::frame::{Frame, GroupLayout};
use conferenceli::leds::render::{GroupScene, render};
use conferenceli::leds::{apa102, blinkstick};
use kube_sim::{SimCluster, SimConfig};
use report::Figure;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const SAMPLES: usize = 200;
/// Spacing between changes, longer than the frame interval so each change is its own frame.
const SPACING: Duration = Duration::from_millis(60);

/// Hands every written frame, with the time it arrived, to the benchmark.
struct Stopwatch(mpsc::UnboundedSender<(Instant, Frame)>);

impl LedDevice for Stopwatch {
    fn connect(&mut self) -> Result<(), LedError> {
        Ok(())
    }

    fn write(&mut self, frame: &Frame) -> Result<(), LedError> {
        let _ = self.0.send((Instant::now(), frame.clone()));
        Ok(())
    }

    fn disconnect(&mut self) {}
}

/// Flips the Ready condition of `name` in the simulated API's store (a watched change).
fn set_ready(sim: &SimCluster, name: &str, ready: bool) {
    let def = sim.store.registry.find("", "v1", "pods").unwrap();
    let pod = sim.store.get(&def, "demopod", name).unwrap();
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    sim.store.mutate(&def, "demopod", name, &uid, |p| {
        for c in p["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = serde_json::json!(if ready { "True" } else { "False" });
            }
        }
    });
}

/// Flips `pod` `SAMPLES` times; each time waits for the write whose LED `led` shows the new state.
async fn latencies(
    sim: &SimCluster,
    pod: &str,
    led: usize,
    writes: &mut mpsc::UnboundedReceiver<(Instant, Frame)>,
) -> Vec<Duration> {
    let green = Rgb::new(0, 0xff, 0);
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let ready = i % 2 == 1;
        let changed = Instant::now();
        set_ready(sim, pod, ready);
        loop {
            let (at, frame) = tokio::time::timeout(Duration::from_secs(10), writes.recv()).await.unwrap().unwrap();
            if (frame.leds()[led] == green) == ready {
                samples.push(at - changed);
                break;
            }
        }
        tokio::time::sleep(SPACING).await;
    }
    samples.sort();
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn serve(config: SimConfig) -> (Arc<SimCluster>, kube_sim::SimServer) {
    let sim = SimCluster::start(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sim.serve(listener).unwrap();
    (sim, server)
}

async fn blinkstick_latency() -> Vec<Duration> {
    let (sim, server) = serve(conferenceli::demo::sim_config()).await;
    let client = client_for_url(&server.url()).unwrap();
    let cluster = ClusterState::new();
    let scope = PodScope { namespace: Some("demopod".into()), ..PodScope::default() };
    let watch = tokio::spawn(watch_pods(client, scope, cluster.clone(), Arc::new(WatchRestarts::default())));
    let shutdown = CancellationToken::new();
    let scene = GroupScene::new(Colours::default(), GroupLayout::default(), "demopod");
    let (frame_tx, frames) = watch::channel(Frame::off(15));
    tokio::spawn(render(scene, cluster.clone(), Some(ChaosBus::new().listen()), frame_tx, shutdown.clone()));
    let (tx, mut writes) = mpsc::unbounded_channel();
    let (health, _) = watch::channel(LedHealth::Starting);
    tokio::spawn(drive("bench", Box::new(Stopwatch(tx)), frames, health, DriverConfig::default(), shutdown.clone()));
    while cluster.pods().len() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    while writes.try_recv().is_ok() {}
    let samples = latencies(&sim, "critical-prod-0", 0, &mut writes).await;
    shutdown.cancel();
    watch.abort();
    server.shutdown().await;
    samples
}

fn blinkt_args(extra: &[&str]) -> BlinktArgs {
    use clap::Parser;
    let mut argv = vec!["conferenceli", "blinkt", "--node-name", "pico-1", "--gpio", "virtual"];
    argv.extend_from_slice(extra);
    match conferenceli::config::Cli::try_parse_from(argv).unwrap().command {
        conferenceli::config::Command::Blinkt(args) => args,
        _ => unreachable!(),
    }
}

async fn blinkt_latency() -> Vec<Duration> {
    let (sim, server) = serve(conferenceli::demo::sim_config()).await;
    let client = client_for_url(&server.url()).unwrap();
    let (tx, mut writes) = mpsc::unbounded_channel();
    let blinkt = Blinkt::start(client, &blinkt_args(&[]), Box::new(Stopwatch(tx)), DriverConfig::default());
    // Wait out the start-up fade-in of the node's two pods.
    let green = Rgb::new(0, 0xff, 0);
    loop {
        let (_, frame) = writes.recv().await.unwrap();
        if frame.leds()[..2] == [green, green] {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    while writes.try_recv().is_ok() {}
    // critical-prod-1 is the first pod of pico-1 (LED 0).
    let samples = latencies(&sim, "critical-prod-1", 0, &mut writes).await;
    blinkt.stop().await;
    server.shutdown().await;
    samples
}

/// Idle use of the `blinkt` binary over `window` after its start-up, and the frames it wrote.
async fn blinkt_idle(window: Duration) -> (procfs::Idle, usize) {
    let (_sim, server) = serve(conferenceli::demo::sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube_sim::write_kubeconfig(&server.url(), dir.path()).unwrap();
    let mut child = procfs::KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
            .args(["blinkt", "--gpio", "virtual", "--log-level", "warn", "--health-listen-addr", "127.0.0.1:0"])
            .env("NODE_NAME", "pico-1")
            .env("KUBECONFIG", &kubeconfig)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let lines = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for _ in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    // Start-up: connect, sync, fade in (1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lines_before = lines.load(std::sync::atomic::Ordering::Relaxed);
    let idle = procfs::measure_idle(child.id(), window).await;
    let frames = lines.load(std::sync::atomic::Ordering::Relaxed) - lines_before;
    drop(child);
    server.shutdown().await;
    (idle, frames)
}

fn report_costs() -> (Duration, Duration) {
    let leds: Vec<Rgb> = (0..15u8).map(|i| Rgb::new(i, 2 * i, 3 * i)).collect();
    let pixels: Vec<apa102::Pixel> =
        (0..8u8).map(|i| apa102::Pixel { colour: Rgb::new(i, i, i), brightness: 31 }).collect();
    let rounds = 100_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(blinkstick::frame_report(std::hint::black_box(&leds)).unwrap());
    }
    let report = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(apa102::stream(std::hint::black_box(&pixels)).unwrap());
    }
    (report, started.elapsed() / rounds)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let idle_window = procfs::idle_window();
    let stick = blinkstick_latency().await;
    let blinkt = blinkt_latency().await;
    let (idle, idle_frames) = blinkt_idle(idle_window).await;
    let (report_cost, stream_cost) = report_costs();
    println!("| measurement | result |");
    println!("| --- | --- |");
    println!(
        "| BlinkStick: pod change in the API → frame handed to the device ({SAMPLES} changes) | p50 {}, p99 {}, max {} |",
        ms(percentile(&stick, 0.5)),
        ms(percentile(&stick, 0.99)),
        ms(*stick.last().unwrap())
    );
    println!(
        "| Blinkt!: pod change in the API → frame handed to the GPIO strip ({SAMPLES} changes) | p50 {}, p99 {}, max {} |",
        ms(percentile(&blinkt, 0.5)),
        ms(percentile(&blinkt, 0.99)),
        ms(*blinkt.last().unwrap())
    );
    println!(
        "| `conferenceli blinkt` idle over {} s (release binary) | {:.3} % of one core ({} ticks), {idle_frames} frames written, RSS {} MiB |",
        idle_window.as_secs(),
        idle.cpu_percent,
        idle.ticks,
        idle.rss_kib / 1024
    );
    println!("| building the 15-LED BlinkStick report | {} ns |", report_cost.as_nanos());
    println!("| building the 8-LED APA102 stream | {} ns |", stream_cost.as_nanos());

    let latency_method = format!(
        "a pod's readiness flipped in the simulated API {SAMPLES} times, {} ms apart, until the frame showing it is handed to the device: the real kube-rs watch, `ClusterState`, renderer and driver task in the bench process; a test device timestamps each write (USB/GPIO transfer not included)",
        SPACING.as_millis()
    );
    let latency = |key, device: &str, samples: &[Duration], p: f64| Figure {
        key,
        what: format!("pod change → frame handed to the {device}, p{}", (p * 100.0).round()),
        value: percentile(samples, p).as_secs_f64() * 1000.0,
        unit: "ms",
        higher_is_better: false,
        method: latency_method.clone(),
    };
    let idle_method = format!(
        "release `conferenceli blinkt --gpio virtual` for node pico-1 against a simulated API (3 nodes, 5 pods) served by the bench process; utime + stime from `/proc/<pid>/stat` (10 ms ticks) over {} s starting 3 s after spawn (sync and fade-in done), {idle_frames} frames written",
        idle_window.as_secs(),
    );
    let [idle_cpu, idle_rss] =
        idle.figures("`conferenceli blinkt`", "blinkt_idle_cpu_percent", "blinkt_idle_rss_mib", &idle_method);
    report::record(
        "leds",
        &[
            latency("blinkstick_p50_ms", "BlinkStick", &stick, 0.5),
            latency("blinkstick_p99_ms", "BlinkStick", &stick, 0.99),
            latency("blinkt_p50_ms", "Blinkt!", &blinkt, 0.5),
            latency("blinkt_p99_ms", "Blinkt!", &blinkt, 0.99),
            idle_cpu,
            idle_rss,
        ],
    );
}
