//! The booth's labels and their layouts: each label is a column of blocks (text fitted to the
//! tape's printable width, rules, a logo, a QR code) stacked top to bottom; the label is as long
//! as its content (endless tape), as wide as the tape's printable area at 300 dpi.
//!
//! The logos are our own simple drawings (shapes plus a word mark set in the bundled font), not
//! copies of anyone's artwork. Pure functions, no I/O.
//!
//! May call: `crate::booth`.

use super::LabelSize;
use super::fonts::Face;
use super::qr::{self, QrMatrix};
use super::render::{Canvas, FitRule, Fitted, Style, draw_line, fit, measure};
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// Where APPUiO vouchers are redeemed; the QR code carries the code as `?voucher=`.
pub(crate) const APPUIO_SIGNUP_URL: &str = "https://portal.appuio.cloud/signup";
/// Where Servala vouchers are redeemed.
pub(crate) const SERVALA_URL: &str = "https://servala.com/";

/// One label to print, with everything printed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Label {
    /// The visitor's name large, the booth's label header, the raffle code.
    Raffle { name: String, header: String, code: String },
    /// Logo, greeting, the voucher code, the sign-up URL and a QR code of it carrying the code.
    Appuio { name: String, code: String },
    /// Logo, name, the booth's Servala voucher code, the URL and a QR code of it.
    Servala { name: String, code: String },
}

impl Label {
    /// What the QR code of this label encodes, if it has one.
    pub fn qr_url(&self) -> Option<String> {
        match self {
            Label::Raffle { .. } => None,
            Label::Appuio { code, .. } => Some(format!("{APPUIO_SIGNUP_URL}?voucher={}", qr::query_value(code))),
            Label::Servala { .. } => Some(SERVALA_URL.to_string()),
        }
    }
}

/// The labels a sign-up gets under the Booth's settings: a raffle ticket when the booth prints
/// them, then the voucher of the Booth's voucher type.
pub(crate) fn labels_for(booth: &crate::booth::BoothSpec, name: &str, code: &str) -> Vec<Label> {
    use crate::booth::VoucherType;
    let mut labels = Vec::new();
    if booth.print_raffle_ticket {
        labels.push(Label::Raffle { name: name.into(), header: booth.label_header.clone(), code: code.into() });
    }
    match booth.voucher_type {
        VoucherType::None => {}
        VoucherType::Appuio => labels.push(Label::Appuio { name: name.into(), code: code.into() }),
        VoucherType::Servala => {
            labels.push(Label::Servala { name: name.into(), code: booth.servala_voucher_code.clone() })
        }
    }
    labels
}

/// Blank dots above the first and below the last block, and left and right of text.
const PAD: u32 = 24;

/// A piece of a label.
enum Block {
    Text(Fitted),
    Space(u32),
    Rule(u32),
    Qr(QrMatrix, u32),
    Logo(Logo),
}

#[derive(Clone, Copy)]
enum Logo {
    Appuio,
    Servala,
}

const LOGO_HEIGHT: u32 = 120;

impl Block {
    fn height(&self) -> u32 {
        match self {
            Block::Text(fitted) => fitted.height(),
            Block::Space(h) | Block::Rule(h) => *h,
            Block::Qr(matrix, module) => matrix.side(*module),
            Block::Logo(_) => LOGO_HEIGHT,
        }
    }

    fn draw(&self, canvas: &mut Canvas, top: u32) {
        let width = canvas.width();
        match self {
            Block::Text(fitted) => fitted.draw_centered(canvas, top, width),
            Block::Space(_) => {}
            Block::Rule(h) => canvas.fill_rect(PAD as i64, top as i64, (width - 2 * PAD) as i64, *h as i64),
            Block::Qr(matrix, module) => {
                let left = (width - matrix.side(*module)) / 2;
                matrix.draw(canvas, left, top, *module);
            }
            Block::Logo(logo) => draw_logo(canvas, *logo, top),
        }
    }
}

/// Renders `label` for `size` tape: a 1-bit image (0 = ink, 255 = paper) exactly as wide as the
/// tape's printable dots.
pub fn render(label: &Label, size: LabelSize) -> GrayImage {
    let width = size.printable_dots();
    let blocks = blocks(label, width);
    let height = PAD * 2 + blocks.iter().map(Block::height).sum::<u32>();
    let mut canvas = Canvas::new(width, height);
    let mut top = PAD;
    for block in &blocks {
        block.draw(&mut canvas, top);
        top += block.height();
    }
    canvas.into_image()
}

fn text(value: &str, width: u32, face: Face, max_size: f32, min_size: f32, max_lines: usize) -> Block {
    Block::Text(fit(value, width - 2 * PAD, FitRule { face, max_size, min_size, max_lines }))
}

fn greeting(name: &str) -> String {
    let name = super::render::clean_text(name);
    if name.is_empty() { "Hi there!".into() } else { format!("Hi {name}!") }
}

/// A QR code of `url`, at most `max_side` dots; a URL too long to encode gets a note instead.
fn qr_block(url: &str, width: u32, max_side: u32) -> Block {
    match QrMatrix::encode(url) {
        Ok(matrix) => {
            let module = matrix.module_for(max_side.min(width));
            Block::Qr(matrix, module)
        }
        Err(error) => {
            tracing::warn!(%error, "label without QR code");
            text("(QR code unavailable)", width, Face::Regular, 30.0, 24.0, 2)
        }
    }
}

fn blocks(label: &Label, width: u32) -> Vec<Block> {
    match label {
        Label::Raffle { name, header, code } => {
            let mut blocks = Vec::new();
            if !super::render::clean_text(header).is_empty() {
                blocks.push(text(header, width, Face::Bold, 60.0, 30.0, 2));
                blocks.extend([Block::Space(10), Block::Rule(4), Block::Space(24)]);
            }
            let name = if super::render::clean_text(name).is_empty() { "—" } else { name.as_str() };
            blocks.push(text(name, width, Face::Bold, 132.0, 44.0, 3));
            blocks.extend([Block::Space(24), Block::Rule(4), Block::Space(16)]);
            blocks.push(text("Raffle code", width, Face::Regular, 32.0, 24.0, 1));
            blocks.push(text(code, width, Face::Bold, 84.0, 32.0, 2));
            blocks
        }
        Label::Appuio { name, code } => {
            let url = label.qr_url().unwrap_or_default();
            vec![
                Block::Logo(Logo::Appuio),
                Block::Space(20),
                text(&greeting(name), width, Face::Bold, 80.0, 36.0, 3),
                Block::Space(12),
                text("Your APPUiO Cloud voucher:", width, Face::Regular, 34.0, 24.0, 2),
                text(code, width, Face::Bold, 84.0, 32.0, 2),
                Block::Space(12),
                qr_block(&url, width, 300),
                text(APPUIO_SIGNUP_URL.trim_start_matches("https://"), width, Face::Regular, 34.0, 22.0, 2),
            ]
        }
        Label::Servala { name, code } => {
            let name = super::render::clean_text(name);
            let mut blocks = vec![Block::Logo(Logo::Servala), Block::Space(20)];
            if !name.is_empty() {
                blocks.push(text(&name, width, Face::Bold, 80.0, 36.0, 3));
                blocks.push(Block::Space(12));
            }
            blocks.extend([
                text("Your Servala voucher code:", width, Face::Regular, 34.0, 24.0, 2),
                text(code, width, Face::Bold, 84.0, 32.0, 2),
                Block::Space(12),
                qr_block(SERVALA_URL, width, 300),
                text(
                    SERVALA_URL.trim_start_matches("https://").trim_end_matches('/'),
                    width,
                    Face::Regular,
                    34.0,
                    22.0,
                    2,
                ),
            ]);
            blocks
        }
    }
}

/// Our own logos: a symbol drawn from circles and bars, then the word mark, centred together.
fn draw_logo(canvas: &mut Canvas, logo: Logo, top: u32) {
    let (word, symbol_width) = match logo {
        Logo::Appuio => ("APPUiO", 150),
        Logo::Servala => ("Servala", 110),
    };
    let style = Style::new(Face::Bold, 76.0);
    let gap = 16.0;
    let total = symbol_width as f32 + gap + measure(word, style);
    let left = ((canvas.width() as f32 - total) / 2.0).max(0.0) as i64;
    let (top, h) = (top as i64, LOGO_HEIGHT as i64);
    match logo {
        Logo::Appuio => {
            // A cloud: three overlapping discs on a flat base.
            canvas.fill_circle(left + 40, top + 70, 32, 0);
            canvas.fill_circle(left + 82, top + 52, 44, 0);
            canvas.fill_circle(left + 120, top + 76, 28, 0);
            canvas.fill_rect(left + 40, top + 70, 82, 34);
        }
        Logo::Servala => {
            // A ring holding three stacked bars: services on a platform.
            let (cx, cy) = (left + 55, top + h / 2);
            canvas.fill_circle(cx, cy, 54, 44);
            for (i, bar) in [60, 44, 28].iter().enumerate() {
                canvas.fill_rect(cx - bar / 2, cy + 16 - i as i64 * 22, *bar, 14);
            }
        }
    }
    let baseline = top as f32 + (h as f32 + style.ascent() * 0.72) / 2.0;
    draw_line(canvas, word, style, left as f32 + symbol_width as f32 + gap, baseline.round());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_as_wide_as_the_tape_and_pure_black_and_white() {
        let label = Label::Raffle { name: "Zoë Müller".into(), header: "KubeCon EU".into(), code: "bakoru".into() };
        for size in [LabelSize::Mm54, LabelSize::Mm62] {
            let image = render(&label, size);
            assert_eq!(image.width(), size.printable_dots());
            assert!(image.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
            assert!(image.pixels().any(|p| p.0[0] == 0));
        }
    }

    #[test]
    fn the_appuio_qr_code_carries_the_voucher_code() {
        let label = Label::Appuio { name: "A".into(), code: "X Y".into() };
        assert_eq!(label.qr_url().unwrap(), "https://portal.appuio.cloud/signup?voucher=X%20Y");
    }
}
