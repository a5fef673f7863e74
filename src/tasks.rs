//! The app's tasks: one [`TaskTracker`] and the shutdown [`CancellationToken`] that every task
//! the app spawns goes through, so that shutdown can wait for all of them.
//!
//! A feature's `start` takes `&Tasks` and spawns with [`Tasks::spawn`] when the task watches
//! [`Tasks::token`] itself and has something to finish (LEDs dark, a queue's last job), or with
//! `Tasks::spawn_until_shutdown` when it is a loop with nothing to clean up (a watch, a
//! listener of the chaos bus), which is dropped at its next `.await` once the token fires.
//! [`Tasks::shutdown`] cancels the token, closes the tracker and waits for the tasks within the
//! grace period; the ones still running are named in the log and left to the runtime's end.
//! Nothing is aborted.
//!
//! Four kinds of task are not spawned here, on purpose (`tests/it/architecture.rs` allows
//! exactly these places):
//!
//! - the per-connection tasks of `web::limits::serve`: every one holds a permit of its
//!   listener's connection gate (or, for a refusal, of its refusal budget, and ends within
//!   its two seconds), and the server returns only once all permits are back, so the server
//!   joins them and the listeners are joined by the composition root;
//! - the simulated cluster's containers in `demo` (the demo workload on each simulated pod):
//!   the simulated API starts and stops them with a token of its own;
//! - the signal listener of `shutdown_on_signals`, which fires the token the trackers stop on
//!   and ends with the process;
//! - blocking calls moved off the runtime with `spawn_blocking` and awaited on the spot (a
//!   printer's socket, an LED report, an allocator trim): their caller joins them, or gives up
//!   waiting after a timeout (a setup check's device probe), since no blocking call can be
//!   cancelled; the fog machine's watchdog thread is joined by `Fog::shutdown`, which the fog's
//!   task runs at shutdown.
//!
//! May call: nothing else of the crate.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Every task of one running app (`run`, `demo`, the tests' booths, or one `blinkt`), and the
/// token that tells them to stop. Cheap to clone: clones share the tracker and the token.
#[derive(Clone, Debug, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// How many tasks of each name are running (what a late shutdown names).
    running: Arc<Mutex<BTreeMap<&'static str, usize>>>,
}

/// Counts its task as running from spawn until it ends or is dropped.
struct Running {
    name: &'static str,
    running: Arc<Mutex<BTreeMap<&'static str, usize>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = running.get_mut(self.name) {
            *count -= 1;
            if *count == 0 {
                running.remove(self.name);
            }
        }
    }
}

impl Tasks {
    /// Tasks that stop when `shutdown` fires (or when [`Self::shutdown`] is called).
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown, ..Self::default() }
    }

    /// Fires at shutdown: what a task with something to finish watches.
    pub fn token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Runs `task`, which watches [`Self::token`] and ends by itself once it fires.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()).entry(name).or_default() += 1;
        let running = Running { name, running: self.running.clone() };
        self.tracker.spawn(async move {
            task.await;
            drop(running);
        });
    }

    /// Runs `task` until it ends or the token fires, whichever comes first: for loops that have
    /// nothing to finish, dropped at their next `.await`.
    pub(crate) fn spawn_until_shutdown<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.spawn(name, async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Cancels the token, then waits up to `grace` for every task to end; logs the ones that
    /// did not. Returns whether all ended.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_ok() {
            return true;
        }
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let still: Vec<String> = running.iter().map(|(name, count)| format!("{name} ×{count}")).collect();
        tracing::warn!(?grace, tasks = %still.join(", "), "tasks still running after the shutdown grace period");
        false
    }
}

/// Fires on SIGTERM (Kubernetes stopping the pod) or Ctrl-C: the token an app's [`Tasks`] is
/// made with. Its listener is the one task not tracked: it makes the token every tracker stops
/// on, and ends with the process.
pub(crate) fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_waits_for_tasks_that_finish_on_the_token_and_drops_loops() {
        let tasks = Tasks::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let token = tasks.token().clone();
        tasks.spawn("finisher", async move {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = done_tx.send(());
        });
        tasks.spawn_until_shutdown("loop", std::future::pending());
        assert!(tasks.shutdown(Duration::from_secs(5)).await);
        assert!(done_rx.await.is_ok(), "the finisher ran to its end before shutdown returned");
        assert!(tasks.running.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn shutdown_names_what_did_not_end_within_the_grace() {
        let tasks = Tasks::default();
        tasks.spawn("stubborn", std::future::pending());
        tasks.spawn("quick", async {});
        assert!(!tasks.shutdown(Duration::from_millis(50)).await);
        assert_eq!(tasks.running.lock().unwrap().iter().collect::<Vec<_>>(), [(&"stubborn", &1)]);
    }
}
