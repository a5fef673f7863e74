//! The crate's error: why a command could not start or stopped, with its source kept for callers
//! that walk the chain (its `Display` is the one line `main` prints), and a short label for
//! metrics and logs.
//!
//! May call: [`crate::app`], [`crate::cluster`], [`crate::labels`], [`crate::leds`].

use crate::app::AppError;
use crate::cluster::client::ConnectError;
use crate::labels::LabelError;
use crate::leds::driver::LedError;
use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or contradicts another (the message names the variable).
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("the simulated Kubernetes API could not start: {0}")]
    Sim(#[source] std::io::Error),
    #[error("invalid TOKEN_AUTH_FILE (--token-auth-file): {0}")]
    TokenFile(#[from] kube_sim::TokenFileError),
    #[error("the simulated Kubernetes API has no HTTPS certificate: {0}")]
    Tls(#[from] kube_sim::TlsError),
    #[error("the workload server failed: {0}")]
    Workload(#[source] std::io::Error),
    #[error("cannot drive the Blinkt!: {0}")]
    Blinkt(#[source] LedError),
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// `conferenceli check` found problems (the report says which).
    #[error("{0} of the checks failed")]
    ChecksFailed(usize),
}

/// What [`crate::commands`] return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let error = Error::Write { path: "/crds".into(), source: io };
        assert_eq!(error.to_string(), "cannot write /crds: denied");
        assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "denied");
    }
}
