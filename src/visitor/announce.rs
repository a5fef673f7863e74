//! The kiosk's visitor announcements ("Ada won the raffle", "Ada pressed the button!"): a
//! bounded broadcast the kiosk's `/stream` turns into `announce` events. First name and raffle
//! code only: the kiosk is a public screen.
//!
//! May call: nothing else of the crate.

use serde::Serialize;
use tokio::sync::broadcast;

/// What the kiosk announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    pub kind: AnnouncementKind,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AnnouncementKind {
    RaffleWinner,
    VisitorPress,
}

/// The process-wide channel of announcements. Cheap to clone.
#[derive(Clone)]
pub struct Announcements {
    sender: broadcast::Sender<Announcement>,
}

impl Announcements {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(16).0 }
    }

    /// Tells every kiosk; having none is fine.
    pub fn announce(&self, announcement: Announcement) {
        let _ = self.sender.send(announcement);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Announcement> {
        self.sender.subscribe()
    }
}

impl Default for Announcements {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_serialise_as_the_kiosk_expects() {
        let winner = Announcement {
            kind: AnnouncementKind::RaffleWinner,
            first_name: "Ada".into(),
            code: Some("BAKO-RIMU-TEZA".into()),
        };
        assert_eq!(
            serde_json::to_value(&winner).unwrap(),
            serde_json::json!({"kind": "raffleWinner", "firstName": "Ada", "code": "BAKO-RIMU-TEZA"})
        );
        let press = Announcement { kind: AnnouncementKind::VisitorPress, first_name: "Ada".into(), code: None };
        assert_eq!(
            serde_json::to_value(&press).unwrap(),
            serde_json::json!({"kind": "visitorPress", "firstName": "Ada"})
        );
    }
}
