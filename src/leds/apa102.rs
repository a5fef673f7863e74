//! The APA102 serial stream (the Blinkt!'s eight LEDs) as data: a pure function from pixels to
//! the bytes to clock out, most significant bit first.
//!
//! Layout (APA102 datasheet): a start frame of 32 zero bits; per LED one 32-bit frame of `0b111`
//! plus a 5-bit global brightness, then blue, green, red (8 bits each); an end frame of extra
//! clock pulses so the last LED's data is pushed through the chain (at least one pulse per two
//! LEDs; we send 32 zero bits, enough for up to 64 LEDs, as Pimoroni's own driver sends 36).
//!
//! May call: nothing else of the crate.

use super::colour::Rgb;

/// The most LEDs this stream carries (what the 32-pulse end frame covers).
pub(crate) const MAX_LEDS: usize = 64;
/// The highest value of the 5-bit brightness field.
pub(crate) const MAX_BRIGHTNESS: u8 = 0b1_1111;
const START_FRAME: [u8; 4] = [0; 4];
const END_FRAME: [u8; 4] = [0; 4];
const LED_FRAME_MARKER: u8 = 0b1110_0000;

/// One LED: its colour and its 5-bit global brightness (0 to 31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixel {
    pub colour: Rgb,
    pub brightness: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Apa102Error {
    #[error("an APA102 stream carries at most {MAX_LEDS} LEDs, not {0}")]
    TooManyLeds(usize),
    #[error("APA102 brightness is 0 to 31, not {0}")]
    Brightness(u8),
}

/// The bytes to clock out for `pixels`, LED 0 (nearest the controller) first.
pub fn stream(pixels: &[Pixel]) -> Result<Vec<u8>, Apa102Error> {
    if pixels.len() > MAX_LEDS {
        return Err(Apa102Error::TooManyLeds(pixels.len()));
    }
    let mut bytes = Vec::with_capacity(START_FRAME.len() + pixels.len() * 4 + END_FRAME.len());
    bytes.extend_from_slice(&START_FRAME);
    for pixel in pixels {
        if pixel.brightness > MAX_BRIGHTNESS {
            return Err(Apa102Error::Brightness(pixel.brightness));
        }
        let Rgb { r, g, b } = pixel.colour;
        bytes.extend_from_slice(&[LED_FRAME_MARKER | pixel.brightness, b, g, r]);
    }
    bytes.extend_from_slice(&END_FRAME);
    Ok(bytes)
}

/// The bits of `bytes` in the order they go on the data line: most significant first.
pub(crate) fn bits(bytes: &[u8]) -> impl Iterator<Item = bool> + '_ {
    bytes.iter().flat_map(|byte| (0..8).rev().map(move |bit| byte >> bit & 1 == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bit string written as the datasheet draws it, spaces ignored.
    fn bit_string(text: &str) -> Vec<bool> {
        text.chars().filter(|c| !c.is_whitespace()).map(|c| c == '1').collect()
    }

    const START: &str = "00000000 00000000 00000000 00000000";
    const END: &str = "00000000 00000000 00000000 00000000";

    fn pixel(r: u8, g: u8, b: u8, brightness: u8) -> Pixel {
        Pixel { colour: Rgb::new(r, g, b), brightness }
    }

    #[test]
    fn all_off_is_start_marker_frames_and_end() {
        let bytes = stream(&[pixel(0, 0, 0, 0); 8]).unwrap();
        let led_off = "111 00000 00000000 00000000 00000000";
        let expected = format!("{START} {} {END}", [led_off; 8].join(" "));
        assert_eq!(bits(&bytes).collect::<Vec<_>>(), bit_string(&expected));
        assert_eq!(bytes.len(), 4 + 8 * 4 + 4);
    }

    #[test]
    fn one_led_is_blue_green_red_after_the_brightness() {
        let bytes = stream(&[pixel(0x12, 0x34, 0x56, 7)]).unwrap();
        // brightness 7 = 00111; blue 0x56, green 0x34, red 0x12.
        let expected = format!("{START} 111 00111 01010110 00110100 00010010 {END}");
        assert_eq!(bits(&bytes).collect::<Vec<_>>(), bit_string(&expected));
    }

    #[test]
    fn full_brightness_white_sets_every_bit_of_the_led_frame() {
        let bytes = stream(&[pixel(0xff, 0xff, 0xff, 31); 2]).unwrap();
        let led = "11111111 11111111 11111111 11111111";
        let expected = format!("{START} {led} {led} {END}");
        assert_eq!(bits(&bytes).collect::<Vec<_>>(), bit_string(&expected));
    }

    #[test]
    fn mixed_pixels_keep_their_own_order_and_brightness() {
        let pixels = [pixel(0xff, 0, 0, 31), pixel(0, 0xff, 0, 1), pixel(0, 0, 0xff, 16), pixel(0x80, 0x01, 0x10, 0)];
        let bytes = stream(&pixels).unwrap();
        let expected = format!(
            "{START} 111 11111 00000000 00000000 11111111 \
                     111 00001 00000000 11111111 00000000 \
                     111 10000 11111111 00000000 00000000 \
                     111 00000 00010000 00000001 10000000 {END}"
        );
        assert_eq!(bits(&bytes).collect::<Vec<_>>(), bit_string(&expected));
    }

    #[test]
    fn out_of_range_input_is_refused() {
        assert_eq!(stream(&[pixel(0, 0, 0, 32)]), Err(Apa102Error::Brightness(32)));
        assert_eq!(stream(&[pixel(0, 0, 0, 0); 65]), Err(Apa102Error::TooManyLeds(65)));
    }
}
