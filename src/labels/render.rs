//! Drawing on a 1-bit canvas at the printer's resolution (300 dpi): text set with the bundled
//! fonts, filled shapes for the logos, and text fitting (shrink, then wrap, then break words) so
//! that a long name always fits the tape's width and is never clipped.
//!
//! Glyph outlines are rasterised by `ab_glyph` and thresholded at half coverage, so the image is
//! pure black and white and the printer prints exactly these dots (no dithering). Pure functions,
//! no I/O.
//!
//! May call: nothing else of the crate.

use super::fonts::{self, Face, GlyphSource};
use ab_glyph::{Font, GlyphId, PxScale, ScaleFont, point};
use image::{GrayImage, Luma};

/// Ink and paper values of the canvas.
pub const INK: u8 = 0;
pub(crate) const PAPER: u8 = 255;

/// A white 1-bit image to draw on (`INK` or `PAPER` per pixel).
pub struct Canvas {
    image: GrayImage,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Self {
        Self { image: GrayImage::from_pixel(width, height, Luma([PAPER])) }
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub(crate) fn into_image(self) -> GrayImage {
        self.image
    }

    /// Inks one pixel; outside the canvas nothing happens.
    pub fn ink(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as u32) < self.image.width() && (y as u32) < self.image.height() {
            self.image.put_pixel(x as u32, y as u32, Luma([INK]));
        }
    }

    pub(crate) fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.ink(xx, yy);
            }
        }
    }

    /// The outline of a rectangle, `stroke` pixels thick.
    pub(crate) fn stroke_rect(&mut self, x: i64, y: i64, w: i64, h: i64, stroke: i64) {
        self.fill_rect(x, y, w, stroke);
        self.fill_rect(x, y + h - stroke, w, stroke);
        self.fill_rect(x, y, stroke, h);
        self.fill_rect(x + w - stroke, y, stroke, h);
    }

    /// A disc of radius `r`; with `inner > 0` a ring (pixels between `inner` and `r`).
    pub(crate) fn fill_circle(&mut self, cx: i64, cy: i64, r: i64, inner: i64) {
        for y in -r..=r {
            for x in -r..=r {
                let d2 = x * x + y * y;
                if d2 <= r * r && d2 >= inner * inner {
                    self.ink(cx + x, cy + y);
                }
            }
        }
    }
}

/// A face at a size (pixels from descender to ascender).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub face: Face,
    pub size: f32,
}

impl Style {
    pub fn new(face: Face, size: f32) -> Self {
        Self { face, size }
    }

    fn scaled(&self) -> ab_glyph::PxScaleFont<&'static ab_glyph::FontRef<'static>> {
        fonts::font(self.face).as_scaled(PxScale::from(self.size))
    }

    pub(crate) fn ascent(&self) -> f32 {
        self.scaled().ascent()
    }

    /// Distance between baselines of wrapped lines.
    pub(crate) fn line_height(&self) -> f32 {
        let s = self.scaled();
        (s.ascent() - s.descent() + s.line_gap()).ceil()
    }

    /// Width of the box drawn for a character no font has.
    fn missing_width(&self) -> f32 {
        (self.size * 0.6).round()
    }
}

/// Makes user input printable on one line: control characters and runs of white space become
/// single spaces.
pub(crate) fn clean_text(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// One positioned character of a line.
struct Placed {
    source: GlyphSource,
    x: f32,
}

/// Lays out a line left to right with kerning; returns the characters and the total advance.
fn place(text: &str, style: Style) -> (Vec<Placed>, f32) {
    let mut placed = Vec::with_capacity(text.len());
    let mut x = 0.0;
    let mut previous: Option<(Face, GlyphId)> = None;
    for c in text.chars() {
        let source = fonts::lookup(c, style.face);
        let advance = match source {
            GlyphSource::Glyph(face, id) => {
                let scaled = fonts::font(face).as_scaled(PxScale::from(style.size));
                if let Some((prev_face, prev_id)) = previous
                    && prev_face == face
                {
                    x += scaled.kern(prev_id, id);
                }
                previous = Some((face, id));
                scaled.h_advance(id)
            }
            GlyphSource::Missing => {
                previous = None;
                style.missing_width() + style.size * 0.1
            }
        };
        placed.push(Placed { source, x });
        x += advance;
    }
    (placed, x)
}

/// The width of `text` set in `style`, in pixels.
pub(crate) fn measure(text: &str, style: Style) -> f32 {
    place(text, style).1
}

/// Draws one line with its baseline at `baseline` and its left edge at `left`.
pub(crate) fn draw_line(canvas: &mut Canvas, text: &str, style: Style, left: f32, baseline: f32) {
    let (placed, _) = place(text, style);
    for glyph in placed {
        match glyph.source {
            GlyphSource::Glyph(face, id) => {
                let positioned = id.with_scale_and_position(PxScale::from(style.size), point(left + glyph.x, baseline));
                if let Some(outline) = fonts::font(face).outline_glyph(positioned) {
                    let bounds = outline.px_bounds();
                    let (bx, by) = (bounds.min.x as i64, bounds.min.y as i64);
                    outline.draw(|x, y, coverage| {
                        if coverage >= 0.5 {
                            canvas.ink(bx + x as i64, by + y as i64);
                        }
                    });
                }
            }
            GlyphSource::Missing => {
                // A visible box where the character would be: the reader sees something is there.
                let height = (style.ascent() * 0.75).round() as i64;
                let stroke = (style.size / 14.0).round().max(2.0) as i64;
                let x = (left + glyph.x + style.size * 0.05).round() as i64;
                canvas.stroke_rect(x, baseline as i64 - height, style.missing_width() as i64, height, stroke);
            }
        }
    }
}

/// Text fitted to a width: its lines and the size they are set in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fitted {
    pub lines: Vec<String>,
    pub(crate) style: Style,
}

impl Fitted {
    pub fn height(&self) -> u32 {
        (self.style.line_height() * self.lines.len() as f32).ceil() as u32
    }

    /// Draws the lines centred in `[0, width)`, the first line's top at `top`.
    pub(crate) fn draw_centered(&self, canvas: &mut Canvas, top: u32, width: u32) {
        let line_height = self.style.line_height();
        for (i, line) in self.lines.iter().enumerate() {
            let left = ((width as f32 - measure(line, self.style)) / 2.0).max(0.0);
            let baseline = top as f32 + i as f32 * line_height + self.style.ascent();
            draw_line(canvas, line, self.style, left.round(), baseline.round());
        }
    }
}

/// How a text may be fitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FitRule {
    pub face: Face,
    /// Preferred size; shrinks down to `min_size`.
    pub(crate) max_size: f32,
    pub(crate) min_size: f32,
    /// Lines allowed before the size goes below `max_size`'s wrap attempts (at `min_size`, as many
    /// lines as needed).
    pub(crate) max_lines: usize,
}

/// Fits `text` into `width` pixels: one line at the largest size that fits, else wrapped at spaces
/// and hyphens into at most `max_lines` lines at the largest size that fits, else at `min_size` on
/// as many lines as it takes, breaking words between characters only when a word alone is wider
/// than the line. Never wider than `width`, never a character dropped.
pub(crate) fn fit(text: &str, width: u32, rule: FitRule) -> Fitted {
    let text = clean_text(text);
    let width = width as f32;
    let sizes = sizes(rule.max_size, rule.min_size);
    for &size in &sizes {
        let style = Style::new(rule.face, size);
        if measure(&text, style) <= width {
            return Fitted { lines: vec![text], style };
        }
    }
    for &size in &sizes {
        let style = Style::new(rule.face, size);
        if let Some(lines) = wrap_words(&text, style, width)
            && lines.len() <= rule.max_lines
        {
            return Fitted { lines, style };
        }
    }
    let style = Style::new(rule.face, rule.min_size);
    let lines = wrap_words(&text, style, width).unwrap_or_else(|| wrap_breaking(&text, style, width));
    Fitted { lines, style }
}

/// Sizes to try, largest first, about 6 % apart.
fn sizes(max: f32, min: f32) -> Vec<f32> {
    let mut sizes = Vec::new();
    let mut size = max;
    while size > min {
        sizes.push(size.round());
        size *= 0.94;
    }
    sizes.push(min);
    sizes
}

/// Break opportunities: after a space (the space is dropped at a line end) and after a hyphen.
fn pieces(text: &str) -> Vec<(bool, &str)> {
    text.split(' ').flat_map(|word| word.split_inclusive('-').enumerate().map(|(i, piece)| (i == 0, piece))).collect()
}

/// Greedy wrap at spaces and hyphens; `None` when a piece is wider than `width`.
fn wrap_words(text: &str, style: Style, width: f32) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (after_space, piece) in pieces(text) {
        if measure(piece, style) > width {
            return None;
        }
        let candidate = match (current.is_empty(), after_space) {
            (true, _) => piece.to_string(),
            (false, true) => format!("{current} {piece}"),
            (false, false) => format!("{current}{piece}"),
        };
        if measure(&candidate, style) <= width {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, piece.to_string()));
        }
    }
    lines.push(current);
    Some(lines)
}

/// Word wrap that breaks words too long for a line between characters.
fn wrap_breaking(text: &str, style: Style, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
        if measure(&candidate, style) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        for c in word.chars() {
            let mut longer = current.clone();
            longer.push(c);
            // A combining accent stays with its letter.
            let combining = ('\u{300}'..='\u{36f}').contains(&c);
            if !current.is_empty() && !combining && measure(&longer, style) > width {
                lines.push(std::mem::take(&mut current));
                current.push(c);
            } else {
                current = longer;
            }
        }
    }
    lines.push(current);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: FitRule = FitRule { face: Face::Bold, max_size: 120.0, min_size: 40.0, max_lines: 3 };

    #[test]
    fn short_text_keeps_its_largest_size_on_one_line() {
        let fitted = fit("Zoë", 590, RULE);
        assert_eq!(fitted.lines, vec!["Zoë"]);
        assert_eq!(fitted.style.size, 120.0);
    }

    #[test]
    fn long_names_shrink_then_wrap_then_break_but_always_fit() {
        let shrunk = fit("Maximilian Müller", 590, RULE);
        assert_eq!(shrunk.lines.len(), 1);
        assert!(shrunk.style.size < 120.0);
        let wrapped = fit("Maria Magdalena Anastasia von Hohenzollern-Sigmaringen", 590, RULE);
        assert!(wrapped.lines.len() > 1 && wrapped.lines.len() <= 3, "{wrapped:?}");
        let hyphen = fit("Anna-Katharina Schmidt-Hohenzollern-Sigmaringen", 400, RULE);
        assert!(hyphen.lines.iter().any(|l| l.ends_with('-')), "{hyphen:?}");
        assert_eq!(hyphen.lines.concat().replace(' ', ""), "Anna-KatharinaSchmidt-Hohenzollern-Sigmaringen");
        let broken = fit(&"Wolfeschlegelsteinhausenbergerdorff".repeat(4), 590, RULE);
        assert_eq!(broken.style.size, 40.0);
        assert!(broken.lines.len() > 3);
        for fitted in [shrunk, wrapped, broken.clone()] {
            for line in &fitted.lines {
                assert!(measure(line, fitted.style) <= 590.0, "{line:?} is wider than the tape");
            }
        }
        let all: String = broken.lines.concat();
        assert_eq!(all, "Wolfeschlegelsteinhausenbergerdorff".repeat(4), "no character is lost");
    }

    #[test]
    fn control_characters_and_runs_of_spaces_are_cleaned() {
        assert_eq!(clean_text("  Anna\n\tBerg \u{7}x "), "Anna Berg x");
    }

    #[test]
    fn missing_characters_are_drawn_as_boxes() {
        let style = Style::new(Face::Bold, 60.0);
        let mut canvas = Canvas::new(200, 100);
        draw_line(&mut canvas, "李", style, 10.0, 80.0);
        let inked = canvas.into_image().pixels().filter(|p| p.0[0] == INK).count();
        assert!(inked > 100, "the box is visible ({inked} pixels)");
    }
}
