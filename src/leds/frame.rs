//! LED frames: the colours of a whole strip at one moment, as a pure function of (the pods, the
//! time, the settings, the running effects). The BlinkStick layout maps StatefulSet ordinals to
//! groups of LEDs; the Blinkt! layout shows the pods of one node, one LED each.
//!
//! Time is a `Duration` since the renderer started, so blinking, strobes and fades are
//! reproducible in tests. No I/O here.
//!
//! May call: `crate::cluster`.

use super::colour::{Colours, Look, Rgb};
use crate::cluster::PodView;
use serde::Serialize;
use serde::ser::SerializeSeq;
use std::collections::BTreeMap;
use std::time::Duration;

/// A Terminating pod blinks: on for half of this period, off for the other half.
pub(crate) const BLINK_PERIOD: Duration = Duration::from_millis(500);
/// How long the chaos strobe of a picked pod lasts.
pub(crate) const STROBE_DURATION: Duration = Duration::from_millis(1200);
/// The strobe flashes white and off, each for half of this period.
pub(crate) const STROBE_PERIOD: Duration = Duration::from_millis(100);
/// How long a new pod takes to fade in on the Blinkt!.
pub(crate) const FADE_IN: Duration = Duration::from_millis(1000);
/// The Blinkt! has eight LEDs.
pub(crate) const BLINKT_LEDS: usize = 8;
/// A NotReady node shows all its LEDs red at this share (per mille) of the palette's red.
const NOT_READY_DIM_PER_MILLE: u32 = 250;

/// The colours of a strip, LED 0 first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame(pub Vec<Rgb>);

impl Frame {
    pub fn off(leds: usize) -> Self {
        Self(vec![Rgb::OFF; leds])
    }

    pub fn leds(&self) -> &[Rgb] {
        &self.0
    }
}

/// `/api/state`'s `leds`: `[{"index": 0, "color": "#00ff00"}, ...]`.
impl Serialize for Frame {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Led {
            index: usize,
            color: Rgb,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (index, color) in self.0.iter().enumerate() {
            seq.serialize_element(&Led { index, color: *color })?;
        }
        seq.end()
    }
}

/// Whether the blink of a Terminating pod is in its lit half at `at`.
fn blink_on(at: Duration) -> bool {
    (at.as_millis() / (BLINK_PERIOD.as_millis() / 2)).is_multiple_of(2)
}

/// The colour of `look` at `at`, blinking applied, before brightness.
fn look_colour(look: Look, colours: &Colours, at: Duration) -> Rgb {
    match look {
        Look::Terminating if !blink_on(at) => Rgb::OFF,
        look => colours.palette.colour(look),
    }
}

/// How the BlinkStick's LEDs are split between the StatefulSet ordinals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLayout {
    /// LEDs per pod ordinal (`BLINKSTICK_GROUP_LED`).
    pub group: usize,
    /// LEDs on the strip (`BLINKSTICK_TOTAL_LED`).
    pub total: usize,
    /// Ordinal 0 at the far end of the strip.
    pub(crate) reversed: bool,
}

impl Default for GroupLayout {
    fn default() -> Self {
        Self { group: 3, total: 15, reversed: false }
    }
}

/// Chaos strobes in progress: ordinal → when the pod was picked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Strobes(BTreeMap<u32, Duration>);

impl Strobes {
    pub fn start(&mut self, ordinal: u32, at: Duration) {
        self.0.insert(ordinal, at);
    }

    /// Forgets strobes that are over by `at`.
    pub(crate) fn expire(&mut self, at: Duration) {
        self.0.retain(|_, started| at.saturating_sub(*started) < STROBE_DURATION);
    }

    /// The strobe colour of `ordinal` at `at`, if it is strobing: white and off alternating.
    fn colour(&self, ordinal: u32, at: Duration) -> Option<Rgb> {
        let started = *self.0.get(&ordinal)?;
        let elapsed = at.checked_sub(started)?;
        if elapsed >= STROBE_DURATION {
            return None;
        }
        let lit = (elapsed.as_millis() / (STROBE_PERIOD.as_millis() / 2)).is_multiple_of(2);
        Some(if lit { Rgb::new(0xff, 0xff, 0xff) } else { Rgb::OFF })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The BlinkStick frame: group `i` shows the pod with ordinal `i` (the first by name if several
/// share it); LEDs beyond the pods stay off.
pub(crate) fn group_frame(
    pods: &[PodView],
    at: Duration,
    colours: &Colours,
    layout: &GroupLayout,
    strobes: &Strobes,
) -> Frame {
    let mut by_ordinal: BTreeMap<u32, &PodView> = BTreeMap::new();
    for pod in pods {
        if let Some(index) = pod.index {
            by_ordinal.entry(index).and_modify(|p| *p = if pod.name < p.name { pod } else { p }).or_insert(pod);
        }
    }
    let mut leds = vec![Rgb::OFF; layout.total];
    for (position, led) in leds.iter_mut().enumerate() {
        let Some(ordinal) = position.checked_div(layout.group).and_then(|o| u32::try_from(o).ok()) else {
            continue;
        };
        let colour = strobes
            .colour(ordinal, at)
            .unwrap_or_else(|| look_colour(Look::of(by_ordinal.get(&ordinal).copied()), colours, at));
        *led = colours.shown(colour);
    }
    if layout.reversed {
        leds.reverse();
    }
    Frame(leds)
}

/// Whether a group frame changes with time alone (something blinks or strobes).
pub(crate) fn group_animating(pods: &[PodView], strobes: &Strobes) -> bool {
    !strobes.is_empty() || pods.iter().any(|p| p.index.is_some() && Look::of(Some(p)) == Look::Terminating)
}

/// The order of a node's pods on its Blinkt!: ordinal, then name (pods without one last).
pub(crate) fn blinkt_order(pods: &[PodView]) -> Vec<&PodView> {
    let mut ordered: Vec<&PodView> = pods.iter().collect();
    ordered.sort_by(|a, b| (a.index.unwrap_or(u32::MAX), &a.name).cmp(&(b.index.unwrap_or(u32::MAX), &b.name)));
    ordered
}

/// When each pod (by uid) was first seen, for the fade-in of new pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstSeen(BTreeMap<String, Duration>);

impl FirstSeen {
    /// Records pods not seen before at `at` and forgets pods that are gone.
    pub fn update(&mut self, pods: &[PodView], at: Duration) {
        self.0.retain(|uid, _| pods.iter().any(|p| &p.uid == uid));
        for pod in pods {
            self.0.entry(pod.uid.clone()).or_insert(at);
        }
    }

    /// Brightness share (per mille) of a pod fading in at `at`: 0 when new, 1000 after [`FADE_IN`].
    fn fade_per_mille(&self, uid: &str, at: Duration) -> u32 {
        match self.0.get(uid) {
            Some(since) => {
                let elapsed = at.saturating_sub(*since).as_millis().min(FADE_IN.as_millis());
                (elapsed * 1000 / FADE_IN.as_millis()) as u32
            }
            None => 1000,
        }
    }

    fn fading(&self, at: Duration) -> bool {
        self.0.values().any(|since| at.saturating_sub(*since) < FADE_IN)
    }
}

/// The Blinkt! frame of one node: LED `i` shows the `i`-th pod in [`blinkt_order`] (its
/// `blinktColor` label wins over its state's colour, except that Terminating still blinks);
/// a NotReady node shows every LED dim red.
pub(crate) fn node_frame(
    pods: &[PodView],
    node_ready: bool,
    at: Duration,
    colours: &Colours,
    seen: &FirstSeen,
) -> Frame {
    if !node_ready {
        let red = colours.shown(colours.palette.failed.scaled(NOT_READY_DIM_PER_MILLE));
        return Frame(vec![red; BLINKT_LEDS]);
    }
    let mut leds = vec![Rgb::OFF; BLINKT_LEDS];
    for (led, pod) in leds.iter_mut().zip(blinkt_order(pods)) {
        let look = Look::of(Some(pod));
        let label = pod.blinkt_color.as_deref().and_then(|c| Rgb::parse_hex(c).ok());
        let colour = match (look, label) {
            (Look::Terminating, _) | (_, None) => look_colour(look, colours, at),
            (Look::Off, Some(_)) => Rgb::OFF,
            (_, Some(label)) => label,
        };
        *led = colours.shown(colour.scaled(seen.fade_per_mille(&pod.uid, at)));
    }
    Frame(leds)
}

/// Whether a node frame changes with time alone (a pod blinks or fades in).
pub(crate) fn node_animating(pods: &[PodView], node_ready: bool, at: Duration, seen: &FirstSeen) -> bool {
    node_ready
        && (seen.fading(at)
            || blinkt_order(pods).iter().take(BLINKT_LEDS).any(|p| Look::of(Some(p)) == Look::Terminating))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodPhase;

    fn pod(name: &str, index: Option<u32>, status: PodPhase, ready: bool) -> PodView {
        PodView {
            name: name.into(),
            namespace: "demopod".into(),
            status,
            index,
            node: Some("pico-1".into()),
            ready,
            restarts: 0,
            protected: false,
            uid: format!("uid-{name}"),
            blinkt_color: None,
            created: None,
        }
    }

    fn hex(frame: &Frame) -> Vec<String> {
        frame.leds().iter().map(Rgb::to_string).collect()
    }

    const G: &str = "#00ff00";
    const A: &str = "#ff8000";
    const Y: &str = "#ffff00";
    const R: &str = "#ff0000";
    const O: &str = "#000000";
    const W: &str = "#ffffff";

    #[test]
    fn ordinals_map_to_groups_of_leds_and_the_rest_stays_off() {
        let pods = [
            pod("web-0", Some(0), PodPhase::Running, true),
            pod("web-1", Some(1), PodPhase::Running, false),
            pod("web-3", Some(3), PodPhase::Pending, false),
            pod("web-4", Some(4), PodPhase::Failed, false),
            pod("web-9", Some(9), PodPhase::Running, true), // beyond the strip
            pod("other", None, PodPhase::Running, true),    // no ordinal: no group
        ];
        let frame =
            group_frame(&pods, Duration::ZERO, &Colours::default(), &GroupLayout::default(), &Strobes::default());
        assert_eq!(hex(&frame), [G, G, G, A, A, A, O, O, O, Y, Y, Y, R, R, R]);
        let layout = GroupLayout { group: 2, total: 7, reversed: true };
        let frame = group_frame(&pods, Duration::ZERO, &Colours::default(), &layout, &Strobes::default());
        assert_eq!(hex(&frame), [Y, O, O, A, A, G, G]);
        let serialised = serde_json::to_value(&frame).unwrap();
        assert_eq!(serialised[0], serde_json::json!({"index": 0, "color": Y}));
        assert_eq!(serialised.as_array().unwrap().len(), 7);
    }

    #[test]
    fn terminating_pods_blink_red() {
        let pods = [pod("web-0", Some(0), PodPhase::Terminating, true)];
        let layout = GroupLayout { group: 1, total: 1, reversed: false };
        let at = |ms| group_frame(&pods, Duration::from_millis(ms), &Colours::default(), &layout, &Strobes::default());
        assert_eq!(hex(&at(0)), [R]);
        assert_eq!(hex(&at(249)), [R]);
        assert_eq!(hex(&at(250)), [O]);
        assert_eq!(hex(&at(500)), [R]);
        assert!(group_animating(&pods, &Strobes::default()));
        assert!(!group_animating(&[pod("web-0", Some(0), PodPhase::Running, true)], &Strobes::default()));
    }

    #[test]
    fn a_chaos_strobe_flashes_the_picked_group_then_ends() {
        let pods = [pod("web-0", Some(0), PodPhase::Running, true), pod("web-1", Some(1), PodPhase::Running, true)];
        let layout = GroupLayout { group: 2, total: 4, reversed: false };
        let mut strobes = Strobes::default();
        strobes.start(1, Duration::from_millis(1000));
        let at = |ms, strobes: &Strobes| {
            hex(&group_frame(&pods, Duration::from_millis(ms), &Colours::default(), &layout, strobes))
        };
        assert_eq!(at(999, &strobes), [G, G, G, G]);
        assert_eq!(at(1000, &strobes), [G, G, W, W]);
        assert_eq!(at(1050, &strobes), [G, G, O, O]);
        assert_eq!(at(1100, &strobes), [G, G, W, W]);
        assert_eq!(at(2200, &strobes), [G, G, G, G]);
        strobes.expire(Duration::from_millis(2100));
        assert!(!strobes.is_empty());
        strobes.expire(Duration::from_millis(2200));
        assert!(strobes.is_empty());
    }

    #[test]
    fn brightness_applies_to_the_whole_frame() {
        let pods = [pod("web-0", Some(0), PodPhase::Running, true)];
        let colours = Colours { brightness_percent: 20, ..Colours::default() };
        let layout = GroupLayout { group: 1, total: 2, reversed: false };
        let frame = group_frame(&pods, Duration::ZERO, &colours, &layout, &Strobes::default());
        assert_eq!(hex(&frame), ["#003300", O]);
    }

    #[test]
    fn blinkt_shows_pods_in_ordinal_then_name_order_up_to_eight() {
        let mut pods: Vec<PodView> =
            (0..10).rev().map(|i| pod(&format!("web-{i}"), Some(i), PodPhase::Running, true)).collect();
        pods.push(pod("aaa", None, PodPhase::Pending, false));
        pods[9].status = PodPhase::Pending; // web-0
        let seen = FirstSeen::default();
        let frame = node_frame(&pods, true, Duration::ZERO, &Colours::default(), &seen);
        assert_eq!(hex(&frame), [Y, G, G, G, G, G, G, G]);
        let few = [pod("b", None, PodPhase::Running, true), pod("a", None, PodPhase::Pending, false)];
        assert_eq!(hex(&node_frame(&few, true, Duration::ZERO, &Colours::default(), &seen)), [Y, G, O, O, O, O, O, O]);
    }

    #[test]
    fn blinkt_colour_labels_override_the_state_colour_but_terminating_still_blinks() {
        let mut labelled = pod("web-0", Some(0), PodPhase::Running, true);
        labelled.blinkt_color = Some("0000FF".into());
        let mut bad_label = pod("web-1", Some(1), PodPhase::Running, true);
        bad_label.blinkt_color = Some("blue".into());
        let mut going = pod("web-2", Some(2), PodPhase::Terminating, true);
        going.blinkt_color = Some("0000FF".into());
        let pods = [labelled, bad_label, going];
        let seen = FirstSeen::default();
        let at = |ms| hex(&node_frame(&pods, true, Duration::from_millis(ms), &Colours::default(), &seen));
        assert_eq!(at(0)[..3], ["#0000ff", G, R]);
        assert_eq!(at(300)[..3], ["#0000ff", G, O]);
        assert!(node_animating(&pods, true, Duration::ZERO, &seen));
    }

    #[test]
    fn a_not_ready_node_shows_all_leds_dim_red() {
        let pods = [pod("web-0", Some(0), PodPhase::Running, true)];
        let frame = node_frame(&pods, false, Duration::ZERO, &Colours::default(), &FirstSeen::default());
        assert_eq!(hex(&frame), vec!["#400000"; 8]);
        assert!(!node_animating(&pods, false, Duration::ZERO, &FirstSeen::default()));
    }

    #[test]
    fn new_pods_fade_in_and_known_ones_do_not() {
        let old = pod("web-0", Some(0), PodPhase::Running, true);
        let new = pod("web-1", Some(1), PodPhase::Running, true);
        let mut seen = FirstSeen::default();
        seen.update(std::slice::from_ref(&old), Duration::from_secs(10));
        let pods = [old, new];
        seen.update(&pods, Duration::from_secs(20));
        let at =
            |ms: u64| hex(&node_frame(&pods, true, Duration::from_millis(20_000 + ms), &Colours::default(), &seen));
        assert_eq!(at(0)[..2], [G, O]);
        assert_eq!(at(500)[..2], [G, "#008000"]);
        assert_eq!(at(1000)[..2], [G, G]);
        assert!(node_animating(&pods, true, Duration::from_millis(20_500), &seen));
        assert!(!node_animating(&pods, true, Duration::from_millis(21_000), &seen));
        seen.update(&pods[..1], Duration::from_secs(30));
        assert_eq!(seen.0.len(), 1);
    }
}
