//! Logging: `tracing` with a level or filter from `LOG_LEVEL`, as text for people or JSON lines
//! for the cluster's log collector (`--log-format json`).

use crate::config::{LogArgs, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; logs go to stderr so that stdout stays for data
/// (`conferenceli crd`, the virtual Blinkt! frames).
pub fn init(args: &LogArgs) {
    let filter = EnvFilter::builder().parse_lossy(&args.log_level);
    // Colours only for a person at a terminal: a pod's log (a pipe) gets plain text, not escape
    // codes in the middle of every line.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
