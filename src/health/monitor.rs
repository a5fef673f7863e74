//! The checks while the booth runs: once at start and every few minutes in the background, and
//! on demand for the control panel's Booth health card (a report a few seconds old is reused,
//! and one run at a time). Each run logs what changed (a check that fails names its fix in the
//! log line, so a missing permission shows at start-up, not when a visitor presses the button)
//! and summarises itself in the Booth's status as the `HealthChecks` condition.
//!
//! May call: `crate::booth`, `crate::tasks`.

use super::{Context, Report, Scope, Status};
use crate::booth::{BoothHandle, BoothPart};
use crate::tasks::Tasks;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A report younger than this is shown again rather than checked anew (the panel asks every
/// 15 s; two phones open at once share a run).
const FRESH: Duration = Duration::from_secs(10);
/// How often the checks run with nobody looking (the Booth condition and the log).
const EVERY: Duration = Duration::from_secs(300);

/// The running booth's health checks.
#[derive(Clone)]
pub struct HealthMonitor {
    inner: Arc<Inner>,
}

struct Inner {
    context: Context,
    booth: BoothHandle,
    latest: Mutex<Option<(Instant, Report)>>,
    /// Held while a run is under way.
    running: tokio::sync::Mutex<()>,
}

impl HealthMonitor {
    /// Runs the checks now and every five minutes until the token of `tasks` fires.
    pub fn start(context: Context, booth: BoothHandle, tasks: &Tasks) -> Self {
        let monitor = Self {
            inner: Arc::new(Inner { context, booth, latest: Mutex::new(None), running: tokio::sync::Mutex::new(()) }),
        };
        let background = monitor.clone();
        let shutdown = tasks.token().clone();
        tasks.spawn("health checks", async move {
            loop {
                background.refresh().await;
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(EVERY) => {}
                }
            }
        });
        monitor
    }

    /// The last report, if any run has finished (what the panel shows before it asks).
    pub(crate) fn latest(&self) -> Option<Report> {
        self.inner.latest.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(_, r)| r.clone())
    }

    fn fresh(&self) -> Option<Report> {
        let latest = self.inner.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest.as_ref().filter(|(at, _)| at.elapsed() < FRESH).map(|(_, r)| r.clone())
    }

    /// A report at most ten seconds old: the last one, or a new run.
    pub async fn report(&self) -> Report {
        if let Some(report) = self.fresh() {
            return report;
        }
        let _running = self.inner.running.lock().await;
        // Someone else may have run the checks while this caller waited.
        if let Some(report) = self.fresh() {
            return report;
        }
        self.run().await
    }

    async fn refresh(&self) {
        let _running = self.inner.running.lock().await;
        self.run().await;
    }

    async fn run(&self) -> Report {
        let report = super::run(&self.inner.context, Scope::Full).await;
        let previous =
            self.inner.latest.lock().unwrap_or_else(|p| p.into_inner()).replace((Instant::now(), report.clone()));
        log_changes(previous.map(|(_, r)| r).as_ref(), &report);
        let failing = report.failing();
        let (healthy, reason, message) = if failing.is_empty() {
            (true, "AllChecksPassed", "no check failed".to_string())
        } else {
            (false, "ChecksFailed", format!("failed: {}", failing.join("; ")))
        };
        self.inner.booth.report_health(BoothPart::HealthChecks, healthy, reason, &message);
        report
    }
}

/// Logs every check whose outcome changed since the last run (on the first, every one that did
/// not pass), with its fix.
fn log_changes(previous: Option<&Report>, report: &Report) {
    let before: HashMap<(super::Group, &str), Status> =
        previous.into_iter().flat_map(|r| &r.checks).map(|c| ((c.group, c.name.as_str()), c.status)).collect();
    for check in &report.checks {
        let was = before.get(&(check.group, check.name.as_str())).copied();
        if was == Some(check.status) || (was.is_none() && check.status == Status::Ok) {
            continue;
        }
        let (group, name, hint) = (check.group.title(), check.name.as_str(), check.hint.as_deref().unwrap_or(""));
        // Warnings, not errors: the booth runs on, and these are for the operator to fix.
        match check.status {
            Status::Fail => tracing::warn!(group, check = name, hint, "health check failed: {}", check.message),
            Status::Warn => tracing::info!(group, check = name, hint, "health check warns: {}", check.message),
            Status::Ok => tracing::info!(group, check = name, "health check passes again: {}", check.message),
        }
    }
}
