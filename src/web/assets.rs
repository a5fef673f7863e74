//! Static assets of the kiosk and the control panel (`GET /static/<file>`), embedded in the
//! binary from `templates/static/` so the booth works without the Internet. Each answer carries
//! its content type, an `ETag` (a hash of the bytes, so a new binary invalidates caches) and
//! `nosniff`. Also the kiosk page's build ([`page_build`]), a hash of all it is made of.
//!
//! May call: nothing else of the crate.

use super::AppState;
use super::error::PrivateError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset { name: $name, content_type: $type, bytes: include_bytes!(concat!("../../templates/static/", $name)) }
    };
}

/// Everything under `templates/static/`.
pub(crate) const ASSETS: &[Asset] = &[
    asset!("kiosk.css", "text/css; charset=utf-8"),
    asset!("kiosk.js", "text/javascript; charset=utf-8"),
    asset!("kiosk-health.js", "text/javascript; charset=utf-8"),
    asset!("kiosk-visitors.js", "text/javascript; charset=utf-8"),
    asset!("control.css", "text/css; charset=utf-8"),
    asset!("control.js", "text/javascript; charset=utf-8"),
    asset!("logo.svg", "image/svg+xml"),
];

/// The kiosk page's template (askama compiles it into the binary; its source is hashed here).
const KIOSK_TEMPLATE: &[u8] = include_bytes!("../../templates/kiosk.html");

/// What the kiosk page in a browser is made of, as one short string: the version, then a hash
/// of the page's template and every embedded asset. The page carries the one it was served with
/// and compares it with the one in each stream snapshot: a new image whose page differs (an Argo
/// CD sync) makes every kiosk reload itself; a new image with the same page leaves them be.
pub(crate) fn page_build() -> &'static str {
    static BUILD: LazyLock<String> = LazyLock::new(|| {
        let mut hash = Sha256::new();
        for part in std::iter::once(KIOSK_TEMPLATE).chain(ASSETS.iter().flat_map(|a| [a.name.as_bytes(), a.bytes])) {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        format!("{}+{}", env!("CARGO_PKG_VERSION"), hex::encode(&hash.finalize()[..6]))
    });
    &BUILD
}

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..8]))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, PrivateError> {
    let asset = find(&file).ok_or(PrivateError::NoSuchAsset)?;
    let tag = etag(asset.bytes);
    let cached = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str());
    let common = [
        (header::ETAG, HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((common, [(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_by_name_and_has_content() {
        for asset in ASSETS {
            assert!(!asset.bytes.is_empty(), "{}", asset.name);
            assert_eq!(find(asset.name).map(|a| a.name), Some(asset.name));
        }
        assert!(find("../Cargo.toml").is_none());
        assert_ne!(etag(b"a"), etag(b"b"));
        let build = page_build();
        assert!(build.starts_with(concat!(env!("CARGO_PKG_VERSION"), "+")), "{build}");
        assert_eq!(build.len(), env!("CARGO_PKG_VERSION").len() + 1 + 12, "{build}");
        assert_eq!(page_build(), build, "computed once");
    }
}
