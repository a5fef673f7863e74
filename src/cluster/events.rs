//! Announcements of what the chaos button does, for everything that reacts to a kill (the LEDs'
//! strobe, the fog machine, webhooks) or to a kill the disruption budget refused (the kiosk's
//! guard scene). A bounded broadcast: a slow listener misses announcements, it never delays a
//! kill or the HTTP answer.
//!
//! May call: nothing else of the crate.

use super::eviction::BudgetRefusal;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many announcements a listener may fall behind before it misses some.
const CAPACITY: usize = 64;

/// The pod a chaos action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChaosTarget {
    pub namespace: String,
    pub name: String,
    /// The StatefulSet ordinal, which picks the LED group.
    pub index: Option<u32>,
    pub node: Option<String>,
}

/// Who pressed the chaos button: shown on the kiosk, never more than a first name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Presser {
    /// The red buzzer, `/chaos`, or staff on the control panel.
    Button,
    /// Attract mode pressed it because nobody had for a while.
    Autopilot,
    /// A visitor, with the one-time press their sign-up earned.
    Visitor {
        #[serde(rename = "firstName")]
        first_name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChaosEvent {
    /// A pod was picked; its delete is about to be sent, unless this is a dry run (chaos
    /// safety's rehearsal setting), which deletes nothing.
    Picked { target: ChaosTarget, by: Presser, dry_run: bool },
    /// The API accepted the eviction or delete; `kill_count` is the booth's counter including
    /// this kill.
    Killed { target: ChaosTarget, at: jiff::Timestamp, kill_count: u64, by: Presser },
    /// The API refused the picked pod's eviction: its disruption budget held. Nothing was
    /// killed, so nothing that reacts to kills (the LEDs' strobe, the fog, webhooks) reacts.
    Refused { target: ChaosTarget, by: Presser, budget: BudgetRefusal },
}

/// The process-wide channel of chaos announcements. Cheap to clone.
#[derive(Clone)]
pub struct ChaosBus {
    sender: broadcast::Sender<ChaosEvent>,
}

impl Default for ChaosBus {
    fn default() -> Self {
        Self::new()
    }
}

impl ChaosBus {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(CAPACITY).0 }
    }

    /// Tells every listener; having none is fine.
    pub fn announce(&self, event: ChaosEvent) {
        let _ = self.sender.send(event);
    }

    /// A listener of the announcements from now on.
    pub fn listen(&self) -> ChaosListener {
        ChaosListener { receiver: self.sender.subscribe(), missed: 0 }
    }
}

/// A kill, as [`ChaosEvent::Killed`] announces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kill {
    pub target: ChaosTarget,
    pub at: jiff::Timestamp,
    pub kill_count: u64,
    pub by: Presser,
}

/// One listener of the [`ChaosBus`]: the announcements in order. What a slow listener missed
/// is passed over and counted, never waited for.
pub struct ChaosListener {
    receiver: broadcast::Receiver<ChaosEvent>,
    missed: u64,
}

impl ChaosListener {
    /// The next announcement; `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<ChaosEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => self.missed += missed,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next kill, passing over the other announcements; `None` once the bus is gone.
    pub(crate) async fn next_kill(&mut self) -> Option<Kill> {
        loop {
            if let ChaosEvent::Killed { target, at, kill_count, by } = self.next().await? {
                return Some(Kill { target, at, kill_count, by });
            }
        }
    }

    /// The announcements this listener missed by falling behind, so far.
    pub(crate) fn missed(&self) -> u64 {
        self.missed
    }

    /// The next announcement if one is waiting (tests look at what a press announced).
    #[cfg(test)]
    pub(crate) fn try_next(&mut self) -> Option<ChaosEvent> {
        self.receiver.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> ChaosTarget {
        ChaosTarget { namespace: "demopod".into(), name: "critical-prod-1".into(), index: Some(1), node: None }
    }

    fn killed(kill_count: u64) -> ChaosEvent {
        ChaosEvent::Killed { target: target(), at: jiff::Timestamp::UNIX_EPOCH, kill_count, by: Presser::Button }
    }

    #[tokio::test]
    async fn a_listener_gets_kills_in_order_counts_what_it_missed_and_ends_with_the_bus() {
        let bus = ChaosBus::new();
        let mut slow = bus.listen();
        let mut kills = bus.listen();
        bus.announce(ChaosEvent::Picked { target: target(), by: Presser::Button, dry_run: false });
        bus.announce(killed(1));
        assert_eq!(kills.next_kill().await.map(|k| k.kill_count), Some(1), "Picked is passed over");
        for n in 2..(CAPACITY as u64 + 12) {
            bus.announce(killed(n));
        }
        assert!(matches!(slow.next().await, Some(ChaosEvent::Killed { .. })));
        assert_eq!(slow.missed(), 12, "the oldest were overwritten while it slept");
        drop(bus);
        while slow.next().await.is_some() {}
        assert_eq!(kills.next_kill().await.map(|k| k.kill_count), Some(12), "what was kept before the end still comes");
        assert_eq!(kills.missed(), 10);
        assert!(slow.next().await.is_none(), "the bus is gone");
    }
}
