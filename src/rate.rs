//! Sliding-window rate limiting, the one limit on events per time the booth has: wrong staff
//! credentials per address (`web::auth`), wrong control-panel passwords (`web::control`) and
//! contact-form submissions per visitor (`web::public`, `web::public::visitor`). At most `limit`
//! events of one key in any `window`; a key that reached it waits until its oldest event leaves
//! the window. Memory is bounded: at most `max_keys` keys are tracked, idle ones forgotten first.
//!
//! Written here rather than taken from `governor`: its GCRA checks by spending, where the guess
//! limits count only failures and ask before spending (docs/decisions.md).
//!
//! May call: nothing else of the crate.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The recent events of every key, `limit` per `window` allowed.
#[derive(Debug)]
pub(crate) struct SlidingWindow<K> {
    limit: usize,
    window: Duration,
    max_keys: usize,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> SlidingWindow<K> {
    /// `limit` events (at least one) per `window` and key, `max_keys` keys tracked at most.
    pub(crate) fn new(limit: u32, window: Duration, max_keys: usize) -> Self {
        Self { limit: limit.max(1) as usize, window, max_keys: max_keys.max(1), events: Mutex::new(HashMap::new()) }
    }

    /// How long `key` must wait before its next event is allowed, if it must.
    pub(crate) fn blocked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let recent = events.get_mut(key)?;
        while recent.front().is_some_and(|at| now.saturating_duration_since(*at) >= self.window) {
            recent.pop_front();
        }
        match recent.front() {
            None => {
                events.remove(key);
                None
            }
            Some(oldest) if recent.len() >= self.limit => Some(self.window - now.saturating_duration_since(*oldest)),
            Some(_) => None,
        }
    }

    /// Counts an event of `key` at `now`.
    pub(crate) fn record(&self, key: K, now: Instant) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() >= self.max_keys && !events.contains_key(&key) {
            let window = self.window;
            events.retain(|_, recent| recent.back().is_some_and(|at| now.saturating_duration_since(*at) < window));
            if events.len() >= self.max_keys {
                // Still full of recent keys: forget the one whose last event is oldest.
                let stalest = events.iter().min_by_key(|(_, recent)| recent.back().copied()).map(|(k, _)| k.clone());
                if let Some(stalest) = stalest {
                    events.remove(&stalest);
                }
            }
        }
        let recent = events.entry(key).or_default();
        recent.push_back(now);
        while recent.len() > self.limit {
            recent.pop_front();
        }
    }

    /// Counts an event of `key` if it is allowed now; otherwise how long to wait.
    pub(crate) fn admit(&self, key: K, now: Instant) -> Result<(), Duration> {
        match self.blocked_for(&key, now) {
            Some(wait) => Err(wait),
            None => {
                self.record(key, now);
                Ok(())
            }
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_is_held_back_after_the_limit_until_its_oldest_event_leaves_the_window() {
        let limiter = SlidingWindow::new(3, MINUTE, 100);
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.blocked_for(&"guesser", start), None, "event {i}");
            limiter.record("guesser", start + Duration::from_secs(i));
        }
        let now = start + Duration::from_secs(10);
        assert_eq!(limiter.blocked_for(&"guesser", now), Some(Duration::from_secs(50)));
        assert_eq!(limiter.blocked_for(&"staff", now), None, "other keys are not affected");
        assert_eq!(limiter.blocked_for(&"guesser", start + MINUTE), None, "the oldest event is a minute old");
        assert_eq!(limiter.blocked_for(&"guesser", start + MINUTE + Duration::from_secs(2)), None);
        assert_eq!(limiter.tracked(), 0, "a key with no recent event is forgotten");
    }

    #[test]
    fn admit_counts_what_it_allows_and_tells_the_wait_of_what_it_refuses() {
        let limiter = SlidingWindow::new(2, MINUTE, 100);
        let start = Instant::now();
        assert_eq!(limiter.admit("visitor", start), Ok(()));
        assert_eq!(limiter.admit("visitor", start + Duration::from_secs(15)), Ok(()));
        assert_eq!(limiter.admit("visitor", start + Duration::from_secs(20)), Err(Duration::from_secs(40)));
        assert_eq!(limiter.admit("visitor", start + MINUTE), Ok(()), "the first left the window");
        assert!(
            limiter.admit("visitor", start + MINUTE).is_err(),
            "a refused event is not counted, the admitted one is"
        );
    }

    #[test]
    fn tracked_keys_are_bounded_and_the_newest_is_kept() {
        let limiter = SlidingWindow::new(2, MINUTE, 50);
        let now = Instant::now();
        for n in 0..150u32 {
            limiter.record(n, now + Duration::from_millis(u64::from(n)));
        }
        assert_eq!(limiter.tracked(), 50);
        limiter.record(149, now);
        limiter.record(149, now);
        assert!(limiter.blocked_for(&149, now).is_some(), "the newest key is tracked");
    }
}
