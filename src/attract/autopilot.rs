//! The autopilot: presses the chaos button through [`Chaos::press`] (cool-down, protected pods,
//! chaos safety, Events, counter, LEDs, fog: everything the button does) when
//! `super::autopilot_due` says so, reading the Booth's `spec.attract` live. Every press by a
//! person (announced on the [`ChaosBus`]) restarts the idle time, so the autopilot stops the
//! moment someone is at the booth.
//!
//! May call: `crate::booth`, `crate::chaos`, `crate::cluster`.

use crate::booth::BoothHandle;
use crate::chaos::{Aim, Chaos, ChaosActions, ChaosError};
use crate::cluster::{ChaosBus, ChaosEvent, Presser};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the autopilot looks at the clock.
const TICK: Duration = Duration::from_millis(500);

/// Runs the autopilot until `shutdown`.
pub async fn run<A: ChaosActions + 'static>(
    chaos: Arc<Chaos<A>>,
    booth: BoothHandle,
    bus: ChaosBus,
    shutdown: CancellationToken,
) {
    let mut presses = bus.listen();
    // The idle time counts from the start: a booth that just opened waits like one just pressed.
    let mut last_press = jiff::Timestamp::now();
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            press = presses.next() => match press {
                Some(ChaosEvent::Picked { by, .. }) if by != Presser::Autopilot => last_press = jiff::Timestamp::now(),
                Some(_) => {}
                None => return,
            },
            _ = every.tick() => {
                let now = jiff::Timestamp::now();
                if !super::autopilot_due(&booth.spec().attract, now, last_press) {
                    continue;
                }
                // Whatever the outcome, the next try waits a whole idle time (a relaxed pace).
                last_press = now;
                match chaos.press(Aim::Random, Presser::Autopilot).await {
                    Ok(taken) => tracing::info!(pod = %taken.pod.name, "attract mode: the autopilot pressed the button"),
                    Err(error @ ChaosError::DryRun(_)) => tracing::info!(%error, "attract mode: the autopilot pressed the button"),
                    Err(error) => tracing::info!(%error, "attract mode: the autopilot's press killed nothing"),
                }
            }
        }
    }
}
