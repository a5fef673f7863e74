//! `conferenceli blinkt` against the simulated cluster: the node's LEDs follow kills on that
//! node and ignore other nodes' pods, the `blinkt=show` selector and the `blinktColor` label
//! work, a NotReady node turns red, and the binary's virtual GPIO prints one line per frame and
//! goes dark on SIGTERM.

use crate::common::{TestCluster, eventually, fast_config};
use conferenceli::leds::blinkt::{Blinkt, BlinktArgs};
use conferenceli::leds::driver::{DriverConfig, LedHealth};
use conferenceli::leds::driver::{LedDevice, LedError};
use conferenceli::leds::frame::Frame;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube_sim::NodeHealth;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const G: &str = "#00ff00";
const O: &str = "#000000";

fn args(extra: &[&str]) -> BlinktArgs {
    use clap::Parser;
    let mut argv = vec!["conferenceli", "blinkt", "--node-name", "pico-1", "--gpio", "virtual"];
    argv.extend_from_slice(extra);
    match conferenceli::config::Cli::try_parse_from(argv).expect("valid arguments").command {
        conferenceli::config::Command::Blinkt(args) => args,
        _ => unreachable!("parsed a blinkt command line"),
    }
}

fn colours(frame: &Frame) -> Vec<String> {
    frame.leds().iter().map(|c| c.to_string()).collect()
}

/// Every frame the renderer publishes, in order.
fn record(blinkt: &Blinkt) -> Arc<Mutex<Vec<Vec<String>>>> {
    let mut frames = blinkt.frames.clone();
    let seen = Arc::new(Mutex::new(vec![colours(&frames.borrow_and_update())]));
    let log = seen.clone();
    tokio::spawn(async move {
        while frames.changed().await.is_ok() {
            let frame = colours(&frames.borrow_and_update());
            log.lock().unwrap().push(frame);
        }
    });
    seen
}

async fn showing(blinkt: &Blinkt, what: &str, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    eventually(WAIT, what, || async { (colours(&blinkt.frames.borrow()) == expected).then_some(()) }).await;
}

/// A strip that shows frames to nobody (the renderer's frames are what these tests read), so
/// the in-process tests do not print on the harness's stdout.
struct Unseen;

impl LedDevice for Unseen {
    fn connect(&mut self) -> Result<(), LedError> {
        Ok(())
    }

    fn write(&mut self, _frame: &Frame) -> Result<(), LedError> {
        Ok(())
    }

    fn disconnect(&mut self) {}
}

fn start(cluster: &TestCluster, extra: &[&str]) -> Blinkt {
    Blinkt::start(cluster.client.clone(), &args(extra), Box::new(Unseen), DriverConfig::default())
}

/// The node each of the workload's pods runs on, from the API.
async fn pods_on(cluster: &TestCluster, node: &str) -> Vec<String> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let list = pods.list(&Default::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .map(|p| p.metadata.name.unwrap())
        .collect()
}

#[tokio::test]
async fn the_node_follows_kills_on_it_and_ignores_other_nodes() {
    let cluster = TestCluster::start(fast_config()).await;
    // Round-robin over conferenceli, pico-1, pico-2: pico-1 runs critical-prod-1 and -4.
    assert_eq!(pods_on(&cluster, "pico-1").await, ["critical-prod-1", "critical-prod-4"]);
    let blinkt = start(&cluster, &[]);
    showing(&blinkt, "two green pods", &[G, G, O, O, O, O, O, O]).await;
    let frames = record(&blinkt);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");

    // A kill on pico-2 changes nothing here, through its whole delete/recreate cycle.
    pods.delete("critical-prod-2", &DeleteParams::default()).await.unwrap();
    eventually(WAIT, "critical-prod-2 running again", || async {
        let pod = pods.get("critical-prod-2").await.ok()?;
        let running = pod.status?.phase.as_deref() == Some("Running") && pod.metadata.deletion_timestamp.is_none();
        running.then_some(())
    })
    .await;
    assert!(!pods_on(&cluster, "pico-1").await.contains(&"critical-prod-2".to_string()));
    let seen = frames.lock().unwrap().clone();
    assert!(
        seen.iter().all(|f| f[..2] == [G, G] && f[2..].iter().all(|c| c == O)),
        "pico-1 changed for a pod of pico-2: {seen:?}"
    );

    // A kill here: LED 1 blinks red while Terminating, then the pod goes.
    pods.delete("critical-prod-4", &DeleteParams::default()).await.unwrap();
    showing(&blinkt, "critical-prod-4 red", &[G, "#ff0000", O, O, O, O, O, O]).await;
    showing(&blinkt, "critical-prod-4 blinking", &[G, O, O, O, O, O, O, O]).await;
    // The StatefulSet recreates it; the scheduler puts it back on the least loaded node (here).
    eventually(WAIT, "critical-prod-4 back on pico-1", || async {
        pods_on(&cluster, "pico-1").await.contains(&"critical-prod-4".to_string()).then_some(())
    })
    .await;
    showing(&blinkt, "the new pod green", &[G, G, O, O, O, O, O, O]).await;
    // It faded in: some frame showed it between off and full green.
    let seen = frames.lock().unwrap().clone();
    let faded = seen.iter().any(|f| ![G, O, "#ff0000", "#ffff00"].contains(&f[1].as_str()));
    assert!(faded, "no fade-in frame seen: {seen:?}");
    blinkt.stop().await;
}

#[tokio::test]
async fn the_selector_and_colour_label_conventions() {
    let cluster = TestCluster::start(fast_config()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    let label = |labels: serde_json::Value| serde_json::json!({"metadata": {"labels": labels}});
    pods.patch(
        "critical-prod-4",
        &PatchParams::default(),
        &Patch::Merge(label(serde_json::json!({"blinkt": "show", "blinktColor": "0000FF"}))),
    )
    .await
    .unwrap();
    let blinkt = start(&cluster, &["--selector", "blinkt=show"]);
    showing(&blinkt, "only the labelled pod, in its colour", &["#0000ff", O, O, O, O, O, O, O]).await;
    pods.patch("critical-prod-1", &PatchParams::default(), &Patch::Merge(label(serde_json::json!({"blinkt": "show"}))))
        .await
        .unwrap();
    // critical-prod-1 sorts first by ordinal and fades in green.
    showing(&blinkt, "both labelled pods", &[G, "#0000ff", O, O, O, O, O, O]).await;
    blinkt.stop().await;

    // Without the selector every pod of the node counts; all namespaces work too.
    let blinkt = start(&cluster, &["--all-namespaces"]);
    showing(&blinkt, "every pod of pico-1", &[G, "#0000ff", O, O, O, O, O, O]).await;
    blinkt.stop().await;
}

#[tokio::test]
async fn a_not_ready_node_turns_dim_red_and_recovers() {
    let cluster = TestCluster::start(fast_config()).await;
    let blinkt = start(&cluster, &[]);
    showing(&blinkt, "two green pods", &[G, G, O, O, O, O, O, O]).await;
    // Nothing moves: no new frame at all (no busy loop re-rendering the same picture).
    let frames = record(&blinkt);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = frames.lock().unwrap().clone();
    assert_eq!(idle.len(), 1, "frames while idle: {idle:?}");
    let http = reqwest::Client::new();
    let not_ready = http.post(format!("{}/sim/nodes/pico-1/not-ready", cluster.url())).send().await.unwrap();
    assert!(not_ready.status().is_success());
    showing(&blinkt, "all dim red", &["#400000"; 8]).await;
    // Another node's trouble is not ours.
    cluster.sim.set_node_health("pico-1", NodeHealth::Ready);
    cluster.sim.set_node_health("pico-2", NodeHealth::NotReady);
    showing(&blinkt, "green again", &[G, G, O, O, O, O, O, O]).await;
    assert_eq!(*blinkt.health.borrow(), LedHealth::Connected);
    blinkt.stop().await;
}

// Multi-threaded: the child runs against the API served by this test's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_usable_gpio_the_binary_stops_with_one_line() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(crate::binary::BIN)
        .args(["blinkt", "--gpio", "rppal", "--data-pin", "23", "--health-listen-addr", "127.0.0.1:0"])
        .env("NODE_NAME", "pico-1")
        .env("KUBECONFIG", crate::common::kubeconfig_for(&cluster.url(), dir.path()))
        .env("LOG_LEVEL", "error")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("conferenceli: cannot drive the Blinkt!: GPIO"), "{stderr}");
}

// Multi-threaded: the test thread blocks reading the child's stdout while the API serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_one_line_per_frame_and_goes_dark_on_sigterm() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = crate::common::kubeconfig_for(&cluster.url(), dir.path());
    let health = format!("127.0.0.1:{}", crate::common::free_port());
    let mut child = std::process::Command::new(crate::binary::BIN)
        .args(["blinkt", "--gpio", "virtual", "--health-listen-addr", &health])
        .env("NODE_NAME", "pico-1")
        .env("KUBECONFIG", &kubeconfig)
        .env("LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let want = format!("frame {G} {G} {O} {O} {O} {O} {O} {O}");
    let mut lines = Vec::new();
    while lines.last() != Some(&want) {
        match lines_rx.recv_timeout(WAIT) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("no frame with the two pods; got {lines:?}"),
        }
    }
    assert!(lines.iter().all(|l| l.starts_with("frame ") && l.split(' ').count() == 9), "{lines:?}");
    // The DaemonSet's probes: alive, and ready since both watches have listed (the frame shows
    // the node's two pods); nothing else answers there.
    let probe = |path: &str| reqwest::get(format!("http://{health}{path}"));
    let alive = probe("/healthz").await.unwrap();
    assert_eq!((alive.status().as_u16(), alive.text().await.unwrap().as_str()), (200, "ok"));
    let ready = probe("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        ready,
        serde_json::json!({"ready": true, "podsWatch": "synced", "nodesWatch": "synced", "leds": "connected"})
    );
    assert_eq!(probe("/metrics").await.unwrap().status(), 404);
    crate::common::sigterm(child.id());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines_rx.iter().collect();
    assert_eq!(rest.last().map(String::as_str), Some(format!("frame {}", [O; 8].join(" ")).as_str()), "{rest:?}");
}
