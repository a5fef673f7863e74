//! The booth's logo on the visitors' pages: the embedded default (`templates/static/logo.svg`)
//! or the operator's own SVG or PNG, uploaded on `/config` and stored in the Booth's
//! `spec.branding.logo` as base64 (bounded by `LOGO_MAX_BYTES`, so the Booth stays small and the
//! form's first page stays light). Pure checks: a PNG must have the PNG signature, decode, and
//! fit the allowed dimensions; an SVG must be well-formed XML with an `<svg>` root and nothing
//! active in it (no scripts, no event handlers, no external references, no DTD). It is served
//! with its own strict Content-Security-Policy as well, so even a check we got wrong runs nothing.
//!
//! May call: `crate::booth`.

use base64::Engine;

/// The embedded default logo.
pub const DEFAULT_SVG: &[u8] = include_bytes!("../../templates/static/logo.svg");
pub const SVG: &str = "image/svg+xml";
pub(crate) const PNG: &str = "image/png";
/// Largest accepted PNG side, in pixels (a logo is shown at most a few hundred pixels wide).
pub(crate) const MAX_SIDE: u32 = 2048;
/// The policy a logo is served with: it may draw, nothing else (no scripts, no loads).
pub(crate) const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'; sandbox";

pub use crate::booth::Logo;

/// Why an uploaded logo was refused (the message `/config` shows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LogoError {
    #[error("The logo is {size} bytes; at most {max} bytes are allowed (LOGO_MAX_BYTES).")]
    TooLarge { size: usize, max: usize },
    #[error("The logo must be an SVG or a PNG file.")]
    UnknownFormat,
    #[error("The PNG logo could not be read: {0}.")]
    BadPng(String),
    #[error("The PNG logo is {width}x{height} pixels; each side must be from 16 to {MAX_SIDE}.")]
    BadDimensions { width: u32, height: u32 },
    #[error("The SVG logo is not well-formed XML: {0}.")]
    BadSvg(String),
    #[error("The SVG logo is refused: {0}.")]
    ActiveSvg(String),
}

impl Logo {
    /// Checks an uploaded file and wraps it for the Booth.
    pub(crate) fn from_upload(bytes: &[u8], max_bytes: usize) -> Result<Logo, LogoError> {
        if bytes.len() > max_bytes {
            return Err(LogoError::TooLarge { size: bytes.len(), max: max_bytes });
        }
        let content_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            check_png(bytes)?;
            PNG
        } else if looks_like_xml(bytes) {
            check_svg(bytes)?;
            SVG
        } else {
            return Err(LogoError::UnknownFormat);
        };
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        Ok(Logo { content_type: content_type.into(), data })
    }

    /// The file's bytes and content type, when the stored logo is still one we would accept
    /// (a Booth edited by hand is checked again before anything is served).
    pub(crate) fn decoded(&self, max_bytes: usize) -> Option<(&'static str, Vec<u8>)> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(self.data.as_bytes()).ok()?;
        let checked = Logo::from_upload(&bytes, max_bytes).ok()?;
        let content_type = if checked.content_type == PNG { PNG } else { SVG };
        (checked.content_type == self.content_type).then_some((content_type, bytes))
    }
}

fn looks_like_xml(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

fn check_png(bytes: &[u8]) -> Result<(), LogoError> {
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
    let image = reader.decode().map_err(|e| LogoError::BadPng(e.to_string()))?;
    let (width, height) = (image.width(), image.height());
    if !(16..=MAX_SIDE).contains(&width) || !(16..=MAX_SIDE).contains(&height) {
        return Err(LogoError::BadDimensions { width, height });
    }
    Ok(())
}

/// Elements that run code or pull in other documents.
const ACTIVE_ELEMENTS: [&str; 8] =
    ["script", "foreignobject", "iframe", "embed", "object", "audio", "video", "handler"];

fn check_svg(bytes: &[u8]) -> Result<(), LogoError> {
    let text = std::str::from_utf8(bytes).map_err(|_| LogoError::BadSvg("it is not UTF-8 text".into()))?;
    // roxmltree refuses DTDs by default: no entity expansion, no external entities.
    let document = roxmltree::Document::parse(text).map_err(|e| LogoError::BadSvg(e.to_string()))?;
    let root = document.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some("http://www.w3.org/2000/svg") {
        return Err(LogoError::BadSvg("the root element must be <svg xmlns=\"http://www.w3.org/2000/svg\">".into()));
    }
    for node in document.descendants() {
        if node.is_element() {
            let name = node.tag_name().name().to_ascii_lowercase();
            if ACTIVE_ELEMENTS.contains(&name.as_str()) {
                return Err(LogoError::ActiveSvg(format!("it contains a <{}> element", node.tag_name().name())));
            }
            for attribute in node.attributes() {
                check_attribute(attribute.name(), attribute.value())?;
            }
            if name == "style" {
                let css: String = node.children().filter_map(|c| c.text()).collect();
                check_css(&css)?;
            }
        }
    }
    Ok(())
}

fn check_attribute(name: &str, value: &str) -> Result<(), LogoError> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("on") {
        return Err(LogoError::ActiveSvg(format!("it has an event handler ({name})")));
    }
    if lower == "href" && !value.trim_start().starts_with('#') {
        return Err(LogoError::ActiveSvg(format!("it refers to another document ({value:?})")));
    }
    if lower == "base" {
        return Err(LogoError::ActiveSvg("it sets xml:base".into()));
    }
    check_css(value)
}

/// Style text may only refer to the document itself (`url(#id)`).
fn check_css(css: &str) -> Result<(), LogoError> {
    let lower = css.to_ascii_lowercase();
    if lower.contains("@import") || lower.contains("javascript:") || lower.contains("expression(") {
        return Err(LogoError::ActiveSvg("its style loads or runs something".into()));
    }
    for (i, _) in lower.match_indices("url(") {
        let target = lower[i + 4..].trim_start().trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return Err(LogoError::ActiveSvg("its style refers to another document".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 64 * 1024;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 16, 46, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_default_logo_passes_its_own_checks() {
        let logo = Logo::from_upload(DEFAULT_SVG, MAX).unwrap();
        assert_eq!(logo.content_type, SVG);
        assert_eq!(logo.decoded(MAX).unwrap().1, DEFAULT_SVG);
    }

    #[test]
    fn pngs_are_checked_by_signature_decoding_and_size() {
        let logo = Logo::from_upload(&png(120, 40), MAX).unwrap();
        assert_eq!(logo.content_type, PNG);
        assert_eq!(Logo::from_upload(&png(8, 40), MAX), Err(LogoError::BadDimensions { width: 8, height: 40 }));
        let mut truncated = png(120, 40);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(Logo::from_upload(&truncated, MAX), Err(LogoError::BadPng(_))));
        let big = png(64, 64);
        assert_eq!(
            Logo::from_upload(&big, big.len() - 1),
            Err(LogoError::TooLarge { size: big.len(), max: big.len() - 1 })
        );
        assert_eq!(Logo::from_upload(b"GIF89a....", MAX), Err(LogoError::UnknownFormat));
        assert_eq!(Logo::from_upload(b"", MAX), Err(LogoError::UnknownFormat));
    }

    #[test]
    fn svgs_with_anything_active_or_external_are_refused() {
        let ns = "xmlns=\"http://www.w3.org/2000/svg\"";
        let good = format!(
            "<svg {ns} viewBox=\"0 0 10 10\"><defs><linearGradient id=\"g\"/></defs><rect fill=\"url(#g)\" width=\"10\" height=\"10\"/><use href=\"#g\"/></svg>"
        );
        assert!(Logo::from_upload(good.as_bytes(), MAX).is_ok());
        let refused = [
            format!("<svg {ns}><script>alert(1)</script></svg>"),
            format!("<svg {ns}><rect onclick=\"alert(1)\"/></svg>"),
            format!("<svg {ns} onload=\"alert(1)\"></svg>"),
            format!(
                "<svg {ns} xmlns:xlink=\"http://www.w3.org/1999/xlink\"><image xlink:href=\"https://evil.example/x.png\"/></svg>"
            ),
            format!("<svg {ns}><image href=\"data:image/png;base64,AAAA\"/></svg>"),
            format!("<svg {ns}><foreignObject><p>hi</p></foreignObject></svg>"),
            format!("<svg {ns}><style>@import url(https://evil.example/a.css);</style></svg>"),
            format!("<svg {ns}><rect style=\"fill:url(https://evil.example/a)\"/></svg>"),
        ];
        for svg in &refused {
            assert!(matches!(Logo::from_upload(svg.as_bytes(), MAX), Err(LogoError::ActiveSvg(_))), "{svg}");
        }
        let malformed = [
            format!("<svg {ns}><rect></svg>"),
            "<html><body/></html>".to_string(),
            "<svg><rect/></svg>".to_string(),
            format!("<!DOCTYPE svg [<!ENTITY x \"y\">]><svg {ns}>&x;</svg>"),
        ];
        for svg in &malformed {
            assert!(matches!(Logo::from_upload(svg.as_bytes(), MAX), Err(LogoError::BadSvg(_))), "{svg}");
        }
    }

    #[test]
    fn a_stored_logo_that_no_longer_passes_is_not_served() {
        let forged = Logo {
            content_type: SVG.into(),
            data: base64::engine::general_purpose::STANDARD
                .encode("<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"),
        };
        assert!(forged.decoded(MAX).is_none());
        let mislabelled = Logo { content_type: SVG.into(), data: Logo::from_upload(&png(20, 20), MAX).unwrap().data };
        assert!(mislabelled.decoded(MAX).is_none());
    }
}
