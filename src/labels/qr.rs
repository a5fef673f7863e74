//! QR codes on labels: encoded by the `qrcode` crate, drawn module by module onto the 1-bit canvas
//! at a whole number of dots per module (so every module prints as a crisp square), with the
//! four-module quiet zone the standard asks for. Pure functions, no I/O.
//!
//! May call: nothing else of the crate.

use super::render::Canvas;
use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone around the code.
pub(crate) const QUIET_ZONE: u32 = 4;

#[derive(Debug, thiserror::Error)]
#[error("cannot encode {len} bytes as a QR code: {source}")]
pub struct QrError {
    len: usize,
    source: qrcode::types::QrError,
}

/// An encoded QR code: `width` × `width` modules, dark or light.
#[derive(Debug, Clone)]
pub(crate) struct QrMatrix {
    width: u32,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `data` with error correction level M (15 % of the code may be damaged).
    pub fn encode(data: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
            .map_err(|source| QrError { len: data.len(), source })?;
        let width = code.width() as u32;
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(Self { width, dark })
    }

    /// The side in dots when drawn at `module` dots per module, quiet zone included.
    pub(crate) fn side(&self, module: u32) -> u32 {
        (self.width + 2 * QUIET_ZONE) * module
    }

    /// The largest whole module size whose code fits in `max_side` dots (at least 1).
    pub(crate) fn module_for(&self, max_side: u32) -> u32 {
        (max_side / (self.width + 2 * QUIET_ZONE)).max(1)
    }

    /// Draws the code with its quiet zone's top-left corner at (`left`, `top`).
    pub fn draw(&self, canvas: &mut Canvas, left: u32, top: u32, module: u32) {
        let origin = QUIET_ZONE * module;
        for y in 0..self.width {
            for x in 0..self.width {
                if self.dark[(y * self.width + x) as usize] {
                    canvas.fill_rect(
                        (left + origin + x * module) as i64,
                        (top + origin + y * module) as i64,
                        module as i64,
                        module as i64,
                    );
                }
            }
        }
    }
}

/// Percent-encodes a value for a URL query (RFC 3986 unreserved characters stay as they are).
pub(crate) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("ab-C_9.~"), "ab-C_9.~");
        assert_eq!(query_value("a b&c=ü"), "a%20b%26c%3D%C3%BC");
    }

    #[test]
    fn module_size_fits_the_space() {
        let qr = QrMatrix::encode("https://example.com/?voucher=abc").unwrap();
        let module = qr.module_for(300);
        assert!(qr.side(module) <= 300 && qr.side(module + 1) > 300);
    }
}
