//! The BlinkStick (Flex) protocol as data, and the hidapi device that sends it.
//!
//! USB vendor 0x20A0, product 0x41E5; every command is a HID feature report whose first byte is
//! the report id:
//!
//! | id | bytes | meaning |
//! | --- | --- | --- |
//! | 1 | `[1, R, G, B]` | the first LED |
//! | 5 | `[5, channel, index, R, G, B]` | one LED (never used: we always send whole frames) |
//! | 6, 7, 8, 9 | `[id, channel, G, R, B, ...]` | 8, 16, 32, 64 LEDs of a channel, three bytes each |
//! | 0x81 | `[0x81, count]` | how many LEDs the Flex drives |
//!
//! A frame goes out as one report, the smallest that fits (LEDs it does not cover are sent dark),
//! never LED by LED. The report builders are pure; [`BlinkStick`] turns frames into them and
//! hands them to a [`HidPort`]; `Hidraw` is the thin I/O underneath in production.
//!
//! May call: nothing else of the crate.

use super::colour::Rgb;
use super::driver::{LedDevice, LedError};
use super::frame::Frame;
use std::ffi::CString;
use std::path::PathBuf;

pub(crate) const VENDOR_ID: u16 = 0x20a0;
pub(crate) const PRODUCT_ID: u16 = 0x41e5;
/// The most LEDs one report (id 9) carries.
pub(crate) const MAX_LEDS: usize = 64;
const FIRST_LED_REPORT: u8 = 1;
const LED_COUNT_REPORT: u8 = 0x81;
/// The BlinkStick Flex drives its strip on channel 0.
const CHANNEL: u8 = 0;
/// The multi-LED reports by capacity, smallest first.
const FRAME_REPORTS: [(u8, usize); 4] = [(6, 8), (7, 16), (8, 32), (9, 64)];

/// Why a frame cannot be put into a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("a BlinkStick report carries 1 to {MAX_LEDS} LEDs, not {0}")]
    LedCount(usize),
}

/// The whole frame as the smallest single feature report that holds it.
pub fn frame_report(leds: &[Rgb]) -> Result<Vec<u8>, ReportError> {
    match leds.len() {
        0 => Err(ReportError::LedCount(0)),
        1 => {
            let Rgb { r, g, b } = leds[0];
            Ok(vec![FIRST_LED_REPORT, r, g, b])
        }
        n => {
            let (id, capacity) =
                FRAME_REPORTS.into_iter().find(|(_, capacity)| n <= *capacity).ok_or(ReportError::LedCount(n))?;
            let mut report = Vec::with_capacity(2 + capacity * 3);
            report.extend_from_slice(&[id, CHANNEL]);
            for led in leds.iter().chain(std::iter::repeat(&Rgb::OFF)).take(capacity) {
                report.extend_from_slice(&[led.g, led.r, led.b]);
            }
            Ok(report)
        }
    }
}

/// Tells a BlinkStick Flex how many LEDs it drives.
pub(crate) fn led_count_report(count: usize) -> Result<Vec<u8>, ReportError> {
    match u8::try_from(count) {
        Ok(count) if (1..=MAX_LEDS as u8).contains(&count) => Ok(vec![LED_COUNT_REPORT, count]),
        _ => Err(ReportError::LedCount(count)),
    }
}

/// The USB side of a BlinkStick: whatever carries its HID feature reports. In production that
/// is `Hidraw`; the booth-day scenario plugs in a double that can be "unplugged", because a
/// hidraw node answers ioctls only a kernel device implements.
pub trait HidPort: Send + 'static {
    /// Opens the device (again, after an unplug).
    fn open(&mut self) -> Result<(), LedError>;
    /// Sends one feature report, its first byte the report id.
    fn send_feature_report(&mut self, report: &[u8]) -> Result<(), LedError>;
    /// Forgets the open device, so the next [`HidPort::open`] starts afresh.
    fn close(&mut self);
}

/// A BlinkStick Flex driving `leds` LEDs through a [`HidPort`]: tells it the LED count on every
/// connect, then sends each frame as one report.
pub struct BlinkStick {
    port: Box<dyn HidPort>,
    leds: usize,
}

impl BlinkStick {
    pub fn new(port: Box<dyn HidPort>, leds: usize) -> Self {
        Self { port, leds }
    }
}

impl LedDevice for BlinkStick {
    fn connect(&mut self) -> Result<(), LedError> {
        self.port.open()?;
        let count = led_count_report(self.leds).map_err(|e| LedError::Frame(e.to_string()))?;
        // Some firmware refuses report 0x81 although it drives the strip; that is no reason to stop.
        if let Err(error) = self.port.send_feature_report(&count) {
            tracing::debug!(%error, "the BlinkStick did not take the LED count report");
        }
        Ok(())
    }

    fn write(&mut self, frame: &Frame) -> Result<(), LedError> {
        let report = frame_report(frame.leds()).map_err(|e| LedError::Frame(e.to_string()))?;
        self.port.send_feature_report(&report)
    }

    fn disconnect(&mut self) {
        self.port.close();
    }
}

/// A BlinkStick's hidraw node through hidapi's hidraw backend (pure Rust, no libudev).
pub(crate) struct Hidraw {
    api: Option<hidapi::HidApi>,
    device: Option<hidapi::HidDevice>,
    /// A fixed hidraw node (`BLINKSTICK_DEVICE`, e.g. a udev symlink); else found by vendor/product.
    path: Option<PathBuf>,
}

impl Hidraw {
    pub fn new(path: Option<PathBuf>) -> Self {
        Self { api: None, device: None, path }
    }
    fn open_device(&mut self) -> Result<hidapi::HidDevice, LedError> {
        let api = match self.api.take() {
            Some(api) => api,
            None => hidapi::HidApi::new().map_err(|e| LedError::Unavailable(format!("hidapi: {e}")))?,
        };
        let opened = match &self.path {
            Some(path) => {
                let raw = CString::new(path.as_os_str().as_encoded_bytes())
                    .map_err(|_| LedError::Unavailable(format!("bad device path {}", path.display())))?;
                api.open_path(&raw).map_err(|e| LedError::Unavailable(format!("cannot open {}: {e}", path.display())))
            }
            None => api.open(VENDOR_ID, PRODUCT_ID).map_err(|e| {
                LedError::Unavailable(format!("no BlinkStick ({VENDOR_ID:04x}:{PRODUCT_ID:04x}) found: {e}"))
            }),
        };
        self.api = Some(api);
        opened
    }
}

impl HidPort for Hidraw {
    fn open(&mut self) -> Result<(), LedError> {
        self.device = Some(self.open_device()?);
        Ok(())
    }

    fn send_feature_report(&mut self, report: &[u8]) -> Result<(), LedError> {
        let device = self.device.as_ref().ok_or_else(|| LedError::Unavailable("not connected".into()))?;
        device.send_feature_report(report).map_err(|e| LedError::Io(e.to_string()))
    }

    fn close(&mut self) {
        self.device = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct values per LED and channel, so an order mistake shows: LED i = (R, G, B) =
    /// (0x10 + i, 0x40 + i, 0x80 + i).
    fn leds(n: usize) -> Vec<Rgb> {
        (0..n as u8).map(|i| Rgb::new(0x10 + i, 0x40 + i, 0x80 + i)).collect()
    }

    /// The expected report written out from the protocol table: id, channel 0, then G, R, B per
    /// LED up to the report's capacity, the rest zero.
    fn expected(id: u8, capacity: usize, n: usize) -> Vec<u8> {
        let mut bytes = vec![id, 0];
        for i in 0..capacity {
            if i < n {
                let i = i as u8;
                bytes.extend([0x40 + i, 0x10 + i, 0x80 + i]);
            } else {
                bytes.extend([0, 0, 0]);
            }
        }
        bytes
    }

    #[test]
    fn one_led_uses_report_1_in_rgb_order() {
        assert_eq!(frame_report(&leds(1)).unwrap(), [0x01, 0x10, 0x40, 0x80]);
    }

    #[test]
    fn eight_leds_fill_report_6() {
        let report = frame_report(&leds(8)).unwrap();
        assert_eq!(report.len(), 2 + 8 * 3);
        assert_eq!(&report[..8], &[0x06, 0x00, 0x40, 0x10, 0x80, 0x41, 0x11, 0x81]);
        assert_eq!(&report[23..], &[0x47, 0x17, 0x87]);
        assert_eq!(report, expected(6, 8, 8));
    }

    #[test]
    fn fifteen_leds_go_in_report_7_with_the_sixteenth_dark() {
        let report = frame_report(&leds(15)).unwrap();
        assert_eq!(report.len(), 50);
        assert_eq!(&report[..5], &[0x07, 0x00, 0x40, 0x10, 0x80]);
        assert_eq!(&report[44..], &[0x4e, 0x1e, 0x8e, 0, 0, 0]);
        assert_eq!(report, expected(7, 16, 15));
    }

    #[test]
    fn thirty_two_and_sixty_four_leds_use_reports_8_and_9() {
        let report = frame_report(&leds(32)).unwrap();
        assert_eq!((report.len(), report[0], report[1]), (98, 0x08, 0x00));
        assert_eq!(&report[95..], &[0x5f, 0x2f, 0x9f]);
        assert_eq!(report, expected(8, 32, 32));
        let report = frame_report(&leds(64)).unwrap();
        assert_eq!((report.len(), report[0], report[1]), (194, 0x09, 0x00));
        assert_eq!(&report[191..], &[0x7f, 0x4f, 0xbf]);
        assert_eq!(report, expected(9, 64, 64));
        assert_eq!(frame_report(&leds(9)).unwrap()[0], 0x07);
        assert_eq!(frame_report(&leds(33)).unwrap()[0], 0x09);
    }

    #[test]
    fn frames_that_fit_no_report_are_refused() {
        assert_eq!(frame_report(&[]), Err(ReportError::LedCount(0)));
        assert_eq!(frame_report(&leds(65)), Err(ReportError::LedCount(65)));
    }

    /// A port on a test bench: records every report, fails while "unplugged".
    #[derive(Clone, Default)]
    struct BenchPort {
        reports: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
        unplugged: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl HidPort for BenchPort {
        fn open(&mut self) -> Result<(), LedError> {
            if self.unplugged.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(LedError::Unavailable("unplugged".into()));
            }
            Ok(())
        }

        fn send_feature_report(&mut self, report: &[u8]) -> Result<(), LedError> {
            self.open()?;
            self.reports.lock().unwrap().push(report.to_vec());
            Ok(())
        }

        fn close(&mut self) {}
    }

    #[test]
    fn a_connect_announces_the_led_count_and_a_frame_is_one_report() {
        let port = BenchPort::default();
        let mut stick = BlinkStick::new(Box::new(port.clone()), 15);
        stick.connect().unwrap();
        stick.write(&Frame(leds(15))).unwrap();
        let reports = port.reports.lock().unwrap().clone();
        assert_eq!(reports, vec![vec![0x81, 15], expected(7, 16, 15)]);
    }

    #[test]
    fn an_unplugged_port_fails_connects_and_writes() {
        let port = BenchPort::default();
        port.unplugged.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut stick = BlinkStick::new(Box::new(port.clone()), 8);
        assert!(matches!(stick.connect(), Err(LedError::Unavailable(_))));
        assert!(stick.write(&Frame(leds(8))).is_err());
        assert!(port.reports.lock().unwrap().is_empty());
    }

    #[test]
    fn the_led_count_report() {
        assert_eq!(led_count_report(15).unwrap(), [0x81, 0x0f]);
        assert_eq!(led_count_report(64).unwrap(), [0x81, 0x40]);
        assert_eq!(led_count_report(0), Err(ReportError::LedCount(0)));
        assert_eq!(led_count_report(300), Err(ReportError::LedCount(300)));
    }
}
