//! The booth's branding on the visitors' pages (`spec.branding` in the Booth): title, intro,
//! prize, accent colour, the draw time and the logo. Empty texts mean "the default in the
//! visitor's language" (see `super::i18n`), so `demo` looks finished and an operator only
//! writes what they want to change. Validation is pure: [`validate`] returns every problem at
//! once and the caller stores nothing unless it succeeds.
//!
//! May call: `crate::booth`.

pub use crate::booth::Branding;
use crate::booth::Colour;

/// Longest title, in characters.
pub(crate) const MAX_TITLE: usize = 80;
/// Longest intro (one or two sentences).
pub(crate) const MAX_INTRO: usize = 300;
/// Longest prize description.
pub(crate) const MAX_PRIZE: usize = 120;
/// Longest draw time text ("Today at 17:00 at the booth").
pub(crate) const MAX_DRAW_TIME: usize = 120;
/// The accent colour when none is set: a red that keeps white text readable (contrast 5.9:1).
pub(crate) const DEFAULT_ACCENT: Colour = Colour([0xc8, 0x10, 0x2e]);

/// The branding fields as the `/config` form sends them.
#[derive(Debug, Clone, Default)]
pub struct BrandingForm<'a> {
    pub title: &'a str,
    pub(crate) intro: &'a str,
    pub(crate) prize: &'a str,
    pub accent_color: &'a str,
    pub(crate) draw_time: &'a str,
}

/// Checks the branding texts; every problem is reported, naming the field. The logo is checked
/// and changed on its own: the branding returned has none.
pub fn validate(form: &BrandingForm) -> Result<Branding, Vec<String>> {
    let mut errors = Vec::new();
    let title = text(&mut errors, "The title", form.title, MAX_TITLE, false);
    let intro = text(&mut errors, "The intro", form.intro, MAX_INTRO, true);
    let prize = text(&mut errors, "The prize", form.prize, MAX_PRIZE, false);
    let draw_time = text(&mut errors, "The draw time", form.draw_time, MAX_DRAW_TIME, false);
    let accent = form.accent_color.trim();
    let accent_color = if accent.is_empty() { Ok(None) } else { accent.parse::<Colour>().map(Some) };
    let accent_color = accent_color
        .map_err(|_| {
            errors.push(format!(
                "The accent colour must be written #rrggbb (six hex digits, e.g. {DEFAULT_ACCENT}); got {accent:?}."
            ))
        })
        .ok()
        .flatten();
    if errors.is_empty() {
        Ok(Branding { title, intro, prize, accent_color, draw_time, logo: None })
    } else {
        Err(errors)
    }
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

/// WCAG relative luminance of an sRGB colour.
fn luminance(Colour([r, g, b]): Colour) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub(crate) fn contrast(a: Colour, b: Colour) -> f64 {
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

const INK: Colour = Colour([0x10, 0x20, 0x2f]);
const WHITE: Colour = Colour([0xff, 0xff, 0xff]);

impl Branding {
    pub fn palette(&self) -> Palette {
        let accent = self.accent_color.unwrap_or(DEFAULT_ACCENT);
        let on_accent = if contrast(accent, WHITE) >= contrast(accent, INK) { "#ffffff" } else { "#10202f" };
        let mut text = accent;
        while contrast(text, WHITE) < 4.5 {
            text = Colour(text.0.map(|c| (f64::from(c) * 0.85) as u8));
        }
        Palette { accent: accent.to_string(), on_accent, accent_text: text.to_string() }
    }
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
        let branding = validate(&form()).unwrap();
        assert_eq!(branding.title, "KubeCon Europe");
        assert_eq!(branding.accent_color.unwrap().to_string(), "#1b5e8c");
        assert_eq!(serde_json::to_value(&branding).unwrap()["accentColor"], "#1b5e8c");
        let empty = validate(&BrandingForm::default()).unwrap();
        assert_eq!(empty.accent_color, None, "empty means the default");
        assert_eq!(serde_json::to_value(&empty).unwrap()["accentColor"], "", "stored as it always was");
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
            let branding = Branding { accent_color: accent.parse().ok(), ..Branding::default() };
            let palette = branding.palette();
            let bg: Colour = palette.accent.parse().unwrap();
            let on: Colour = palette.on_accent.parse().unwrap();
            // The worst accent (a mid grey) still gets 4.08:1 with the better of the two.
            assert!(contrast(bg, on) >= 4.0, "{accent}: {palette:?}");
            assert!(contrast(palette.accent_text.parse().unwrap(), WHITE) >= 4.5, "{accent}");
        }
        assert_eq!(Branding::default().palette().on_accent, "#ffffff");
        assert!(brand_css(&Branding::default().palette()).contains("--accent:#c8102e"));
    }
}
