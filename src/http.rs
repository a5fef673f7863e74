//! The outgoing HTTP client (webhooks, Odoo): reqwest on rustls with the `ring` provider that
//! kube already brings, so no second TLS stack (aws-lc-rs, a C build) is compiled in.
//!
//! May call: nothing else of the crate.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct HttpClientError(pub(crate) String);

/// Installs rustls' `ring` provider as the process default, if none is yet. reqwest is built
/// with `rustls-no-provider`, so every client needs a default provider to exist first.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client with connect timeouts; callers set a timeout per request.
pub fn client() -> Result<reqwest::Client, HttpClientError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("conferenceli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpClientError(e.to_string()))
}

/// The innermost error of a chain (a refused connection, a DNS failure): what went wrong, not
/// which layers it passed.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
