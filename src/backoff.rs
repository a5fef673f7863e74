//! Capped exponential backoff: the one every retry loop of the booth uses (the print queue, the
//! LED drivers, the Booth's writes, the chaos webhooks, the lead controller).
//!
//! Written here rather than taken from `backon` (which kube-runtime brings along): the lead
//! controller keeps the attempt count in the Lead's status across restarts and needs the delay
//! of attempt N directly, and its "equal jitter" keeps every delay at or under the cap, where
//! backon's jitter adds up to a whole delay on top. See `docs/decisions.md`.
//!
//! May call: nothing else of the crate.

use std::time::Duration;

/// Delays that double after each failure, from `first` up to `max`; [`Backoff::reset`] after a
/// success starts again from `first`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, failures: 0 }
    }

    /// Counts a failure; the delay before the next try.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        delay(self.failures, self.first, self.max)
    }

    /// A success: the next failure waits `first` again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The delay after `failures` failures (1 is the first): `first` doubled `failures - 1` times,
/// at most `max`.
pub(crate) fn delay(failures: u32, first: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    first.saturating_mul(1 << doublings).min(max)
}

/// [`delay`] with "equal jitter": half of it fixed, half random (`jitter` in 0..1), so that
/// what failed together does not retry together, and never more than `max`.
pub(crate) fn jittered(failures: u32, first: Duration, max: Duration, jitter: f64) -> Duration {
    let full = delay(failures, first, max);
    full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_first_up_to_the_cap_and_start_again_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
        let delays: Vec<u128> = (0..6).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000, 2000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(250));
        assert_eq!(delay(u32::MAX, Duration::from_secs(1), Duration::from_secs(30)), Duration::from_secs(30));
    }

    #[test]
    fn jitter_keeps_half_fixed_half_random_and_stays_under_the_cap() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(jittered(1, min, max, 0.0), Duration::from_millis(500));
        assert_eq!(jittered(1, min, max, 1.0), Duration::from_secs(1));
        assert_eq!(jittered(3, min, max, 1.0), Duration::from_secs(4));
        assert_eq!(jittered(30, min, max, 1.0), max);
        assert_eq!(jittered(30, min, max, 0.0), max / 2);
        assert_eq!(jittered(30, min, max, 7.0), max, "jitter beyond 1 is clamped");
        let delay = jittered(4, min, max, 0.5);
        assert!(delay > Duration::from_secs(4) && delay < Duration::from_secs(8), "{delay:?}");
    }
}
