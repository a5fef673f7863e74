//! `conferenceli workload`: the demo workload the booth shows and the chaos button kills
//! (`deploy/demo-workload/`). A tiny HTTP server: `GET /` answers with its pod name (`POD_NAME`,
//! else the host name, which Kubernetes sets to the pod name), `GET /readyz` is the readiness
//! probe, and SIGTERM stops it gracefully (readiness fails at once, answers in flight finish).
//!
//! The simulated cluster runs this same server in process, one per Ready pod
//! (`crate::demo`, through kube-sim's network), so the booth's traffic in `demo` reads real answers.
//!
//! It may call nothing else of the crate.
//!
//! May call: nothing else of the crate.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

/// Settings of `conferenceli workload`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    /// Address the workload answers on.
    #[arg(long = "listen-addr", env = "LISTEN_ADDR", default_value = "0.0.0.0:8080")]
    pub(crate) listen_addr: SocketAddr,
    /// The name it answers with (downward API); defaults to the host name.
    #[arg(long = "pod-name", env = "POD_NAME")]
    pub(crate) pod_name: Option<String>,
}

/// One running workload: its name, whether it still takes traffic, and how many answers it gave.
#[derive(Debug)]
pub struct Workload {
    name: String,
    draining: AtomicBool,
    answered: AtomicU64,
}

impl Workload {
    pub fn new(name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self { name: name.into(), draining: AtomicBool::new(false), answered: AtomicU64::new(0) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Answers to `GET /` so far (the simulated cluster's proof of where traffic went).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

/// The name to answer with: `POD_NAME` if set, else the host name.
pub(crate) fn pod_name(configured: Option<String>) -> String {
    configured.filter(|n| !n.trim().is_empty()).map(|n| n.trim().to_string()).unwrap_or_else(host_name)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "workload".into())
}

async fn name(State(workload): State<Arc<Workload>>) -> impl IntoResponse {
    workload.answered.fetch_add(1, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", workload.name))
}

async fn ready(State(workload): State<Arc<Workload>>) -> impl IntoResponse {
    if workload.draining.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

/// `GET /` (the name), `GET /readyz` (readiness), `GET /healthz` (liveness).
pub fn router(workload: Arc<Workload>) -> Router {
    Router::new()
        .route("/", get(name))
        .route("/readyz", get(ready))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(workload)
}

/// Serves `workload` on `listener` until `stop` fires, then stops taking connections, fails
/// readiness and lets the answers in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    workload: Arc<Workload>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let draining = workload.clone();
    let shutdown = async move {
        stop.cancelled().await;
        draining.draining.store(true, Ordering::Relaxed);
    };
    axum::serve(listener, router(workload)).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_comes_from_pod_name_else_the_host() {
        assert_eq!(pod_name(Some(" critical-prod-3 ".into())), "critical-prod-3");
        assert!(!pod_name(Some("  ".into())).is_empty());
        assert_eq!(pod_name(None), host_name());
    }
}
