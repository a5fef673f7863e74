//! The booth's branding on the visitors' pages (`spec.branding` in the Booth): title, intro,
//! prize, accent colour, the draw time and the logo. Empty texts mean "the default in the
//! visitor's language" (see `super::i18n`), so `demo` looks finished and an operator only
//! writes what they want to change. Validation is pure: [`validate`] returns every problem at
//! once and the caller stores nothing unless it succeeds.
//!
//! May call: `crate::booth`.

pub use crate::booth::Branding;

/// Longest title, in characters.
pub(crate) const MAX_TITLE: usize = 80;
/// Longest intro (one or two sentences).
pub(crate) const MAX_INTRO: usize = 300;
/// Longest prize description.
pub(crate) const MAX_PRIZE: usize = 120;
/// Longest draw time text ("Today at 17:00 at the booth").
pub(crate) const MAX_DRAW_TIME: usize = 120;
/// The accent colour when none is set: a red that keeps white text readable (contrast 5.9:1).
pub(crate) const DEFAULT_ACCENT: &str = "#c8102e";

/// The branding fields as the `/config` form sends them.
#[derive(Debug, Clone, Default)]
pub struct BrandingForm<'a> {
    pub title: &'a str,
    pub(crate) intro: &'a str,
    pub(crate) prize: &'a str,
    pub accent_color: &'a str,
    pub(crate) draw_time: &'a str,
}

/// The branding texts after validation (the logo is checked and changed on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandingTexts {
    pub title: String,
    pub(crate) intro: String,
    pub(crate) prize: String,
    pub accent_color: String,
    pub(crate) draw_time: String,
}

impl BrandingTexts {
    /// The merge patch of `spec.branding` (the logo untouched).
    pub(crate) fn to_patch(&self) -> serde_json::Value {
        serde_json::json!({
            "title": self.title,
            "intro": self.intro,
            "prize": self.prize,
            "accentColor": self.accent_color,
            "drawTime": self.draw_time,
        })
    }
}

/// Checks the branding texts; every problem is reported, naming the field.
pub fn validate(form: &BrandingForm) -> Result<BrandingTexts, Vec<String>> {
    let mut errors = Vec::new();
    let title = text(&mut errors, "The title", form.title, MAX_TITLE, false);
    let intro = text(&mut errors, "The intro", form.intro, MAX_INTRO, true);
    let prize = text(&mut errors, "The prize", form.prize, MAX_PRIZE, false);
    let draw_time = text(&mut errors, "The draw time", form.draw_time, MAX_DRAW_TIME, false);
    let accent_color = form.accent_color.trim().to_ascii_lowercase();
    if !accent_color.is_empty() && parse_colour(&accent_color).is_none() {
        errors.push(format!(
            "The accent colour must be written #rrggbb (six hex digits, e.g. {DEFAULT_ACCENT}); got {:?}.",
            form.accent_color.trim()
        ));
    }
    if errors.is_empty() { Ok(BrandingTexts { title, intro, prize, accent_color, draw_time }) } else { Err(errors) }
}

fn text(errors: &mut Vec<String>, label: &str, value: &str, max: usize, multi_line: bool) -> String {
    let value = value.trim().to_string();
    if value.chars().count() > max {
        errors.push(format!("{label} must be at most {max} characters."));
    } else if value.chars().any(|c| c.is_control() && !(multi_line && matches!(c, '\n' | '\r'))) {
        errors.push(format!("{label} must be plain text without control characters."));
    }
    value
}

/// `#rrggbb` as three bytes.
pub(crate) fn parse_colour(value: &str) -> Option<[u8; 3]> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG relative luminance of an sRGB colour.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub(crate) fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The colours the pages use, derived from the accent so any accent stays readable: text on
/// the accent is white or near-black, whichever contrasts more; the accent used as text on the
/// white page is darkened until it reaches 4.5:1 (WCAG AA), so links stay readable in sunlight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub(crate) accent: String,
    pub(crate) on_accent: &'static str,
    pub(crate) accent_text: String,
}

const INK: [u8; 3] = [0x10, 0x20, 0x2f];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

impl Branding {
    pub fn palette(&self) -> Palette {
        let accent =
            parse_colour(&self.accent_color).or_else(|| parse_colour(DEFAULT_ACCENT)).unwrap_or([0xc8, 0x10, 0x2e]);
        let on_accent = if contrast(accent, WHITE) >= contrast(accent, INK) { "#ffffff" } else { "#10202f" };
        let mut text = accent;
        while contrast(text, WHITE) < 4.5 {
            text = text.map(|c| (f64::from(c) * 0.85) as u8);
        }
        Palette { accent: hex(accent), on_accent, accent_text: hex(text) }
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The stylesheet carrying the accent (the public pages' CSP allows no inline styles).
pub(crate) fn brand_css(palette: &Palette) -> String {
    format!(
        ":root{{--accent:{};--on-accent:{};--accent-text:{}}}\n",
        palette.accent, palette.on_accent, palette.accent_text
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> BrandingForm<'static> {
        BrandingForm {
            title: " KubeCon Europe ",
            intro: "Sign up.\nWin.",
            prize: "A Raspberry Pi 5",
            accent_color: "#1B5E8C",
            draw_time: "Today 17:00",
        }
    }

    #[test]
    fn good_branding_is_trimmed_and_the_colour_lowercased() {
        let texts = validate(&form()).unwrap();
        assert_eq!(texts.title, "KubeCon Europe");
        assert_eq!(texts.accent_color, "#1b5e8c");
        assert_eq!(texts.to_patch()["accentColor"], "#1b5e8c");
        let empty = validate(&BrandingForm::default()).unwrap();
        assert_eq!(empty.accent_color, "", "empty means the default");
    }

    #[test]
    fn each_field_is_checked_with_a_message_naming_it() {
        for bad in ["red", "#12345", "#1234567", "#gggggg", "1b5e8c", "#1b5e8c;x"] {
            let errors = validate(&BrandingForm { accent_color: bad, ..form() }).unwrap_err();
            assert!(errors[0].starts_with("The accent colour must be written #rrggbb"), "{bad}: {errors:?}");
        }
        let long = "x".repeat(MAX_TITLE + 1);
        assert!(validate(&BrandingForm { title: &long, ..form() }).unwrap_err()[0].starts_with("The title"));
        assert!(validate(&BrandingForm { title: "a\nb", ..form() }).unwrap_err()[0].contains("control"));
        let long = "x".repeat(MAX_PRIZE + 1);
        assert!(validate(&BrandingForm { prize: &long, ..form() }).unwrap_err()[0].starts_with("The prize"));
        let long = "x".repeat(MAX_INTRO + 1);
        assert!(validate(&BrandingForm { intro: &long, ..form() }).unwrap_err()[0].starts_with("The intro"));
        let long = "x".repeat(MAX_DRAW_TIME + 1);
        assert!(validate(&BrandingForm { draw_time: &long, ..form() }).unwrap_err()[0].starts_with("The draw time"));
        let all = validate(&BrandingForm { title: "\u{7}", accent_color: "blue", ..form() }).unwrap_err();
        assert_eq!(all.len(), 2, "every problem at once: {all:?}");
    }

    #[test]
    fn any_accent_gives_readable_text() {
        for accent in ["#c8102e", "#ffff00", "#ffffff", "#000000", "#1b5e8c", "#7fff7f", ""] {
            let branding = Branding { accent_color: accent.into(), ..Branding::default() };
            let palette = branding.palette();
            let bg = parse_colour(&palette.accent).unwrap();
            let on = parse_colour(palette.on_accent).unwrap();
            // The worst accent (a mid grey) still gets 4.08:1 with the better of the two.
            assert!(contrast(bg, on) >= 4.0, "{accent}: {palette:?}");
            assert!(contrast(parse_colour(&palette.accent_text).unwrap(), WHITE) >= 4.5, "{accent}");
        }
        assert_eq!(Branding::default().palette().on_accent, "#ffffff");
        assert!(brand_css(&Branding::default().palette()).contains("--accent:#c8102e"));
    }
}
