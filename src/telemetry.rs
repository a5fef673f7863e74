//! Logging: `tracing` with a level or filter from `LOG_LEVEL`, as text for people or JSON lines
//! for the cluster's log collector (`--log-format json`). Owns its flags ([`LogArgs`]), and the
//! address where the kubelet's probes and Prometheus reach a process ([`HealthArgs`]: `run`,
//! `demo` and `blinkt` serve it).
//!
//! May call: nothing else of the crate.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use tracing_subscriber::EnvFilter;

/// Where the health listener answers (like controller-runtime's health probe address).
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Address of the health listener: `/healthz`, `/readyz` (and `/metrics` in `run` and
    /// `demo`) for the kubelet's probes and Prometheus, without the per-address limits of the
    /// booth's listener.
    #[arg(long, env = "HEALTH_LISTEN_ADDR", default_value = "0.0.0.0:8082")]
    pub(crate) health_listen_addr: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors in the cluster.
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log level or filter directives (`info`, `debug`, `info,kube=debug`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true, value_parser = parse_log_level)]
    pub(crate) log_level: String,
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub(crate) log_format: LogFormat,
}

fn parse_log_level(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map(|_| value.to_string())
        .map_err(|e| format!("expected a level (error, warn, info, debug, trace) or filter directives: {e}"))
}

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
