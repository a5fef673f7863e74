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
    #[error("the workload server failed: {0}")]
    Workload(#[source] std::io::Error),
    #[error("cannot drive the Blinkt!: {0}")]
    Blinkt(#[source] LedError),
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl Error {
    /// A short, stable name of the kind of failure (a metric label, a log field).
    pub(crate) fn metric_label(&self) -> &'static str {
        match self {
            Error::Settings(_) => "settings",
            Error::Connect(_) => "connect",
            Error::App(_) => "app",
            Error::Sim(_) => "sim",
            Error::Workload(_) => "workload",
            Error::Blinkt(_) => "blinkt",
            Error::Label(_) => "label",
            Error::Write { .. } => "write",
        }
    }
}

/// What [`crate::commands`] return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_source_and_have_a_label() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let error = Error::Write { path: "/crds".into(), source: io };
        assert_eq!(error.to_string(), "cannot write /crds: denied");
        assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "denied");
        assert_eq!(error.metric_label(), "write");
        assert_eq!(Error::Settings("missing X".into()).metric_label(), "settings");
    }
}
