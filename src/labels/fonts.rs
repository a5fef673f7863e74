//! The fonts labels are set in, embedded in the binary: DejaVu Sans and DejaVu Sans Bold
//! (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`). They cover Latin with its accents
//! (German, French, Polish, Czech, ...), Greek and Cyrillic.
//!
//! Each character is looked up in the requested face, then in the other one; a character neither
//! has is reported as missing, and the renderer draws a visible box in its place instead of
//! dropping it. Pure data, no I/O.
//!
//! May call: nothing else of the crate.

use ab_glyph::{Font, FontRef, GlyphId};
use std::sync::OnceLock;

static SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
static SANS_BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");

/// A typeface of the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        // The files are part of the binary and parsed by a test: they cannot be invalid.
        regular: FontRef::try_from_slice(SANS).expect("embedded DejaVu Sans parses"),
        bold: FontRef::try_from_slice(SANS_BOLD).expect("embedded DejaVu Sans Bold parses"),
    })
}

/// The font of a face.
pub(crate) fn font(face: Face) -> &'static FontRef<'static> {
    match face {
        Face::Regular => &fonts().regular,
        Face::Bold => &fonts().bold,
    }
}

/// How one character of a text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlyphSource {
    /// A glyph of this face.
    Glyph(Face, GlyphId),
    /// No bundled font has it: drawn as a box, never left out.
    Missing,
}

/// Finds the glyph of `c`, preferring `face`.
pub(crate) fn lookup(c: char, face: Face) -> GlyphSource {
    let other = if face == Face::Bold { Face::Regular } else { Face::Bold };
    for candidate in [face, other] {
        let id = font(candidate).glyph_id(c);
        if id.0 != 0 {
            return GlyphSource::Glyph(candidate, id);
        }
    }
    GlyphSource::Missing
}

#[cfg(any(test, feature = "test-support"))]
/// The characters of `text` no bundled font can draw (shown as boxes on the label).
pub fn missing_chars(text: &str) -> Vec<char> {
    text.chars().filter(|&c| !c.is_whitespace() && lookup(c, Face::Bold) == GlyphSource::Missing).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_fonts_cover_european_scripts() {
        let names = "Zoë Müller François Łukasz Żółć Dvořák Šťastný Ελένη Παπαδοπούλου Юлия Смирнова Ærøskøbing ßẞ";
        assert_eq!(missing_chars(names), Vec::<char>::new());
        assert!(matches!(lookup('ő', Face::Bold), GlyphSource::Glyph(Face::Bold, _)));
    }

    #[test]
    fn characters_without_a_glyph_are_reported_not_dropped() {
        assert_eq!(missing_chars("Ann 𓀀 李"), vec!['𓀀', '李']);
        assert_eq!(lookup('李', Face::Regular), GlyphSource::Missing);
    }
}
