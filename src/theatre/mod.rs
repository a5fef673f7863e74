//! The kiosk's theatre: the one list of every event it plays ([`catalogue`]), the channel that
//! tells every kiosk to play one ([`Theatre`], the `scene` event of `/stream`), the director that
//! picks each chaos kill's animation once for all kiosks (`director`), and the harbour's
//! texts taken from the Booth: the flag and the QR card's call to action (`furniture`).
//!
//! The pictures themselves are drawn by `templates/static/kiosk.js`; this module decides what
//! plays, the page decides how it looks.
//!
//! May call: `crate::cluster` (the chaos bus), `crate::booth` (the Booth's spec), `crate::tasks`
//! (where the director runs).

pub mod catalogue;
pub(crate) mod director;
pub(crate) mod furniture;

pub use catalogue::{SCENES, SceneInfo, SceneKind};

use serde::Serialize;
use tokio::sync::broadcast;

/// How many cues a slow kiosk stream may fall behind before it misses some.
const CAPACITY: usize = 16;

/// "Play this event": the payload of the kiosk stream's `scene` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cue {
    /// A name from the [`catalogue`].
    pub name: &'static str,
    /// For a kill animation: the pod whose container it plays on. `None` for everything else,
    /// and for a kill animation staff preview on the control panel (played on a drill crate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// A scene name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scene {0:?}")]
pub(crate) struct UnknownScene(pub String);

/// The process-wide scene channel. Cheap to clone.
#[derive(Clone)]
pub struct Theatre {
    cues: broadcast::Sender<Cue>,
}

/// Starts the director, which turns the chaos bus's kills into the kiosk's scenes until the
/// token of `tasks` fires; returns the scene channel the kiosks play from.
pub(crate) fn start(bus: &crate::cluster::ChaosBus, tasks: &crate::tasks::Tasks) -> Theatre {
    let theatre = Theatre::new();
    tasks.spawn("theatre director", director::direct(bus.clone(), theatre.clone(), tasks.token().clone()));
    theatre
}

impl Default for Theatre {
    fn default() -> Self {
        Self::new()
    }
}

impl Theatre {
    pub fn new() -> Self {
        Self { cues: broadcast::channel(CAPACITY).0 }
    }

    /// Tells every kiosk to play the event `name` (staff on the control panel); no kiosk
    /// listening is fine.
    pub(crate) fn play(&self, name: &str) -> Result<&'static SceneInfo, UnknownScene> {
        let scene = catalogue::find(name).ok_or_else(|| UnknownScene(name.to_string()))?;
        self.cue(Cue { name: scene.name, pod: None });
        Ok(scene)
    }

    fn cue(&self, cue: Cue) {
        let _ = self.cues.send(cue);
    }

    /// The cues from now on (one receiver per kiosk stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Cue> {
        self.cues.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_can_play_any_event_by_name_and_nothing_else() {
        let theatre = Theatre::new();
        let mut kiosk = theatre.subscribe();
        for scene in SCENES {
            assert_eq!(theatre.play(scene.name), Ok(scene));
            assert_eq!(kiosk.try_recv().unwrap(), Cue { name: scene.name, pod: None });
        }
        assert_eq!(theatre.play("tsunami"), Err(UnknownScene("tsunami".into())));
        assert!(kiosk.try_recv().is_err(), "nothing sent for an unknown name");
        let json = serde_json::to_value(Cue { name: "storm", pod: None }).unwrap();
        assert_eq!(json, serde_json::json!({"name": "storm"}));
        let json = serde_json::to_value(Cue { name: "anvil", pod: Some("web-1".into()) }).unwrap();
        assert_eq!(json, serde_json::json!({"name": "anvil", "pod": "web-1"}));
    }
}
