//! The booth's LEDs end to end: the driver task against a test device that is absent, fails,
//! disappears and comes back; LEDs dark at shutdown; coalesced writes; the chaos strobe through
//! the renderer; and the app's `/api/state` `leds` and `/readyz` details following the cluster.

use crate::common::{TestApp, TestCluster, eventually, fast_config};
use conferenceli::cluster::{ChaosBus, ChaosEvent, ChaosTarget, ClusterState, PodPhase, PodView, Presser};
use conferenceli::leds::colour::{Colours, Rgb};
use conferenceli::leds::driver::{DriverConfig, LedDevice, LedError, LedHealth, drive};
use conferenceli::leds::frame::{Frame, GroupLayout};
use conferenceli::leds::render::{GroupScene, render};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Bench {
    plugged: bool,
    connects: u32,
    written: Vec<Frame>,
}

/// A strip on a test bench: it can be unplugged and plugged in again; it records what it shows.
#[derive(Clone, Default)]
struct BenchStrip(Arc<Mutex<Bench>>);

impl BenchStrip {
    fn plug(&self, plugged: bool) {
        self.0.lock().unwrap().plugged = plugged;
    }

    fn written(&self) -> Vec<Frame> {
        self.0.lock().unwrap().written.clone()
    }

    fn last(&self) -> Option<Frame> {
        self.0.lock().unwrap().written.last().cloned()
    }

    fn connects(&self) -> u32 {
        self.0.lock().unwrap().connects
    }
}

impl LedDevice for BenchStrip {
    fn connect(&mut self) -> Result<(), LedError> {
        let mut bench = self.0.lock().unwrap();
        if !bench.plugged {
            return Err(LedError::Unavailable("no BlinkStick found".into()));
        }
        bench.connects += 1;
        Ok(())
    }

    fn write(&mut self, frame: &Frame) -> Result<(), LedError> {
        let mut bench = self.0.lock().unwrap();
        if !bench.plugged {
            return Err(LedError::Io("No such device (os error 19)".into()));
        }
        bench.written.push(frame.clone());
        Ok(())
    }

    fn disconnect(&mut self) {}
}

fn solid(colour: Rgb, leds: usize) -> Frame {
    Frame(vec![colour; leds])
}

const GREEN: Rgb = Rgb::new(0, 0xff, 0);
const RED: Rgb = Rgb::new(0xff, 0, 0);
const BLUE: Rgb = Rgb::new(0, 0, 0xff);

struct Driving {
    strip: BenchStrip,
    frames: watch::Sender<Frame>,
    health: watch::Receiver<LedHealth>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start_driver(plugged: bool, first: Frame) -> Driving {
    let strip = BenchStrip::default();
    strip.plug(plugged);
    let (frames, frames_rx) = watch::channel(first);
    let (health_tx, health) = watch::channel(LedHealth::Starting);
    let shutdown = CancellationToken::new();
    let config = DriverConfig { max_backoff: Duration::from_millis(400), ..DriverConfig::default() };
    let task =
        tokio::spawn(drive("BlinkStick", Box::new(strip.clone()), frames_rx, health_tx, config, shutdown.clone()));
    Driving { strip, frames, health, shutdown, task }
}

#[tokio::test]
async fn the_driver_survives_an_absent_failing_and_replugged_device() {
    let d = start_driver(false, solid(GREEN, 15));
    let health = d.health.clone();
    eventually(WAIT, "the absence reported", || async {
        matches!(&*health.borrow(), LedHealth::Disconnected(why) if why.contains("no BlinkStick")).then_some(())
    })
    .await;
    assert!(d.strip.written().is_empty());

    // Plugged in: connected within the capped backoff, and the current frame shown at once.
    d.strip.plug(true);
    eventually(WAIT, "the first frame", || async { (d.strip.last() == Some(solid(GREEN, 15))).then_some(()) }).await;
    assert_eq!(*d.health.borrow(), LedHealth::Connected);

    // Unplugged: the next write fails, the driver notices and keeps retrying.
    d.strip.plug(false);
    d.frames.send_replace(solid(RED, 15));
    let health = d.health.clone();
    eventually(WAIT, "the unplug noticed", || async {
        matches!(&*health.borrow(), LedHealth::Disconnected(_)).then_some(())
    })
    .await;
    d.frames.send_replace(solid(BLUE, 15));

    // Back: reconnected, and only the latest frame is shown (the red one was never seen).
    d.strip.plug(true);
    eventually(WAIT, "the latest frame after replugging", || async {
        (d.strip.last() == Some(solid(BLUE, 15))).then_some(())
    })
    .await;
    assert_eq!(*d.health.borrow(), LedHealth::Connected);
    assert_eq!(d.strip.written(), [solid(GREEN, 15), solid(BLUE, 15)]);
    assert_eq!(d.strip.connects(), 2);
    d.shutdown.cancel();
    d.task.await.unwrap();
}

#[tokio::test]
async fn shutdown_turns_every_led_off() {
    let d = start_driver(true, solid(GREEN, 15));
    eventually(WAIT, "the first frame", || async { (d.strip.last() == Some(solid(GREEN, 15))).then_some(()) }).await;
    d.shutdown.cancel();
    tokio::time::timeout(WAIT, d.task).await.expect("the driver stops").unwrap();
    assert_eq!(d.strip.last(), Some(Frame::off(15)));
}

#[tokio::test]
async fn only_changed_frames_are_written_and_bursts_are_coalesced() {
    let d = start_driver(true, solid(GREEN, 8));
    eventually(WAIT, "the first frame", || async { (d.strip.last() == Some(solid(GREEN, 8))).then_some(()) }).await;
    // The same frame again: nothing to write.
    d.frames.send_replace(solid(GREEN, 8));
    // A burst of 200 frames within a few milliseconds ends on blue.
    for i in 0..200u8 {
        d.frames.send_replace(solid(Rgb::new(i, 0, 0), 8));
    }
    d.frames.send_replace(solid(BLUE, 8));
    eventually(WAIT, "the last frame of the burst", || async {
        (d.strip.last() == Some(solid(BLUE, 8))).then_some(())
    })
    .await;
    let written = d.strip.written();
    assert!(written.len() < 10, "a burst of 201 frames took {} writes", written.len());
    assert!(written.windows(2).all(|w| w[0] != w[1]), "a frame was written twice in a row");
    d.shutdown.cancel();
}

fn pod(ordinal: u32, status: PodPhase) -> PodView {
    PodView {
        name: format!("critical-prod-{ordinal}"),
        namespace: "demopod".into(),
        status,
        index: Some(ordinal),
        node: Some("pico-1".into()),
        ready: true,
        restarts: 0,
        protected: false,
        uid: format!("u{ordinal}"),
        blinkt_color: None,
        created: None,
    }
}

#[tokio::test]
async fn a_chaos_kill_strobes_that_pods_group_then_the_state_shows_again_and_a_refusal_never_does() {
    let cluster = ClusterState::new();
    cluster.replace_pods((0..5).map(|i| pod(i, PodPhase::Running)).collect());
    let chaos = ChaosBus::new();
    let scene = GroupScene::new(Colours::default(), GroupLayout::default(), "demopod");
    let (frames_tx, mut frames) = watch::channel(Frame::default());
    let shutdown = CancellationToken::new();
    tokio::spawn(render(scene, cluster.clone(), Some(chaos.listen()), frames_tx, shutdown.clone()));
    let all_green = solid(GREEN, 15);
    eventually(WAIT, "all green", || async { (*frames.borrow() == all_green).then_some(()) }).await;

    // Another namespace's pick is not ours.
    let target = |namespace: &str| ChaosTarget {
        namespace: namespace.into(),
        name: "critical-prod-2".into(),
        index: Some(2),
        node: Some("pico-2".into()),
    };
    let at = jiff::Timestamp::now();
    let killed = |target| ChaosEvent::Killed { target, at, kill_count: 1, by: Presser::Button };
    chaos.announce(ChaosEvent::Picked { target: target("elsewhere"), by: Presser::Button, dry_run: false });
    chaos.announce(killed(target("elsewhere")));
    // Picked, then refused by the disruption budget: nothing was killed, nothing strobes.
    let mut refused = target("demopod");
    refused.index = Some(1);
    let budget = conferenceli::cluster::BudgetRefusal {
        budget: Some("critical-prod".into()),
        needs: Some(3),
        has: Some(3),
        message: "The disruption budget critical-prod needs 3 healthy pods and has 3 currently".into(),
    };
    chaos.announce(ChaosEvent::Picked { target: refused.clone(), by: Presser::Button, dry_run: false });
    chaos.announce(ChaosEvent::Refused { target: refused, by: Presser::Button, budget });
    chaos.announce(ChaosEvent::Picked { target: target("demopod"), by: Presser::Button, dry_run: false });
    chaos.announce(killed(target("demopod")));
    let white = Rgb::new(0xff, 0xff, 0xff);
    let mut saw_white = false;
    let mut saw_dark = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(saw_white && saw_dark) {
        tokio::time::timeout_at(deadline, frames.changed()).await.expect("the strobe in time").unwrap();
        let frame = frames.borrow_and_update().clone();
        let group = &frame.leds()[6..9];
        assert_eq!(&frame.leds()[..6], &all_green.leds()[..6], "only group 2 strobes (group 1 was refused)");
        assert_eq!(&frame.leds()[9..], &all_green.leds()[9..], "only group 2 strobes");
        saw_white |= group.iter().all(|c| *c == white);
        saw_dark |= group.iter().all(|c| *c == Rgb::OFF);
    }
    // The strobe ends by itself; then the delete lands and the group blinks red.
    eventually(WAIT, "the strobe to end", || async { (*frames.borrow() == all_green).then_some(()) }).await;
    cluster.upsert_pod(pod(2, PodPhase::Terminating));
    eventually(WAIT, "group 2 red", || async { (frames.borrow().leds()[6] == RED).then_some(()) }).await;
    eventually(WAIT, "group 2 blinking dark", || async { (frames.borrow().leds()[6] == Rgb::OFF).then_some(()) }).await;
    shutdown.cancel();
}

async fn state(app: &TestApp) -> serde_json::Value {
    reqwest::get(format!("{}/api/state", app.url)).await.unwrap().json().await.unwrap()
}

fn led_colours(state: &serde_json::Value) -> Vec<String> {
    state["leds"].as_array().unwrap().iter().map(|l| l["color"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_api_reports_the_frame_and_follows_a_kill() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--blinkstick-group-led", "2", "--blinkstick-total-led", "12"]).await;
    let green = "#00ff00".to_string();
    eventually(WAIT, "five green groups", || async {
        let state = state(&app).await;
        let colours = led_colours(&state);
        (colours[..10].iter().all(|c| *c == green) && colours[10..].iter().all(|c| c == "#000000")).then_some(())
    })
    .await;
    let leds = state(&app).await["leds"].clone();
    assert_eq!(leds[3], serde_json::json!({"index": 3, "color": "#00ff00"}));
    let readyz: serde_json::Value = reqwest::get(format!("{}/readyz", app.url)).await.unwrap().json().await.unwrap();
    assert_eq!(readyz["checks"]["leds"], "virtual");

    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "demopod");
    pods.delete("critical-prod-3", &DeleteParams::default()).await.unwrap();
    eventually(WAIT, "group 3 red", || async {
        let colours = led_colours(&state(&app).await);
        (colours[6] == "#ff0000" && colours[7] == "#ff0000").then_some(())
    })
    .await;
    eventually(WAIT, "group 3 back to green", || async {
        let colours = led_colours(&state(&app).await);
        (colours[6] == green && colours[7] == green).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn with_leds_off_there_is_no_frame() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--leds", "off"]).await;
    let state = state(&app).await;
    assert_eq!(state["leds"], serde_json::json!([]));
    let readyz: serde_json::Value = reqwest::get(format!("{}/readyz", app.url)).await.unwrap().json().await.unwrap();
    assert_eq!(readyz["checks"]["leds"], "off");
    app.stop().await;
}

/// The real hidapi device on a machine without a BlinkStick: the app runs on, and says so.
#[tokio::test]
async fn a_missing_blinkstick_shows_in_readyz_and_the_booth_status() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &["--leds", "blinkstick"]).await;
    let readyz = eventually(WAIT, "the BlinkStick reported missing", || async {
        let readyz: serde_json::Value = reqwest::get(format!("{}/readyz", app.url)).await.ok()?.json().await.ok()?;
        // A missing BlinkStick never makes the booth unready.
        (readyz["ready"] == true).then_some(())?;
        readyz["checks"]["leds"].as_str()?.starts_with("disconnected").then_some(readyz)
    })
    .await;
    assert!(readyz["checks"]["leds"].as_str().unwrap().contains("no BlinkStick (20a0:41e5) found"), "{readyz}");
    let booths: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let condition = eventually(WAIT, "the BlinkStick condition", || async {
        let booth = booths.get("booth").await.ok()?;
        booth.status?.conditions.into_iter().find(|c| c.type_ == "BlinkStick")
    })
    .await;
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "Disconnected"));
    // The frame is still computed for the dashboard.
    assert_eq!(state(&app).await["leds"].as_array().unwrap().len(), 15);
    app.stop().await;
}

#[tokio::test]
async fn night_mode_dims_the_leds() {
    let cluster = TestCluster::start(fast_config()).await;
    let app = TestApp::start(&cluster, &[]).await;
    let first_led = |colour: &'static str| {
        let url = app.url.clone();
        move || {
            let url = url.clone();
            async move {
                let state: serde_json::Value =
                    reqwest::get(format!("{url}/api/state")).await.ok()?.json().await.ok()?;
                (state["leds"][0]["color"] == colour).then_some(())
            }
        }
    };
    eventually(WAIT, "green by day", first_led("#00ff00")).await;
    let booths: Api<conferenceli::booth::Booth> = Api::namespaced(cluster.client.clone(), "conferenceli");
    let night = |on: bool| serde_json::json!({"spec": {"nightMode": on}});
    eventually(WAIT, "the Booth", || async { booths.get("booth").await.ok() }).await;
    booths.patch("booth", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(night(true))).await.unwrap();
    eventually(WAIT, "a quarter of the brightness at night", first_led("#004000")).await;
    booths.patch("booth", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(night(false))).await.unwrap();
    eventually(WAIT, "green again by day", first_led("#00ff00")).await;
    app.stop().await;
}
