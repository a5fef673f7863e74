//! The fog machine: a relay that puffs fog when a pod is killed, so it "goes up in smoke" for real.
//!
//! Same on-time rules as the booth's old relay server: each puff extends the on-time by an
//! increment (2 s), capped in total (10 s); after the relay switches off, a minimum pause must
//! pass before it may switch on again. The rules are a pure state machine (`FogPlan`); the relay
//! is driven by a dedicated watchdog thread that owns it, so the relay switches off when its
//! on-time ends even if every task that asked for fog is gone — the thread needs nothing but its
//! own clock. It is off at start, off on shutdown, and off when the thread's owner drops it.
//!
//! May call: nothing else of the crate.

use super::relay::{FogError, FogSpec, Relay};
use clap::Args;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fog machine that puffs on every chaos kill.
#[derive(Debug, Clone, Args)]
pub struct FogArgs {
    /// The fog machine's relay: off, virtual (state only) or `gpio:<BCM pin>`. Default: off for
    /// `run`, virtual for `demo`.
    #[arg(long = "fog", env = "FOG")]
    pub spec: Option<FogSpec>,
    /// The relay switches on with a high level (most relay boards are active-low).
    #[arg(long = "fog-active-high", env = "FOG_ACTIVE_HIGH", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub(crate) active_high: bool,
    /// Milliseconds each puff adds to the on-time.
    #[arg(long = "fog-increment-ms", env = "FOG_INCREMENT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) increment_ms: u64,
    /// Longest on-time in one go, in milliseconds.
    #[arg(long = "fog-max-ms", env = "FOG_MAX_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) max_ms: u64,
    /// Milliseconds the relay stays off before it may puff again.
    #[arg(long = "fog-pause-ms", env = "FOG_PAUSE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub(crate) pause_ms: u64,
}

impl FogArgs {
    pub fn timing(&self) -> FogTiming {
        FogTiming {
            increment: std::time::Duration::from_millis(self.increment_ms),
            cap: std::time::Duration::from_millis(self.max_ms),
            min_pause: std::time::Duration::from_millis(self.pause_ms),
        }
    }
}

/// The on-time rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FogTiming {
    /// How much each puff adds to the on-time.
    pub increment: Duration,
    /// The longest the relay stays on in one go.
    pub cap: Duration,
    /// How long the relay stays off before it may switch on again.
    pub min_pause: Duration,
}

impl Default for FogTiming {
    fn default() -> Self {
        Self { increment: Duration::from_secs(2), cap: Duration::from_secs(10), min_pause: Duration::from_secs(5) }
    }
}

/// What a puff request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Puff {
    /// The relay switches on until the given time.
    Started { off_at: Instant },
    /// The relay was on; it now stays on until the given time (the cap may have cut it).
    Extended { off_at: Instant },
    /// Too soon after the last puff ended: nothing happens.
    TooSoon { allowed_at: Instant },
}

/// The on-time state machine, with the clock passed in.
#[derive(Debug, Clone)]
pub(crate) struct FogPlan {
    timing: FogTiming,
    on_since: Option<Instant>,
    off_at: Option<Instant>,
    last_off: Option<Instant>,
}

impl FogPlan {
    pub fn new(timing: FogTiming) -> Self {
        Self { timing, on_since: None, off_at: None, last_off: None }
    }

    #[cfg(test)]
    fn is_on(&self) -> bool {
        self.on_since.is_some()
    }

    /// When the relay must switch off, if it is on.
    pub fn off_at(&self) -> Option<Instant> {
        self.off_at
    }

    /// A puff is asked for at `now`.
    pub fn puff(&mut self, now: Instant) -> Puff {
        self.expire(now);
        match (self.on_since, self.off_at) {
            (Some(since), Some(off_at)) => {
                let off_at = (off_at + self.timing.increment).min(since + self.timing.cap);
                self.off_at = Some(off_at);
                Puff::Extended { off_at }
            }
            _ => {
                if let Some(allowed_at) = self.last_off.map(|off| off + self.timing.min_pause).filter(|at| *at > now) {
                    return Puff::TooSoon { allowed_at };
                }
                let off_at = now + self.timing.increment.min(self.timing.cap);
                self.on_since = Some(now);
                self.off_at = Some(off_at);
                Puff::Started { off_at }
            }
        }
    }

    /// Switches the plan off when its time has come; true when it just went off.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        match self.off_at {
            Some(off_at) if now >= off_at => {
                self.on_since = None;
                self.off_at = None;
                self.last_off = Some(off_at);
                true
            }
            _ => false,
        }
    }

    /// Switches off at once (shutdown, or the relay failed to switch on).
    pub(crate) fn force_off(&mut self, now: Instant) {
        if self.on_since.take().is_some() {
            self.last_off = Some(now);
        }
        self.off_at = None;
    }
}

/// What `/api/state` and `/metrics` show of the fog machine.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FogStatus {
    /// Where the relay is: `off` (no fog machine), `virtual`, `gpio:<pin>`, `http://...`.
    pub relay: String,
    pub on: bool,
    /// Milliseconds until the relay switches off, while it is on.
    pub(crate) off_in_ms: Option<u64>,
    pub(crate) puffs: u64,
    pub refused: u64,
    pub relay_errors: u64,
}

enum Command {
    Puff,
    Shutdown,
}

#[derive(Default)]
struct Counters {
    puffs: AtomicU64,
    refused: AtomicU64,
    relay_errors: AtomicU64,
}

/// The handle the rest of the app uses: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Fog {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

struct Shared {
    relay_name: String,
    off_at: Mutex<Option<Instant>>,
    counters: Counters,
    stopped: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Fog {
    /// Starts the watchdog thread that owns `relay`; switches the relay off first.
    pub fn start(relay: Box<dyn Relay>, timing: FogTiming) -> Self {
        let (commands, receiver) = mpsc::channel();
        let shared = Arc::new(Shared {
            relay_name: relay.describe(),
            off_at: Mutex::new(None),
            counters: Counters::default(),
            stopped: Mutex::new(None),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fog-watchdog".into())
            .spawn(move || watchdog(relay, FogPlan::new(timing), receiver, thread_shared))
            .expect("spawning the fog watchdog thread");
        *shared.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Self { commands, shared }
    }

    /// Asks for a puff; returns at once (a refused or failed puff is counted, never an error).
    pub fn puff(&self) {
        let _ = self.commands.send(Command::Puff);
    }

    pub fn status(&self) -> FogStatus {
        let off_at = *self.shared.off_at.lock().unwrap_or_else(|p| p.into_inner());
        let counters = &self.shared.counters;
        FogStatus {
            relay: self.shared.relay_name.clone(),
            on: off_at.is_some(),
            off_in_ms: off_at.map(|at| at.saturating_duration_since(Instant::now()).as_millis() as u64),
            puffs: counters.puffs.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
            relay_errors: counters.relay_errors.load(Ordering::Relaxed),
        }
    }

    /// Switches the relay off and stops the watchdog (SIGTERM); waits for the relay to be off.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.shared.stopped.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn switch(relay: &mut dyn Relay, on: bool, shared: &Shared) -> Result<(), FogError> {
    relay.set(on).inspect_err(|error| {
        shared.counters.relay_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, on, relay = %shared.relay_name, "fog relay did not switch");
    })
}

/// The thread that owns the relay. It wakes for commands and for the end of the on-time; when
/// every handle is gone it switches off and ends.
fn watchdog(mut relay: Box<dyn Relay>, mut plan: FogPlan, commands: mpsc::Receiver<Command>, shared: Arc<Shared>) {
    let publish = |plan: &FogPlan| *shared.off_at.lock().unwrap_or_else(|p| p.into_inner()) = plan.off_at();
    let _ = switch(relay.as_mut(), false, &shared);
    loop {
        let received = match plan.off_at() {
            Some(off_at) => commands.recv_timeout(off_at.saturating_duration_since(Instant::now())),
            None => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let now = Instant::now();
        match received {
            Ok(Command::Puff) => match plan.puff(now) {
                Puff::Started { .. } => {
                    shared.counters.puffs.fetch_add(1, Ordering::Relaxed);
                    if switch(relay.as_mut(), true, &shared).is_err() {
                        plan.force_off(now);
                        let _ = switch(relay.as_mut(), false, &shared);
                    }
                }
                Puff::Extended { .. } => {
                    shared.counters.puffs.fetch_add(1, Ordering::Relaxed);
                    if relay.wants_every_puff() && switch(relay.as_mut(), true, &shared).is_err() {
                        plan.force_off(now);
                    }
                }
                Puff::TooSoon { .. } => {
                    shared.counters.refused.fetch_add(1, Ordering::Relaxed);
                }
            },
            Err(RecvTimeoutError::Timeout) => {
                if plan.expire(now) {
                    let _ = switch(relay.as_mut(), false, &shared);
                }
            }
            Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                plan.force_off(now);
                publish(&plan);
                let _ = switch(relay.as_mut(), false, &shared);
                return;
            }
        }
        publish(&plan);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_puff_extends_by_the_increment_up_to_the_cap() {
        let t0 = Instant::now();
        let mut plan = FogPlan::new(FogTiming::default());
        assert_eq!(plan.puff(t0), Puff::Started { off_at: t0 + ms(2000) });
        assert_eq!(plan.puff(t0 + ms(500)), Puff::Extended { off_at: t0 + ms(4000) });
        for _ in 0..10 {
            plan.puff(t0 + ms(600));
        }
        assert_eq!(plan.off_at(), Some(t0 + ms(10_000)), "capped at 10 s in total");
        assert!(!plan.expire(t0 + ms(9_999)));
        assert!(plan.expire(t0 + ms(10_000)));
        assert!(!plan.is_on());
    }

    #[test]
    fn a_minimum_pause_follows_every_puff() {
        let t0 = Instant::now();
        let mut plan = FogPlan::new(FogTiming::default());
        plan.puff(t0);
        assert_eq!(plan.puff(t0 + ms(2_500)), Puff::TooSoon { allowed_at: t0 + ms(7_000) });
        assert!(matches!(plan.puff(t0 + ms(7_000)), Puff::Started { .. }));
    }

    fn wait_for(log: &super::super::relay::RelayLog, expected: &[bool]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while log.lock().unwrap().as_slice() != expected {
            assert!(Instant::now() < deadline, "relay log {:?}, expected {expected:?}", log.lock().unwrap());
            std::thread::sleep(ms(5));
        }
    }

    #[test]
    fn the_watchdog_switches_off_at_the_end_of_the_on_time_and_when_its_owner_is_gone() {
        let (relay, log, _) = super::super::relay::VirtualRelay::new();
        let fog = Fog::start(Box::new(relay), FogTiming { increment: ms(50), cap: ms(200), min_pause: ms(0) });
        wait_for(&log, &[false]);
        fog.puff();
        wait_for(&log, &[false, true, false]);
        assert!(!fog.status().on);
        fog.puff();
        wait_for(&log, &[false, true, false, true]);
        assert!(fog.status().on);
        drop(fog); // every handle gone while the relay is on
        wait_for(&log, &[false, true, false, true, false]);
    }

    #[test]
    fn a_failing_relay_is_counted_and_left_off() {
        let (relay, log, fail) = super::super::relay::VirtualRelay::new();
        *fail.lock().unwrap() = true;
        let fog = Fog::start(Box::new(relay), FogTiming::default());
        fog.puff();
        fog.shutdown();
        assert_eq!(log.lock().unwrap().as_slice(), [false, false, false]);
        let status = fog.status();
        assert_eq!((status.relay_errors, status.on), (1, false));
    }

    #[test]
    fn force_off_counts_as_the_end_of_a_puff() {
        let t0 = Instant::now();
        let mut plan = FogPlan::new(FogTiming::default());
        plan.puff(t0);
        plan.force_off(t0 + ms(100));
        assert!(!plan.is_on() && plan.off_at().is_none());
        assert!(matches!(plan.puff(t0 + ms(200)), Puff::TooSoon { .. }));
    }
}
