//! The LED driver task: hands the latest frame to a [`LedDevice`] and keeps it working.
//!
//! - Updates are coalesced: the renderer publishes frames on a `watch` channel, so a burst of
//!   changes costs one write, and writes are spaced at least [`DriverConfig::min_interval`].
//! - Only changed frames are written.
//! - A device that is absent, fails or is unplugged is retried with capped exponential backoff;
//!   the state is logged once per change and published as [`LedHealth`]; a new connection gets the
//!   current frame at once.
//! - Device calls run on the blocking pool, so a hanging USB write never stalls the runtime, the
//!   watch loop or the web server.
//! - On shutdown the LEDs are turned off before the task ends.
//!
//! It may call the device it is given and nothing else.
//!
//! May call: `crate::backoff`.

use super::frame::Frame;
use crate::backoff::Backoff;
use prometheus_client::metrics::counter::Counter;
use std::fmt;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What went wrong with an LED device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedError {
    /// Not there (unplugged, no permission, not found).
    #[error("{0}")]
    Unavailable(String),
    /// It was there and a write failed.
    #[error("write failed: {0}")]
    Io(String),
    /// The frame does not fit the device.
    #[error("bad frame: {0}")]
    Frame(String),
}

/// A strip of LEDs. Calls may block (USB, GPIO); the driver runs them on the blocking pool.
pub trait LedDevice: Send + 'static {
    /// Opens the device (again, after an error or at start).
    fn connect(&mut self) -> Result<(), LedError>;
    /// Shows the whole frame.
    fn write(&mut self, frame: &Frame) -> Result<(), LedError>;
    /// Forgets the connection after an error, so the next attempt opens it afresh.
    fn disconnect(&mut self);
}

/// How the LEDs are, for `/readyz` and the Booth status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedHealth {
    /// `--leds off`: no LEDs at all.
    Off,
    /// Frames are computed but shown only on the dashboard (or stdout).
    Virtual,
    /// Waiting for the first connection attempt.
    Starting,
    Connected,
    Disconnected(String),
}

impl fmt::Display for LedHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedHealth::Off => f.write_str("off"),
            LedHealth::Virtual => f.write_str("virtual"),
            LedHealth::Starting => f.write_str("starting"),
            LedHealth::Connected => f.write_str("connected"),
            LedHealth::Disconnected(reason) => write!(f, "disconnected: {reason}"),
        }
    }
}

/// Frames written and device errors, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct LedCounters {
    /// Frames the renderer drew (whatever the device).
    pub frames: Counter,
    pub writes: Counter,
    pub errors: Counter,
}

impl LedCounters {
    /// Counters registered as `conferenceli_led_writes_total` and `conferenceli_led_errors_total`.
    pub(crate) fn register(registry: &mut prometheus_client::registry::Registry) -> Self {
        let counters = Self::default();
        registry.register("led_frames", "LED frames drawn by the renderer", counters.frames.clone());
        registry.register("led_writes", "LED frames written to the device", counters.writes.clone());
        registry.register(
            "led_errors",
            "LED device errors (absent, unplugged, failed writes)",
            counters.errors.clone(),
        );
        counters
    }
}

/// Timings of the driver, and where it counts what it does.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// At most one write per this interval (bounded frame rate).
    pub min_interval: Duration,
    /// First retry delay after a failure; doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long the last "all off" write may take at shutdown.
    pub shutdown_timeout: Duration,
    pub counters: LedCounters,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(20),
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(2),
            counters: LedCounters::default(),
        }
    }
}

/// The device, moved to the blocking pool and back for every call.
type Slot = Option<Box<dyn LedDevice>>;

async fn on_blocking<T: Send + 'static>(
    slot: &mut Slot,
    call: impl FnOnce(&mut dyn LedDevice) -> Result<T, LedError> + Send + 'static,
) -> Result<T, LedError> {
    let Some(mut device) = slot.take() else {
        return Err(LedError::Unavailable("the device was lost in a failed call".into()));
    };
    let joined = tokio::task::spawn_blocking(move || {
        let result = call(device.as_mut());
        (device, result)
    })
    .await;
    match joined {
        Ok((device, result)) => {
            *slot = Some(device);
            result
        }
        Err(error) => Err(LedError::Io(format!("the device call panicked: {error}"))),
    }
}

/// Publishes a health change (and logs it) only when it differs from the last one.
fn set_health(health: &watch::Sender<LedHealth>, name: &str, new: LedHealth) {
    health.send_if_modified(|current| {
        if *current == new {
            return false;
        }
        match &new {
            LedHealth::Connected => tracing::info!(device = name, "LED device connected"),
            LedHealth::Disconnected(reason) => {
                tracing::warn!(device = name, %reason, "LED device not available; retrying")
            }
            other => tracing::debug!(device = name, state = %other, "LED device state"),
        }
        *current = new;
        true
    });
}

/// Runs `device` until `shutdown`, showing every new frame of `frames`, then turns it dark.
pub async fn drive(
    name: &'static str,
    device: Box<dyn LedDevice>,
    mut frames: watch::Receiver<Frame>,
    health: watch::Sender<LedHealth>,
    config: DriverConfig,
    shutdown: CancellationToken,
) {
    let mut slot: Slot = Some(device);
    let mut connected = false;
    let mut shown: Option<Frame> = None;
    let mut backoff = Backoff::new(config.first_backoff, config.max_backoff);
    let mut last_write: Option<Instant> = None;
    while !shutdown.is_cancelled() {
        if !connected {
            match on_blocking(&mut slot, |d| d.connect()).await {
                Ok(()) => {
                    connected = true;
                    shown = None;
                    backoff.reset();
                    set_health(&health, name, LedHealth::Connected);
                }
                Err(error) => {
                    config.counters.errors.inc();
                    set_health(&health, name, LedHealth::Disconnected(error.to_string()));
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff.next_delay()) => {}
                    }
                    continue;
                }
            }
        }
        if let Some(at) = last_write.map(|t| t + config.min_interval) {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(at) => {}
            }
        }
        let frame = frames.borrow_and_update().clone();
        if shown.as_ref() != Some(&frame) {
            let to_write = frame.clone();
            match on_blocking(&mut slot, move |d| d.write(&to_write)).await {
                Ok(()) => {
                    config.counters.writes.inc();
                    shown = Some(frame);
                    last_write = Some(Instant::now());
                }
                Err(error) => {
                    config.counters.errors.inc();
                    connected = false;
                    if let Some(device) = slot.as_mut() {
                        device.disconnect();
                    }
                    set_health(&health, name, LedHealth::Disconnected(error.to_string()));
                    continue;
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = frames.changed() => if changed.is_err() { break },
        }
    }
    let leds = frames.borrow().leds().len();
    turn_off(name, &mut slot, connected, leds, config.shutdown_timeout).await;
}

/// The last write: every LED dark (connecting once more if the device was away).
async fn turn_off(name: &str, slot: &mut Slot, connected: bool, leds: usize, timeout: Duration) {
    if leds == 0 {
        return;
    }
    let dark = Frame::off(leds);
    let attempt = async {
        if !connected {
            on_blocking(slot, |d| d.connect()).await?;
        }
        on_blocking(slot, move |d| d.write(&dark)).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => tracing::info!(device = name, "LEDs off"),
        Ok(Err(error)) => tracing::warn!(device = name, %error, "could not turn the LEDs off"),
        Err(_) => tracing::warn!(device = name, "turning the LEDs off timed out"),
    }
}
