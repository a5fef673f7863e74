//! The one list of every event the kiosk can play: its name (what `data-scene`, `/api/scenes`,
//! the control panel and the `scene` SSE event call it), its kind and what a visitor sees.
//! `templates/static/kiosk.js` draws each of them under the same name; the browser test checks
//! that the page knows exactly these.
//!
//! May call: nothing else of the crate.

use serde::Serialize;

/// When an event plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SceneKind {
    /// Played by the kiosk page itself at random, one at a time, a few a minute at most.
    Ambient,
    /// Rare: the page plays one now and then, or staff start it from the control panel.
    Cameo,
    /// Played on the container of a pod the chaos button killed (one per kill, see `director`).
    Kill,
    /// Played on the container of a pod whose eviction its disruption budget refused: the
    /// budget held (the page plays it on the `chaos` event's `refused`).
    Guard,
    /// Played on a node's ship when the node is drained (cordoned and emptied) or uncordoned,
    /// and on a container lifted off a drained node (the page plays them from the node and pod
    /// watch, whoever drained: the control panel or `kubectl drain`).
    Node,
}

impl SceneKind {
    /// The kind as `/api/scenes` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SceneKind::Ambient => "ambient",
            SceneKind::Cameo => "cameo",
            SceneKind::Kill => "kill",
            SceneKind::Guard => "guard",
            SceneKind::Node => "node",
        }
    }
}

/// One event of the theatre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SceneInfo {
    pub name: &'static str,
    pub kind: SceneKind,
    /// One line: what a visitor sees.
    pub(crate) description: &'static str,
}

const fn scene(name: &'static str, kind: SceneKind, description: &'static str) -> SceneInfo {
    SceneInfo { name, kind, description }
}

use SceneKind::{Ambient, Cameo, Guard, Kill, Node};

/// Every event, ambient ones first, then cameos, kill animations, the guard and the node scenes.
pub const SCENES: &[SceneInfo] = &[
    scene("seagulls", Ambient, "A flock of seagulls flaps across the sky."),
    scene("whale", Ambient, "A whale surfaces between the ships and blows a spout."),
    scene("sailboat", Ambient, "A white-sailed yacht glides along the horizon."),
    scene("pilot-boat", Ambient, "An orange pilot boat speeds through the foreground with a foaming wake."),
    scene("seaplane", Ambient, "A seaplane tows a banner reading \"kubectl get pods --watch\" across the sky."),
    scene("dolphins", Ambient, "Three dolphins leap out of the water one after the other."),
    scene("balloon", Ambient, "A hot-air balloon with a ship's wheel on it drifts up through the sky."),
    scene("crane-hoist", Ambient, "The quay crane's trolley runs out, lowers its hook and hoists a crate."),
    scene("rainbow", Ambient, "A rainbow fades in over the harbour and slowly fades away."),
    scene("bottle", Ambient, "A message in a bottle bobs past on the waves."),
    scene("jet", Ambient, "An airliner crosses high up, drawing a contrail."),
    scene("kayak", Ambient, "A kayaker paddles along the front of the harbour."),
    scene("storm", Cameo, "The sky darkens, rain sweeps in, lightning flashes and the ships roll."),
    scene("fireworks", Cameo, "Fireworks burst over the harbour with a thank-you banner."),
    scene("submarine", Cameo, "A yellow submarine surfaces, raises its periscope and dives again."),
    scene("zeppelin", Cameo, "A silver airship with the Kubernetes wheel cruises slowly over the harbour."),
    scene("aurora", Cameo, "Green and violet northern lights ripple across the sky."),
    scene("penguins", Cameo, "A line of penguins waddles along the water's edge."),
    scene("rocket", Cameo, "A rocket launches from behind the skyline on a trail of fire and smoke."),
    scene("ghost-ship", Cameo, "A translucent ghost ship with tattered sails drifts past and fades."),
    scene("torpedo", Kill, "A torpedo runs through the water to the container; a column of spray, then the blast."),
    scene("meteor", Kill, "A blazing meteor streaks down from the sky onto the container."),
    scene("tentacle", Kill, "A giant tentacle rises from the sea, curls over the container and slams down."),
    scene("orbital-laser", Kill, "A satellite paints the container with a red dot, then fires its beam."),
    scene("ufo", Kill, "A flying saucer hovers over the container, scans it with a green beam and zaps it."),
    scene("dynamite", Kill, "Dynamite appears on the container; the fuse fizzes down to the bang."),
    scene("anvil", Kill, "A cartoon anvil drops out of the sky onto the container: CLANG."),
    scene("shield", Guard, "The disruption budget's shield springs up around the container: Kubernetes said no."),
    scene("ship-departs", Node, "A drained node's ship, its containers lifted off, sails out of the harbour."),
    scene("container-lift", Node, "A drone lifts a container off a ship being drained, for another ship to take."),
    scene("ship-returns", Node, "An uncordoned node's ship sails back into its berth."),
];

/// The event called `name`.
pub fn find(name: &str) -> Option<&'static SceneInfo> {
    SCENES.iter().find(|s| s.name == name)
}

/// The events of one kind, in catalogue order.
pub(crate) fn of_kind(kind: SceneKind) -> impl Iterator<Item = &'static SceneInfo> {
    SCENES.iter().filter(move |s| s.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_fit_a_css_attribute_and_a_url_path() {
        let names: BTreeSet<&str> = SCENES.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SCENES.len(), "duplicate names");
        for scene in SCENES {
            assert!(
                scene.name.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !scene.name.is_empty(),
                "{}",
                scene.name
            );
            assert!(scene.description.ends_with('.') && scene.description.len() < 120, "{}", scene.name);
            assert_eq!(find(scene.name), Some(scene));
        }
        assert_eq!(find("tsunami"), None);
    }

    #[test]
    fn there_are_more_events_of_each_kind_than_the_python_kiosk_had() {
        // The Python kiosk: 10 ambient, 7 cameos, 5 kill animations.
        assert!(of_kind(Ambient).count() >= 11, "ambient");
        assert!(of_kind(Cameo).count() >= 8, "cameos");
        assert!(of_kind(Kill).count() >= 6, "kills");
        assert!(SCENES.len() > 22);
        assert!(of_kind(Guard).count() >= 1 && of_kind(Node).count() >= 2, "issue 25's scenes");
        // Ambient first, then cameos, kills, guard and node scenes: the control panel lists them
        // in this order.
        let kinds: Vec<SceneKind> = SCENES.iter().map(|s| s.kind).collect();
        let mut sorted = kinds.clone();
        sorted.sort_by_key(|k| *k as u8);
        assert_eq!(kinds, sorted);
    }

    #[test]
    fn a_scene_serialises_as_name_kind_and_description() {
        let json = serde_json::to_value(find("meteor").unwrap()).unwrap();
        assert_eq!(json["name"], "meteor");
        assert_eq!(json["kind"], "kill");
        assert!(json["description"].as_str().unwrap().contains("meteor"));
        for kind in [Ambient, Cameo, Kill, Guard, Node] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
