//! The attract-mode and chaos-safety fieldset of `/config`: what the form submits, its checks
//! (pure, with a clear message per problem), and the Booth spec patch it becomes.
//!
//! May call: nothing else of the crate.

use super::{AttractSettings, ChaosMode, ChaosSafety, WEEKDAYS, minutes_of_day};
use serde::Deserialize;

/// Longest idle time the autopilot may wait, in minutes (a day).
const MAX_IDLE_MINUTES: f64 = 1440.0;
/// Shortest idle time, in minutes (3 s: for rehearsals and tests).
const MIN_IDLE_MINUTES: f64 = 0.05;
/// Largest minimum pod age, in seconds (a day).
const MAX_MINIMUM_AGE_SECONDS: u64 = 86_400;

/// The fieldset as submitted (checkboxes are absent when unticked).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttractInput {
    pub(crate) attract_enabled: String,
    pub(crate) attract_idle_minutes: String,
    pub(crate) attract_opens: String,
    pub(crate) attract_closes: String,
    pub(crate) attract_time_zone: String,
    pub(crate) attract_mon: String,
    pub(crate) attract_tue: String,
    pub(crate) attract_wed: String,
    pub(crate) attract_thu: String,
    pub(crate) attract_fri: String,
    pub(crate) attract_sat: String,
    pub(crate) attract_sun: String,
    pub(crate) chaos_minimum_age_seconds: String,
    pub(crate) chaos_dry_run: String,
    /// `evict` or `delete` (empty: `evict`, the default).
    pub(crate) chaos_mode: String,
    /// Present when the form carried this fieldset: a form without it leaves these settings alone.
    pub(crate) attract_fieldset: String,
}

fn ticked(value: &str) -> bool {
    matches!(value, "on" | "true" | "yes" | "1")
}

impl AttractInput {
    /// The form's values for these settings (to show them).
    pub(crate) fn from_settings(attract: &AttractSettings, safety: &ChaosSafety) -> Self {
        let day =
            |name: &str| if attract.weekdays.iter().any(|d| d == name) { "on".to_string() } else { String::new() };
        let flag = |on: bool| if on { "on".to_string() } else { String::new() };
        Self {
            attract_enabled: flag(attract.enabled),
            attract_idle_minutes: attract.idle_minutes.to_string(),
            attract_opens: attract.opens.clone(),
            attract_closes: attract.closes.clone(),
            attract_time_zone: attract.time_zone.clone(),
            attract_mon: day("mon"),
            attract_tue: day("tue"),
            attract_wed: day("wed"),
            attract_thu: day("thu"),
            attract_fri: day("fri"),
            attract_sat: day("sat"),
            attract_sun: day("sun"),
            chaos_minimum_age_seconds: safety.minimum_age_seconds.to_string(),
            chaos_dry_run: flag(safety.dry_run),
            chaos_mode: mode_name(safety.mode).into(),
            attract_fieldset: "1".into(),
        }
    }

    fn day_values(&self) -> [&str; 7] {
        [
            &self.attract_mon,
            &self.attract_tue,
            &self.attract_wed,
            &self.attract_thu,
            &self.attract_fri,
            &self.attract_sat,
            &self.attract_sun,
        ]
    }

    /// `(name, label, ticked)` per weekday, for the form's checkboxes.
    pub(crate) fn days(&self) -> Vec<(&'static str, &'static str, bool)> {
        const LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        WEEKDAYS
            .iter()
            .zip(LABELS)
            .zip(self.day_values())
            .map(|(((name, _), label), v)| (*name, label, ticked(v)))
            .collect()
    }

    /// Whether the form carried this fieldset.
    pub fn submitted(&self) -> bool {
        !self.attract_fieldset.is_empty()
    }

    pub fn enabled(&self) -> bool {
        ticked(&self.attract_enabled)
    }

    pub fn dry_run(&self) -> bool {
        ticked(&self.chaos_dry_run)
    }

    /// `(value, label, selected)` per chaos mode, for the form's choice.
    pub(crate) fn modes(&self) -> [(&'static str, &'static str, bool); 2] {
        let chosen = match self.chaos_mode.trim() {
            "" => "evict",
            other => other,
        };
        MODES.map(|(value, _, label)| (value, label, value == chosen))
    }
}

/// The chaos modes as the form names and describes them.
const MODES: [(&str, ChaosMode, &str); 2] = [
    ("evict", ChaosMode::Evict, "Evict: the disruption budget may say no"),
    ("delete", ChaosMode::Delete, "Delete: no disruption budget applies"),
];

fn mode_name(mode: ChaosMode) -> &'static str {
    MODES.iter().find(|(_, m, _)| *m == mode).map_or("evict", |(name, _, _)| name)
}

/// Checks the fieldset; every problem gets its own message, and nothing is returned unless all
/// is well.
pub fn validate(input: &AttractInput) -> Result<(AttractSettings, ChaosSafety), Vec<String>> {
    let mut errors = Vec::new();
    let idle_minutes = match input.attract_idle_minutes.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && (MIN_IDLE_MINUTES..=MAX_IDLE_MINUTES).contains(&m) => m,
        _ => {
            errors.push(format!(
                "The idle time must be a number of minutes from {MIN_IDLE_MINUTES} to {MAX_IDLE_MINUTES} (decimals allowed, such as 2.5)."
            ));
            0.0
        }
    };
    let opens = minutes_of_day(&input.attract_opens);
    let closes = minutes_of_day(&input.attract_closes);
    if opens.is_none_or(|m| m >= 1440) {
        errors.push("The opening time must be a time of day such as 09:00.".into());
    }
    if closes.is_none() {
        errors.push("The closing time must be a time of day such as 18:00 (24:00 for midnight).".into());
    }
    if let (Some(opens), Some(closes)) = (opens, closes)
        && closes <= opens
    {
        errors.push("The booth must close after it opens (on the same day).".into());
    }
    let time_zone = input.attract_time_zone.trim().to_string();
    if jiff::tz::TimeZone::get(&time_zone).is_err() || time_zone.is_empty() || time_zone.len() > 64 {
        errors.push(format!("Unknown time zone {time_zone:?}: use an IANA name such as Europe/Zurich or UTC."));
    }
    let weekdays: Vec<String> =
        input.days().into_iter().filter(|(_, _, on)| *on).map(|(n, _, _)| n.to_string()).collect();
    if input.enabled() && weekdays.is_empty() {
        errors.push("Attract mode needs at least one weekday.".into());
    }
    let minimum_age_seconds = match input.chaos_minimum_age_seconds.trim() {
        "" => 0,
        text => match text.parse::<u64>() {
            Ok(s) if s <= MAX_MINIMUM_AGE_SECONDS => s,
            _ => {
                errors.push(format!(
                    "The minimum pod age must be a whole number of seconds from 0 to {MAX_MINIMUM_AGE_SECONDS}."
                ));
                0
            }
        },
    };
    let mode = match input.chaos_mode.trim() {
        "" => ChaosMode::Evict,
        text => MODES.iter().find(|(name, _, _)| *name == text).map(|(_, mode, _)| *mode).unwrap_or_else(|| {
            errors.push(format!("Unknown chaos mode {text:?}: choose evict or delete."));
            ChaosMode::Evict
        }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let attract = AttractSettings {
        enabled: input.enabled(),
        idle_minutes,
        opens: input.attract_opens.trim().into(),
        closes: input.attract_closes.trim().into(),
        weekdays,
        time_zone,
    };
    Ok((attract, ChaosSafety { minimum_age_seconds, dry_run: input.dry_run(), mode }))
}

/// The Booth spec merge patch of these settings.
pub(crate) fn to_patch(attract: &AttractSettings, safety: &ChaosSafety) -> serde_json::Value {
    serde_json::json!({"attract": attract, "chaosSafety": safety})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> AttractInput {
        AttractInput {
            attract_enabled: "on".into(),
            attract_idle_minutes: "0.5".into(),
            attract_opens: "09:00".into(),
            attract_closes: "24:00".into(),
            attract_time_zone: "Europe/Zurich".into(),
            attract_mon: "on".into(),
            attract_fri: "on".into(),
            chaos_minimum_age_seconds: "30".into(),
            chaos_dry_run: "on".into(),
            chaos_mode: "delete".into(),
            ..AttractInput::default()
        }
    }

    #[test]
    fn good_settings_become_the_patch() {
        let (attract, safety) = validate(&good()).unwrap();
        assert_eq!(attract.weekdays, ["mon", "fri"]);
        assert_eq!(attract.idle_minutes, 0.5);
        assert_eq!(safety, ChaosSafety { minimum_age_seconds: 30, dry_run: true, mode: ChaosMode::Delete });
        let patch = to_patch(&attract, &safety);
        assert_eq!(patch["attract"]["timeZone"], "Europe/Zurich");
        assert_eq!(patch["chaosSafety"]["minimumAgeSeconds"], 30);
        assert_eq!(patch["chaosSafety"]["mode"], "delete");
        let back = AttractInput::from_settings(&attract, &safety);
        assert_eq!(validate(&back).unwrap(), (attract, safety));
    }

    #[test]
    fn each_bad_value_gets_its_message() {
        let bad = |change: fn(&mut AttractInput)| {
            let mut input = good();
            change(&mut input);
            validate(&input).unwrap_err().join(" ")
        };
        assert!(bad(|i| i.attract_idle_minutes = "0".into()).contains("idle time"));
        assert!(bad(|i| i.attract_idle_minutes = "NaN".into()).contains("idle time"));
        assert!(bad(|i| i.attract_opens = "9am".into()).contains("opening time"));
        assert!(bad(|i| i.attract_closes = "08:00".into()).contains("close after it opens"));
        assert!(bad(|i| i.attract_time_zone = "Mars/Olympus".into()).contains("Unknown time zone"));
        assert!(
            bad(|i| {
                i.attract_mon.clear();
                i.attract_fri.clear();
            })
            .contains("weekday")
        );
        assert!(bad(|i| i.chaos_minimum_age_seconds = "-5".into()).contains("minimum pod age"));
        assert!(bad(|i| i.chaos_minimum_age_seconds = "999999".into()).contains("minimum pod age"));
        assert!(
            bad(|i| i.chaos_mode = "explode".into()).contains("Unknown chaos mode \"explode\": choose evict or delete")
        );
    }

    #[test]
    fn the_chaos_mode_is_evict_unless_the_form_says_delete() {
        let mut input = good();
        input.chaos_mode.clear();
        assert_eq!(validate(&input).unwrap().1.mode, ChaosMode::Evict, "a script that does not know the field");
        assert_eq!(input.modes().map(|(value, _, on)| (value, on)), [("evict", true), ("delete", false)]);
        input.chaos_mode = "delete".into();
        assert_eq!(input.modes().map(|(_, _, on)| on), [false, true]);
        let default = AttractInput::from_settings(&AttractSettings::default(), &ChaosSafety::default());
        assert_eq!(default.chaos_mode, "evict");
    }
}
