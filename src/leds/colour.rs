//! The colour model shared by the BlinkStick and the Blinkt!: what colour a pod's state shows,
//! the configurable palette and the global brightness. Pure data and functions, no I/O.
//!
//! May call: `crate::cluster`.

use crate::cluster::{PodPhase, PodView};
use serde::{Serialize, Serializer};
use std::fmt;

/// Why a colour or palette setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColourError {
    #[error("expected a colour as six hex digits such as ff0000 or #ff0000, got {0:?}")]
    Hex(String),
    #[error("expected state=rrggbb pairs separated by commas (states: {states}), got {entry:?}")]
    Entry { entry: String, states: &'static str },
}

/// One LED's colour, 8 bits per channel, as the LED shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const OFF: Rgb = Rgb { r: 0, g: 0, b: 0 };

    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// Parses `rrggbb` or `#rrggbb` (either case), as the `blinktColor` label and `LED_PALETTE` use.
    pub(crate) fn parse_hex(text: &str) -> Result<Self, ColourError> {
        let digits = text.trim().trim_start_matches('#');
        let valid = digits.len() == 6 && digits.chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(ColourError::Hex(text.to_string()));
        }
        let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| ColourError::Hex(text.into()));
        Ok(Self { r: channel(0)?, g: channel(2)?, b: channel(4)? })
    }

    /// Scales every channel by `per_mille` / 1000, rounding to nearest.
    pub(crate) fn scaled(self, per_mille: u32) -> Self {
        let per_mille = per_mille.min(1000);
        let scale = |c: u8| ((u32::from(c) * per_mille + 500) / 1000) as u8;
        Self { r: scale(self.r), g: scale(self.g), b: scale(self.b) }
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What a pod's LEDs say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// No pod (or a completed one): the LEDs are off.
    Off,
    /// Running and Ready.
    Ready,
    /// Running but not Ready, or in an unknown phase.
    NotReady,
    Pending,
    /// On its way out: red, blinking.
    Terminating,
    Failed,
}

impl Look {
    /// The state table of the booth: Running and Ready green, Running not Ready amber, Pending
    /// yellow, Terminating red blinking, Failed red, no pod off.
    pub(crate) fn of(pod: Option<&PodView>) -> Self {
        let Some(pod) = pod else { return Look::Off };
        match pod.status {
            PodPhase::Running if pod.ready => Look::Ready,
            PodPhase::Running | PodPhase::Unknown => Look::NotReady,
            PodPhase::Pending => Look::Pending,
            PodPhase::Terminating => Look::Terminating,
            PodPhase::Failed => Look::Failed,
            PodPhase::Succeeded => Look::Off,
        }
    }
}

/// The colour of each look. `LED_PALETTE` overrides entries: `ready=00ff00,terminating=ff00ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub ready: Rgb,
    pub not_ready: Rgb,
    pub(crate) pending: Rgb,
    pub terminating: Rgb,
    pub failed: Rgb,
}

const PALETTE_KEYS: &str = "ready, not-ready, pending, terminating, failed";

impl Default for Palette {
    fn default() -> Self {
        Self {
            ready: Rgb::new(0x00, 0xff, 0x00),
            not_ready: Rgb::new(0xff, 0x80, 0x00),
            pending: Rgb::new(0xff, 0xff, 0x00),
            terminating: Rgb::new(0xff, 0x00, 0x00),
            failed: Rgb::new(0xff, 0x00, 0x00),
        }
    }
}

impl Palette {
    /// The default palette with the entries of `spec` replaced; an empty spec changes nothing.
    pub fn parse(spec: &str) -> Result<Self, ColourError> {
        let mut palette = Palette::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || ColourError::Entry { entry: entry.to_string(), states: PALETTE_KEYS };
            let (key, value) = entry.split_once('=').ok_or_else(bad)?;
            let colour = Rgb::parse_hex(value)?;
            let slot = match key.trim() {
                "ready" => &mut palette.ready,
                "not-ready" => &mut palette.not_ready,
                "pending" => &mut palette.pending,
                "terminating" => &mut palette.terminating,
                "failed" => &mut palette.failed,
                _ => return Err(bad()),
            };
            *slot = colour;
        }
        Ok(palette)
    }

    /// The steady colour of a look (blinking is applied by the frame, which knows the time).
    pub fn colour(&self, look: Look) -> Rgb {
        match look {
            Look::Off => Rgb::OFF,
            Look::Ready => self.ready,
            Look::NotReady => self.not_ready,
            Look::Pending => self.pending,
            Look::Terminating => self.terminating,
            Look::Failed => self.failed,
        }
    }
}

/// Palette plus global brightness (percent, applied to every colour the LEDs show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colours {
    pub palette: Palette,
    pub brightness_percent: u8,
}

impl Default for Colours {
    fn default() -> Self {
        Self { palette: Palette::default(), brightness_percent: 100 }
    }
}

/// Night mode (the Booth's `nightMode`) runs the LEDs at this share of the set brightness.
const NIGHT_SHARE_PERCENT: u16 = 25;

impl Colours {
    /// The same colours dimmed for night mode.
    pub(crate) fn at_night(self) -> Self {
        let dimmed = u16::from(self.brightness_percent) * NIGHT_SHARE_PERCENT / 100;
        Self { brightness_percent: dimmed as u8, ..self }
    }

    /// `colour` at the global brightness.
    pub fn shown(&self, colour: Rgb) -> Rgb {
        colour.scaled(u32::from(self.brightness_percent) * 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: PodPhase, ready: bool) -> PodView {
        PodView {
            name: "p-0".into(),
            namespace: "ns".into(),
            status,
            index: Some(0),
            node: None,
            ready,
            restarts: 0,
            protected: false,
            uid: "u".into(),
            blinkt_color: None,
            created: None,
        }
    }

    #[test]
    fn the_state_table() {
        let palette = Palette::default();
        let table = [
            (Some(pod(PodPhase::Running, true)), Look::Ready, "#00ff00"),
            (Some(pod(PodPhase::Running, false)), Look::NotReady, "#ff8000"),
            (Some(pod(PodPhase::Unknown, false)), Look::NotReady, "#ff8000"),
            (Some(pod(PodPhase::Pending, false)), Look::Pending, "#ffff00"),
            (Some(pod(PodPhase::Terminating, true)), Look::Terminating, "#ff0000"),
            (Some(pod(PodPhase::Failed, false)), Look::Failed, "#ff0000"),
            (Some(pod(PodPhase::Succeeded, false)), Look::Off, "#000000"),
            (None, Look::Off, "#000000"),
        ];
        for (pod, look, colour) in table {
            assert_eq!(Look::of(pod.as_ref()), look, "{pod:?}");
            assert_eq!(palette.colour(look).to_string(), colour, "{look:?}");
        }
    }

    #[test]
    fn palette_entries_can_be_overridden_and_bad_ones_are_named() {
        let palette = Palette::parse("ready=0000FF, terminating=#ff00ff").unwrap();
        assert_eq!(palette.ready, Rgb::new(0, 0, 0xff));
        assert_eq!(palette.terminating, Rgb::new(0xff, 0, 0xff));
        assert_eq!(palette.pending, Palette::default().pending);
        assert_eq!(Palette::parse("").unwrap(), Palette::default());
        assert!(matches!(Palette::parse("blue=0000ff"), Err(ColourError::Entry { .. })));
        assert!(matches!(Palette::parse("ready"), Err(ColourError::Entry { .. })));
        assert_eq!(Palette::parse("ready=00ff0g"), Err(ColourError::Hex("00ff0g".into())));
    }

    #[test]
    fn brightness_scales_every_channel() {
        let half = Colours { brightness_percent: 50, ..Colours::default() };
        assert_eq!(half.shown(Rgb::new(0xff, 0x80, 0x01)), Rgb::new(0x80, 0x40, 0x01));
        let off = Colours { brightness_percent: 0, ..Colours::default() };
        assert_eq!(off.shown(Rgb::new(0xff, 0xff, 0xff)), Rgb::OFF);
        assert_eq!(Colours::default().shown(Rgb::new(1, 2, 3)), Rgb::new(1, 2, 3));
        let night = Colours { brightness_percent: 80, ..Colours::default() }.at_night();
        assert_eq!(night.brightness_percent, 20);
        assert_eq!(night.shown(Rgb::new(0xff, 0, 0)), Rgb::new(0x33, 0, 0));
        assert_eq!(serde_json::to_string(&Rgb::new(0xab, 0, 0x0c)).unwrap(), "\"#ab000c\"");
        assert_eq!(Rgb::parse_hex("FF0000").unwrap(), Rgb::new(0xff, 0, 0));
    }
}
