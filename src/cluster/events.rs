//! Announcements of what the chaos button does, for everything that reacts to a kill (the LEDs'
//! strobe, the fog machine, webhooks). A bounded broadcast: a slow listener misses
//! announcements, it never delays a kill or the HTTP answer.

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
    /// A pod was picked; its delete is about to be sent.
    Picked { target: ChaosTarget, by: Presser },
    /// The API accepted the delete; `kill_count` is the booth's counter including this kill.
    Killed { target: ChaosTarget, at: jiff::Timestamp, kill_count: u64, by: Presser },
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

    pub fn subscribe(&self) -> broadcast::Receiver<ChaosEvent> {
        self.sender.subscribe()
    }
}
