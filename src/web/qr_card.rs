//! The kiosk's QR card: `PUBLIC_URL` (the contact form's address) drawn once, at start, as an
//! SVG QR code that the kiosk page embeds beside the call to action.
//!
//! It lives in the web layer, not with the kiosk's furniture in [`crate::theatre::furniture`]:
//! the furniture is what the Booth's settings say the kiosk shows (the flag, the call to
//! action), read live; the card is markup made from a process setting that never changes while
//! the booth runs, and only the kiosk page uses it.
//!
//! May call: nothing else of the crate.

/// `PUBLIC_URL` and its QR code.
pub(crate) struct QrCard {
    /// The address the code holds, shown as the code's tooltip.
    pub(crate) url: String,
    /// The QR code as SVG (dark modules as one path).
    pub(crate) svg: String,
}

impl QrCard {
    /// The card for `public_url`, or `None` when there is no address or it does not fit a QR code.
    pub(crate) fn of(public_url: Option<&str>) -> Option<Self> {
        let url = public_url?;
        Some(Self { url: url.to_string(), svg: qr_svg(url)? })
    }
}

/// `text` as an SVG QR code (dark modules as one path), or `None` if it does not fit a QR code.
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 2;
    let mut path = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let size = width + 2 * quiet;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" \
         role=\"img\" aria-label=\"QR code\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#0b1b2b\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_svg_of_dark_modules() {
        let svg = qr_svg("https://booth.example.com/").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // Version 2 (25 modules) plus a quiet zone of 2 on each side.
        assert!(svg.contains("viewBox=\"0 0 29 29\""), "{}", &svg[..120]);
        // The top-left finder pattern: module (2,2) is dark.
        assert!(svg.contains("M2 2h1v1h-1z"));
    }

    #[test]
    fn no_address_no_card() {
        assert!(QrCard::of(None).is_none());
        let card = QrCard::of(Some("https://booth.example.com/")).unwrap();
        assert_eq!(card.url, "https://booth.example.com/");
        assert!(card.svg.starts_with("<svg"));
    }
}
