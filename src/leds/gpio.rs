//! The Blinkt!'s two wires: GPIO behind the [`Gpio`] trait, the APA102 stream bit-banged onto
//! it ([`Apa102Strip`], a [`LedDevice`]), the real pins through `rppal` (Raspberry Pi 4 and 5),
//! and the virtual strip that prints each frame as one line on stdout.
//!
//! It may call the GPIO hardware and stdout, nothing else.
//!
//! May call: nothing else of the crate.

use super::apa102::{self, MAX_BRIGHTNESS, Pixel};
use super::driver::{LedDevice, LedError};
use super::frame::Frame;
use std::io::Write;

/// Two output lines: data and clock.
pub trait Gpio: Send + 'static {
    fn set_data(&mut self, high: bool);
    fn set_clock(&mut self, high: bool);
}

/// Clocks `bytes` out most significant bit first: data is set while the clock is low and the
/// LED latches it on the rising edge.
pub(crate) fn shift_out(gpio: &mut dyn Gpio, bytes: &[u8]) {
    for bit in apa102::bits(bytes) {
        gpio.set_data(bit);
        gpio.set_clock(true);
        gpio.set_clock(false);
    }
}

/// The data and clock pins on a Raspberry Pi, through `rppal` (`/dev/gpiomem` on a Pi 4,
/// `/dev/gpiomem0` on a Pi 5).
pub(crate) struct RppalGpio {
    data: rppal::gpio::OutputPin,
    clock: rppal::gpio::OutputPin,
}

impl RppalGpio {
    pub fn open(data_pin: u8, clock_pin: u8) -> Result<Self, LedError> {
        let gpio = rppal::gpio::Gpio::new().map_err(|e| LedError::Unavailable(format!("GPIO: {e}")))?;
        let pin = |number: u8| {
            gpio.get(number)
                .map(|p| p.into_output_low())
                .map_err(|e| LedError::Unavailable(format!("GPIO BCM {number}: {e}")))
        };
        Ok(Self { data: pin(data_pin)?, clock: pin(clock_pin)? })
    }
}

impl Gpio for RppalGpio {
    fn set_data(&mut self, high: bool) {
        self.data.write(high.into());
    }

    fn set_clock(&mut self, high: bool) {
        self.clock.write(high.into());
    }
}

/// Opens the GPIO lines (again after a failure).
pub type GpioOpener<G> = Box<dyn FnMut() -> Result<G, LedError> + Send>;

/// APA102 LEDs on two GPIO lines: each frame becomes one stream at full hardware brightness
/// (the colour model has already applied the configured brightness).
pub(crate) struct Apa102Strip<G: Gpio> {
    open: GpioOpener<G>,
    gpio: Option<G>,
}

impl<G: Gpio> Apa102Strip<G> {
    pub fn new(open: GpioOpener<G>) -> Self {
        Self { open, gpio: None }
    }
}

impl<G: Gpio> LedDevice for Apa102Strip<G> {
    fn connect(&mut self) -> Result<(), LedError> {
        // Release the pins before claiming them again.
        self.gpio = None;
        self.gpio = Some((self.open)()?);
        Ok(())
    }

    fn write(&mut self, frame: &Frame) -> Result<(), LedError> {
        let pixels: Vec<Pixel> =
            frame.leds().iter().map(|colour| Pixel { colour: *colour, brightness: MAX_BRIGHTNESS }).collect();
        let bytes = apa102::stream(&pixels).map_err(|e| LedError::Frame(e.to_string()))?;
        let gpio = self.gpio.as_mut().ok_or_else(|| LedError::Unavailable("GPIO not open".into()))?;
        shift_out(gpio, &bytes);
        Ok(())
    }

    fn disconnect(&mut self) {
        self.gpio = None;
    }
}

/// `frame #rrggbb #rrggbb ...`: the line the virtual strip prints (scripts read it).
pub(crate) fn frame_line(frame: &Frame) -> String {
    let mut line = String::from("frame");
    for colour in frame.leds() {
        line.push(' ');
        line.push_str(&colour.to_string());
    }
    line
}

/// `--gpio virtual`: every new frame as one line on stdout.
pub(crate) struct PrintedStrip;

impl LedDevice for PrintedStrip {
    fn connect(&mut self) -> Result<(), LedError> {
        Ok(())
    }

    fn write(&mut self, frame: &Frame) -> Result<(), LedError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", frame_line(frame)).and_then(|()| out.flush()).map_err(|e| LedError::Io(e.to_string()))
    }

    fn disconnect(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::super::colour::Rgb;
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records the data line at every rising clock edge, as an APA102 samples it.
    #[derive(Clone, Default)]
    struct Wires {
        data: bool,
        clock: bool,
        latched: Arc<Mutex<Vec<bool>>>,
    }

    impl Gpio for Wires {
        fn set_data(&mut self, high: bool) {
            self.data = high;
        }

        fn set_clock(&mut self, high: bool) {
            if high && !self.clock {
                self.latched.lock().unwrap().push(self.data);
            }
            self.clock = high;
        }
    }

    #[test]
    fn the_strip_clocks_the_apa102_stream_onto_the_wires() {
        let wires = Wires::default();
        let latched = wires.latched.clone();
        let mut strip = Apa102Strip::new(Box::new(move || Ok(wires.clone())));
        strip.connect().unwrap();
        let frame = Frame(vec![Rgb::new(0xff, 0x00, 0x01), Rgb::OFF]);
        strip.write(&frame).unwrap();
        let bits = latched.lock().unwrap().clone();
        let expected: Vec<bool> = apa102::bits(&[
            0,
            0,
            0,
            0, // start frame
            0xff,
            0x01,
            0x00,
            0xff, // 111 11111, blue, green, red
            0xe0 | 31,
            0,
            0,
            0, // second LED off
            0,
            0,
            0,
            0, // end frame
        ])
        .collect();
        assert_eq!(bits, expected);
        strip.disconnect();
        assert!(matches!(strip.write(&frame), Err(LedError::Unavailable(_))));
    }

    #[test]
    fn the_virtual_line_lists_every_colour() {
        let frame = Frame(vec![Rgb::new(0xff, 0, 0), Rgb::OFF, Rgb::new(0, 0x12, 0xab)]);
        assert_eq!(frame_line(&frame), "frame #ff0000 #000000 #0012ab");
    }
}
