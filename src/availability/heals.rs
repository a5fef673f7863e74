//! "Healed in 3.4 s": for each kill, the time from the kill until the replacement pod (same
//! name, new uid) is Running and Ready, as the booth's watch sees it. Pure: events in, heals out.
//!
//! May call: `crate::cluster`.

use crate::cluster::{PodPhase, PodView, Presser};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long a kill waits for its replacement before it is forgotten (a pod that never returns).
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// One kill and how long Kubernetes took to heal it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heal {
    /// The pod's name (its replacement has the same one).
    pub name: String,
    /// Seconds from the kill to the replacement being Ready, to a tenth.
    pub seconds: f64,
    /// Who pressed.
    pub by: Presser,
}

#[derive(Debug)]
struct Waiting {
    name: String,
    /// The killed pod's uid, when the watch still knew it at the kill.
    old_uid: Option<String>,
    since: Instant,
    by: Presser,
}

/// The kills waiting for their replacement.
#[derive(Debug, Default)]
pub(crate) struct HealTracker {
    waiting: Vec<Waiting>,
}

impl HealTracker {
    /// A kill of `name` (whose uid was `old_uid`) at `now`.
    pub(crate) fn on_kill(&mut self, name: &str, old_uid: Option<String>, by: Presser, now: Instant) {
        self.waiting.retain(|w| w.name != name && now.duration_since(w.since) < GIVE_UP_AFTER);
        self.waiting.push(Waiting { name: name.into(), old_uid, since: now, by });
    }

    /// A pod as the watch sees it at `now`: the heal it completes, if it is a killed pod's
    /// replacement that is now Running and Ready.
    pub(crate) fn on_pod(&mut self, pod: &PodView, now: Instant) -> Option<Heal> {
        if pod.status != PodPhase::Running || !pod.ready {
            return None;
        }
        let index = self.waiting.iter().position(|w| w.name == pod.name && w.old_uid.as_deref() != Some(&pod.uid))?;
        let waiting = self.waiting.remove(index);
        let seconds = (now.duration_since(waiting.since).as_secs_f64() * 10.0).round() / 10.0;
        Some(Heal { name: waiting.name, seconds, by: waiting.by })
    }

    pub(crate) fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, status: PodPhase, ready: bool) -> PodView {
        PodView {
            name: "critical-prod-2".into(),
            namespace: "demopod".into(),
            status,
            index: Some(2),
            node: None,
            ready,
            restarts: 0,
            protected: false,
            uid: uid.into(),
            blinkt_color: None,
            created: None,
        }
    }

    #[test]
    fn a_heal_is_the_time_until_the_replacement_is_ready() {
        let mut heals = HealTracker::default();
        let t0 = Instant::now();
        heals.on_kill("critical-prod-2", Some("old".into()), Presser::Button, t0);
        // The killed pod itself, still Running in a late update, heals nothing.
        assert_eq!(heals.on_pod(&pod("old", PodPhase::Running, true), t0 + Duration::from_millis(10)), None);
        assert_eq!(heals.on_pod(&pod("old", PodPhase::Terminating, true), t0 + Duration::from_millis(20)), None);
        assert_eq!(heals.on_pod(&pod("new", PodPhase::Pending, false), t0 + Duration::from_secs(1)), None);
        assert_eq!(heals.on_pod(&pod("new", PodPhase::Running, false), t0 + Duration::from_secs(2)), None);
        let heal = heals.on_pod(&pod("new", PodPhase::Running, true), t0 + Duration::from_millis(3_440)).unwrap();
        assert_eq!(heal, Heal { name: "critical-prod-2".into(), seconds: 3.4, by: Presser::Button });
        assert!(!heals.is_waiting());
        assert_eq!(heals.on_pod(&pod("new", PodPhase::Running, true), t0 + Duration::from_secs(4)), None, "once");
    }
}
