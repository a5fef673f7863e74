//! The booth's LEDs: the colour model shared by every strip, the frames, the renderer, the
//! device driver task, the BlinkStick (USB, in `run`/`demo`) and the Blinkt! (GPIO, in the
//! `blinkt` DaemonSet mode).
//!
//! Layers, from pure to I/O: [`colour`] and [`frame`] (pod state → colours, a pure function of
//! cluster picture, time and settings), [`blinkstick`] and [`apa102`] (the wire formats as pure
//! functions), [`render`] (cluster changes → frames), [`driver`] (frames → a [`driver::LedDevice`], with
//! coalescing, reconnects and health), `gpio` and [`blinkstick::BlinkStick`] (the devices),
//! [`blinkt`] (the DaemonSet command).
//!
//! It may read [`ClusterState`], listen to the [`ChaosBus`] and report health to the Booth; it
//! changes nothing in the cluster.
//!
//! May call: `crate::backoff`, `crate::booth`, `crate::cluster`, `crate::tasks`, `crate::telemetry`.

pub mod apa102;
pub mod blinkstick;
pub mod blinkt;
pub mod colour;
pub mod driver;
pub mod frame;
pub(crate) mod gpio;
pub mod render;

use crate::booth::{BoothHandle, BoothPart};
use crate::cluster::{ChaosBus, ClusterState};
use crate::tasks::Tasks;
use clap::{Args, ValueEnum};
use colour::{Colours, Palette};
use driver::{DriverConfig, LedHealth};
use frame::{Frame, GroupLayout};
use std::path::PathBuf;
use tokio::sync::watch;

/// The name of the BlinkStick's condition in the Booth status.
pub(crate) const BLINKSTICK_PART: &str = "BlinkStick";

/// Where the booth's LED frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LedMode {
    /// A BlinkStick (Flex) on USB.
    Blinkstick,
    /// No hardware: frames only in `/api/state` (the dashboard's virtual strip).
    Virtual,
    /// No LEDs at all (`/api/state` reports `leds: []`).
    Off,
}

/// Palette and brightness, shared by the BlinkStick and the Blinkt!.
#[derive(Debug, Clone, Args)]
pub struct ColourArgs {
    /// Brightness of every LED colour in percent (0-100).
    #[arg(long, env = "LED_BRIGHTNESS", default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) led_brightness: u8,
    /// Palette overrides: `ready=00ff00,not-ready=ff8000,pending=ffff00,terminating=ff0000,failed=ff0000`.
    #[arg(long, env = "LED_PALETTE", default_value = "", value_parser = Palette::parse)]
    pub(crate) led_palette: Palette,
}

impl ColourArgs {
    pub fn colours(&self) -> Colours {
        Colours { palette: self.led_palette, brightness_percent: self.led_brightness }
    }
}

/// The BlinkStick settings of `run` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct LedArgs {
    /// LED output: blinkstick, virtual or off (default: blinkstick for `run`, virtual for `demo`).
    #[arg(long = "leds", env = "LEDS", value_enum)]
    pub mode: Option<LedMode>,
    /// LEDs per pod ordinal (one shipping container).
    #[arg(long, env = "BLINKSTICK_GROUP_LED", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub(crate) blinkstick_group_led: u8,
    /// LEDs on the BlinkStick's strip in all (at most 64).
    #[arg(long, env = "BLINKSTICK_TOTAL_LED", default_value_t = 15, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub(crate) blinkstick_total_led: u8,
    /// Ordinal 0 at the far end of the strip (true/false).
    #[arg(long, env = "BLINKSTICK_REVERSED", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub(crate) blinkstick_reversed: bool,
    /// A fixed hidraw device node (e.g. a udev symlink /dev/blinkstick); default: found by USB id.
    #[arg(long, env = "BLINKSTICK_DEVICE")]
    pub(crate) blinkstick_device: Option<PathBuf>,
    #[command(flatten)]
    pub colours: ColourArgs,
}

impl LedArgs {
    pub fn layout(&self) -> GroupLayout {
        GroupLayout {
            group: usize::from(self.blinkstick_group_led),
            total: usize::from(self.blinkstick_total_led),
            reversed: self.blinkstick_reversed,
        }
    }
}

/// What the rest of the app reads of the LEDs: the current frame and the device's health.
#[derive(Clone)]
pub struct LedHandle {
    frames: watch::Receiver<Frame>,
    health: watch::Receiver<LedHealth>,
}

impl LedHandle {
    /// LEDs switched off: an empty frame, health `off`.
    pub fn off() -> Self {
        Self { frames: watch::channel(Frame::default()).1, health: watch::channel(LedHealth::Off).1 }
    }

    /// The frame the LEDs show now (what `/api/state` reports as `leds`).
    pub fn frame(&self) -> Frame {
        self.frames.borrow().clone()
    }

    pub fn health(&self) -> LedHealth {
        self.health.borrow().clone()
    }
}

/// What the booth's LEDs show: the pods of `namespace` in the cluster state, chaos picks, and
/// the Booth's mode.
pub struct LedInputs<'a> {
    pub namespace: &'a str,
    pub cluster: &'a ClusterState,
    pub chaos: &'a ChaosBus,
    pub booth: &'a BoothHandle,
}

/// Starts the booth's LEDs in the mode `args` name (`run` and `demo` always set one; a caller
/// that did not gets virtual LEDs): the renderer for the BlinkStick layout, and for
/// `blinkstick` the driver task writing to `port` (the hidraw node `args` name when `None`) and
/// its health reports to the Booth status.
pub fn start(
    args: &LedArgs,
    inputs: LedInputs<'_>,
    port: Option<Box<dyn blinkstick::HidPort>>,
    counters: driver::LedCounters,
    tasks: &Tasks,
) -> LedHandle {
    let mode = args.mode.unwrap_or(LedMode::Virtual);
    if mode == LedMode::Off {
        return LedHandle::off();
    }
    let LedInputs { namespace, cluster, chaos, booth } = inputs;
    let layout = args.layout();
    let scene = render::GroupScene::new(args.colours.colours(), layout, namespace).with_booth(booth.subscribe());
    let (frame_tx, frames) = watch::channel(Frame::off(layout.total));
    let shutdown = tasks.token();
    tasks.spawn(
        "LED renderer",
        render::render(scene, cluster.clone(), Some(chaos.listen()), frame_tx, shutdown.clone()),
    );
    tasks.spawn_until_shutdown("LED frame counter", count_frames(frames.clone(), counters.frames.clone()));
    let initial = if mode == LedMode::Virtual { LedHealth::Virtual } else { LedHealth::Starting };
    let (health_tx, health) = watch::channel(initial);
    if mode == LedMode::Blinkstick {
        let port = port.unwrap_or_else(|| Box::new(blinkstick::Hidraw::new(args.blinkstick_device.clone())));
        let device = Box::new(blinkstick::BlinkStick::new(port, layout.total));
        let config = DriverConfig { counters, ..DriverConfig::default() };
        // The driver ends on the token after writing the LEDs dark.
        tasks.spawn(
            "BlinkStick driver",
            driver::drive(BLINKSTICK_PART, device, frames.clone(), health_tx, config, shutdown.clone()),
        );
        tasks.spawn_until_shutdown("BlinkStick health", report_health(health.clone(), booth.clone()));
    }
    LedHandle { frames, health }
}

/// Counts every new frame the renderer draws (in `virtual` mode too, where no device writes).
async fn count_frames(mut frames: watch::Receiver<Frame>, counter: prometheus_client::metrics::counter::Counter) {
    while frames.changed().await.is_ok() {
        counter.inc();
    }
}

/// Mirrors the BlinkStick's health into the Booth status, once per change.
async fn report_health(mut health: watch::Receiver<LedHealth>, booth: BoothHandle) {
    loop {
        let current = health.borrow_and_update().clone();
        match &current {
            LedHealth::Connected => {
                booth.report_health(BoothPart::BlinkStick, true, "Connected", "the BlinkStick shows the pods")
            }
            LedHealth::Disconnected(reason) => {
                booth.report_health(BoothPart::BlinkStick, false, "Disconnected", reason)
            }
            _ => {}
        }
        if health.changed().await.is_err() {
            return;
        }
    }
}
