//! The print queue: takes open jobs from a [`JobStore`] in order and prints each **once**.
//!
//! The store is where a job's print state lives durably (in the app: the Lead resource's status,
//! `printState`, `printAttempts`, `printedAt`, `lastPrintError`). The once-only contract:
//!
//! 1. Before any byte of a job leaves, the queue records the attempt ([`JobStore::begin_attempt`]:
//!    state `Printing`, attempts + 1) and waits until the store has it.
//! 2. A confirmed job becomes `Printed` (the queue retries this write until it lands).
//! 3. A job that is known not to have printed (printer unreachable, not ready, wrong media, error
//!    reported while printing) goes back to `Pending` with the reason and is retried, in order,
//!    with backoff: later jobs wait behind it.
//! 4. A job whose bytes left without a confirmation ("the answer never came") becomes `Failed` and
//!    is never sent again by the queue; staff decide with "reprint" ([`JobStore`]'s owner sets it
//!    back to `Pending`).
//! 5. A job found in state `Printing` when the queue starts (the process stopped mid-attempt) is
//!    treated like 4: it may have printed. The one exception is a job this queue knows it sent
//!    nothing of: its `begin_attempt` failed (the API server went away with the answer), so the
//!    write may or may not have landed, but no byte left; it is attempted again.
//!
//! The visitor's request only creates the job in the store; the queue runs in its own task.
//! This module may call the label renderer, the raster compiler and a transport.
//!
//! May call: `crate::backoff`.

use super::layout::{self, Label};
use super::raster::RasterJob;
use super::transport::{PrinterTransport, SendError};
use super::{LabelSize, PrinterHealth};
use crate::backoff::Backoff;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use serde::{Deserialize, Serialize};
#[cfg(any(test, feature = "test-support"))]
use std::path::PathBuf;
use std::sync::Arc;
#[cfg(any(test, feature = "test-support"))]
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Where a job stands (the Lead's `printState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrintState {
    /// Waiting to be printed (again, after a failure known not to have printed).
    Pending,
    /// An attempt is under way: bytes may be on their way to the printer.
    Printing,
    /// The printer confirmed it (or took it, where the transport cannot read back).
    Printed,
    /// Sent without confirmation, or interrupted: may have printed; only staff print it again.
    Failed,
    /// Nothing to print for this job.
    NotRequested,
}

/// A job: the labels of one visitor, printed together (one cut after each label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintJob {
    pub id: String,
    pub labels: Vec<Label>,
    pub state: PrintState,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub(crate) printed_at: Option<jiff::Timestamp>,
}

impl PrintJob {
    pub fn new(id: impl Into<String>, labels: Vec<Label>) -> Self {
        let state = if labels.is_empty() { PrintState::NotRequested } else { PrintState::Pending };
        Self { id: id.into(), labels, state, attempts: 0, last_error: None, printed_at: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no print job {0:?}")]
    UnknownJob(String),
    #[error("the job store is unavailable: {0}")]
    Unavailable(String),
}

/// The durable home of print jobs. Every method must have taken effect durably when it returns
/// `Ok`: the queue's once-only guarantee rests on it.
pub trait JobStore: Send + Sync + 'static {
    /// Jobs in state `Pending` or `Printing`, in the order they must print (oldest first).
    fn open_jobs(&self) -> impl Future<Output = Result<Vec<PrintJob>, StoreError>> + Send;
    /// `Pending` → `Printing`, attempts + 1. Called before any byte of the job is sent.
    fn begin_attempt(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// → `Printed`, with the time.
    fn mark_printed(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// → `Pending` with the reason: the job did not print and will be retried.
    fn mark_retry(&self, id: &str, error: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// → `Failed` with the reason: the queue will not send it again.
    fn mark_failed(&self, id: &str, error: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(any(test, feature = "test-support"))]
/// A [`JobStore`] in memory, or in a JSON file written atomically (temporary file, fsync,
/// rename) on every change: the tests' stand-in for the Lead resource, restartable from its file.
pub struct LocalStore {
    path: Option<PathBuf>,
    jobs: Mutex<Vec<PrintJob>>,
}

#[cfg(any(test, feature = "test-support"))]
impl LocalStore {
    pub fn in_memory() -> Self {
        Self { path: None, jobs: Mutex::new(Vec::new()) }
    }

    /// Opens (or starts) the store kept in `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let jobs = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Unavailable(format!("{} is not a job list: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::Unavailable(format!("cannot read {}: {e}", path.display()))),
        };
        Ok(Self { path: Some(path), jobs: Mutex::new(jobs) })
    }

    pub fn jobs(&self) -> Vec<PrintJob> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn job(&self, id: &str) -> Option<PrintJob> {
        self.jobs().into_iter().find(|j| j.id == id)
    }

    /// Adds a job at the end of the queue.
    pub fn add(&self, job: PrintJob) -> Result<(), StoreError> {
        self.change(|jobs| {
            jobs.push(job);
            Ok(())
        })
    }

    /// Staff's "reprint": any job back to `Pending`.
    pub fn reprint(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |job| {
            job.state = PrintState::Pending;
            job.last_error = None;
        })
    }

    fn change(&self, apply: impl FnOnce(&mut Vec<PrintJob>) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = jobs.clone();
        apply(&mut changed)?;
        if let Some(path) = &self.path {
            persist(path, &changed)?;
        }
        *jobs = changed;
        Ok(())
    }

    fn update(&self, id: &str, apply: impl FnOnce(&mut PrintJob)) -> Result<(), StoreError> {
        self.change(|jobs| {
            let job = jobs.iter_mut().find(|j| j.id == id).ok_or_else(|| StoreError::UnknownJob(id.into()))?;
            apply(job);
            Ok(())
        })
    }
}

#[cfg(any(test, feature = "test-support"))]
fn persist(path: &std::path::Path, jobs: &[PrintJob]) -> Result<(), StoreError> {
    use std::io::Write;
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(jobs).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut file = std::fs::File::create(&tmp).map_err(unavailable)?;
    file.write_all(&bytes).map_err(unavailable)?;
    file.sync_all().map_err(unavailable)?;
    std::fs::rename(&tmp, path).map_err(unavailable)
}

#[cfg(any(test, feature = "test-support"))]
impl JobStore for LocalStore {
    async fn open_jobs(&self) -> Result<Vec<PrintJob>, StoreError> {
        Ok(self.jobs().into_iter().filter(|j| matches!(j.state, PrintState::Pending | PrintState::Printing)).collect())
    }

    async fn begin_attempt(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |job| {
            job.state = PrintState::Printing;
            job.attempts += 1;
        })
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |job| {
            job.state = PrintState::Printed;
            job.printed_at = Some(jiff::Timestamp::now());
            job.last_error = None;
        })
    }

    async fn mark_retry(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update(id, |job| {
            job.state = PrintState::Pending;
            job.last_error = Some(error.into());
        })
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update(id, |job| {
            job.state = PrintState::Failed;
            job.last_error = Some(error.into());
        })
    }
}

/// The queue's timing.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    pub label_size: LabelSize,
    /// Look for new jobs this often even without a wake-up; probe the printer this often when idle.
    pub poll: Duration,
    /// First and longest pause after the printer could not print.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl QueueConfig {
    pub fn new(label_size: LabelSize) -> Self {
        Self {
            label_size,
            poll: Duration::from_secs(15),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Wakes the queue when a job was added or staff pressed "reprint".
#[derive(Clone, Default)]
pub struct QueueWaker(Arc<Notify>);

impl QueueWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Receives every change of the printer's health (the Booth condition, `/readyz`).
pub type HealthSink = Arc<dyn Fn(PrinterHealth) + Send + Sync>;

/// What the queue counts (`/metrics`: `conferenceli_label_jobs_*_total`).
#[derive(Clone)]
pub struct QueueMetrics {
    /// Jobs printed.
    pub printed: Counter,
    /// Attempts that did not print and will be retried.
    pub retried: Counter,
    /// Jobs left to staff (sent without confirmation, or interrupted).
    pub failed: Counter,
    /// Time to hand one job to the printer and hear back, whatever the outcome.
    pub(crate) transmit_seconds: Histogram,
}

impl Default for QueueMetrics {
    fn default() -> Self {
        Self {
            printed: Counter::default(),
            retried: Counter::default(),
            failed: Counter::default(),
            // 50 ms to about 100 s: a label takes about a second to print and cut.
            transmit_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
        }
    }
}

impl QueueMetrics {
    /// Registers the counters under `label_jobs_*`.
    pub(crate) fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register("label_jobs_printed", "Label print jobs printed", self.printed.clone());
        registry.register(
            "label_jobs_retried",
            "Label print attempts that did not print and are retried",
            self.retried.clone(),
        );
        registry.register(
            "label_jobs_failed",
            "Label print jobs left to staff (may have printed)",
            self.failed.clone(),
        );
        registry.register(
            "label_transmit_seconds",
            "Time to send one job to the printer and hear back",
            self.transmit_seconds.clone(),
        );
    }
}

/// What happened to one job in one pass.
enum Outcome {
    /// Printed, or failed for good: go on with the next job.
    Done,
    /// The printer cannot print now: stop the pass and back off.
    Blocked,
}

/// Runs the queue until `shutdown`: prints open jobs in order, backs off while the printer cannot
/// print, probes the printer's status when idle.
pub async fn run<S: JobStore, T: PrinterTransport>(
    store: Arc<S>,
    transport: Arc<T>,
    config: QueueConfig,
    waker: QueueWaker,
    health: HealthSink,
    metrics: QueueMetrics,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(config.min_backoff, config.max_backoff);
    let mut context = Context { health, metrics, shutdown: shutdown.clone(), unsent: None };
    loop {
        let pause = match pass(&*store, &*transport, &config, &mut context).await {
            Outcome::Done => {
                backoff.reset();
                config.poll
            }
            Outcome::Blocked => backoff.next_delay(),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = waker.0.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// What every step of a pass reports to, and what the queue remembers between passes.
struct Context {
    health: HealthSink,
    metrics: QueueMetrics,
    shutdown: CancellationToken,
    /// The job whose attempt may have been recorded (`Printing`) though none of it was sent.
    unsent: Option<String>,
}

/// One pass over the open jobs; with none, a status probe.
async fn pass<S: JobStore, T: PrinterTransport>(
    store: &S,
    transport: &T,
    config: &QueueConfig,
    context: &mut Context,
) -> Outcome {
    let jobs = match store.open_jobs().await {
        Ok(jobs) => jobs,
        Err(error) => {
            tracing::warn!(%error, "cannot read the print jobs; retrying");
            return Outcome::Blocked;
        }
    };
    if jobs.is_empty() {
        return probe(transport, config.label_size, &context.health).await;
    }
    for job in jobs {
        if context.shutdown.is_cancelled() {
            return Outcome::Done;
        }
        if let Outcome::Blocked = print_one(store, transport, config.label_size, &job, context).await {
            return Outcome::Blocked;
        }
    }
    Outcome::Done
}

async fn probe<T: PrinterTransport>(transport: &T, size: LabelSize, health: &HealthSink) -> Outcome {
    match transport.connect(size).await {
        Ok(session) => {
            health(ready(session.status.is_some()));
            Outcome::Done
        }
        Err(error) => {
            health(unhealthy(&error));
            Outcome::Blocked
        }
    }
}

fn ready(status_known: bool) -> PrinterHealth {
    let message = if status_known { "ready" } else { "reachable (this connection reports no status)" };
    PrinterHealth { healthy: true, reason: "Ready".into(), message: message.into() }
}

fn unhealthy(error: &SendError) -> PrinterHealth {
    PrinterHealth { healthy: false, reason: error.reason().into(), message: error.to_string() }
}

async fn print_one<S: JobStore, T: PrinterTransport>(
    store: &S,
    transport: &T,
    size: LabelSize,
    job: &PrintJob,
    context: &mut Context,
) -> Outcome {
    let unsent = context.unsent.take_if(|id| *id == job.id).is_some();
    let (health, metrics) = (&context.health, &context.metrics);
    if job.state == PrintState::Printing && !unsent {
        let error = "interrupted while printing: it may have printed; reprint if it did not";
        tracing::warn!(job = job.id, "{error}");
        metrics.failed.inc();
        return settle(store.mark_failed(&job.id, error).await);
    }
    let images: Vec<_> = job.labels.iter().map(|label| layout::render(label, size)).collect();
    let raster = match RasterJob::compile(&images, size) {
        Ok(raster) => raster,
        Err(error) => return settle(store.mark_failed(&job.id, &error.to_string()).await),
    };
    let session = match transport.connect(size).await {
        Ok(session) => session,
        Err(error) => {
            health(unhealthy(&error));
            metrics.retried.inc();
            if let Err(store_error) = store.mark_retry(&job.id, &error.to_string()).await {
                tracing::warn!(%store_error, job = job.id, "cannot record why the job waits");
            }
            return Outcome::Blocked;
        }
    };
    if let Err(error) = store.begin_attempt(&job.id).await {
        tracing::warn!(%error, job = job.id, "cannot record the print attempt; not printing yet");
        context.unsent = Some(job.id.clone());
        return Outcome::Blocked;
    }
    let started = std::time::Instant::now();
    let transmitted = transport.transmit(session, &raster, &job.id).await;
    metrics.transmit_seconds.observe(started.elapsed().as_secs_f64());
    match transmitted {
        Ok(delivery) => {
            tracing::info!(job = job.id, ?delivery, labels = job.labels.len(), "printed");
            health(ready(true));
            metrics.printed.inc();
            record_printed(store, &job.id, &context.shutdown).await;
            Outcome::Done
        }
        Err(error) if error.safe_to_retry() => {
            tracing::warn!(%error, job = job.id, "not printed; will retry");
            health(unhealthy(&error));
            metrics.retried.inc();
            if let Err(store_error) = store.mark_retry(&job.id, &error.to_string()).await {
                tracing::warn!(%store_error, job = job.id, "cannot record the retry");
            }
            Outcome::Blocked
        }
        Err(error) => {
            tracing::warn!(%error, job = job.id, "printing not confirmed; left for staff to reprint");
            health(unhealthy(&error));
            metrics.failed.inc();
            settle(store.mark_failed(&job.id, &error.to_string()).await)
        }
    }
}

/// A job's final state could not be written: stop and try again later (it stays where it was).
fn settle(result: Result<(), StoreError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(error) => {
            tracing::warn!(%error, "cannot record the job's state");
            Outcome::Blocked
        }
    }
}

/// Writes `Printed` until the store takes it: leaving the job in `Printing` would make a restart
/// mark a printed label as failed. A job that is gone from the store meanwhile (its lead
/// deleted by staff) has nothing left to record: retrying it would stop the queue for good.
async fn record_printed<S: JobStore>(store: &S, id: &str, shutdown: &CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    loop {
        match store.mark_printed(id).await {
            Ok(()) => return,
            Err(StoreError::UnknownJob(_)) => {
                tracing::warn!(job = id, "printed, but the job is gone from the store; nothing to record");
                return;
            }
            Err(error) => tracing::warn!(%error, job = id, "cannot record the printed job; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raffle(name: &str) -> Vec<Label> {
        vec![Label::Raffle { name: name.into(), header: "KubeCon".into(), code: "abc".into() }]
    }

    #[tokio::test]
    async fn the_file_store_survives_a_reopen_and_writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.json");
        let store = LocalStore::open(&path).unwrap();
        store.add(PrintJob::new("a", raffle("A"))).unwrap();
        store.add(PrintJob::new("b", raffle("B"))).unwrap();
        store.add(PrintJob::new("c", vec![])).unwrap();
        store.begin_attempt("a").await.unwrap();
        let reopened = LocalStore::open(&path).unwrap();
        assert_eq!(reopened.job("a").unwrap().state, PrintState::Printing);
        assert_eq!(reopened.job("a").unwrap().attempts, 1);
        assert_eq!(reopened.job("c").unwrap().state, PrintState::NotRequested);
        let open: Vec<_> = reopened.open_jobs().await.unwrap().into_iter().map(|j| j.id).collect();
        assert_eq!(open, ["a", "b"]);
        assert!(matches!(reopened.mark_printed("zzz").await, Err(StoreError::UnknownJob(_))));
        assert!(!path.with_extension("tmp").exists());
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(LocalStore::open(&path), Err(StoreError::Unavailable(_))));
    }
}
