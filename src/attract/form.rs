//! The attract-mode and chaos-safety fieldset of `/config`: what the form submits and how it
//! is read into the Booth's typed settings (pure, with a clear message per problem).
//!
//! May call: `crate::booth` (the settings' types).

use super::{AttractSettings, ChaosMode, ChaosSafety};
use crate::booth::values::sentence;
use crate::booth::{IdleMinutes, TimeOfDay, TimeZoneName, Weekday};
use serde::Deserialize;

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
        let flag = |on: bool| if on { "on".to_string() } else { String::new() };
        let day = |day: Weekday| flag(attract.weekdays.contains(&day));
        Self {
            attract_enabled: flag(attract.enabled),
            attract_idle_minutes: attract.idle_minutes.minutes().to_string(),
            attract_opens: attract.opens.to_string(),
            attract_closes: attract.closes.to_string(),
            attract_time_zone: attract.time_zone.to_string(),
            attract_mon: day(Weekday::Mon),
            attract_tue: day(Weekday::Tue),
            attract_wed: day(Weekday::Wed),
            attract_thu: day(Weekday::Thu),
            attract_fri: day(Weekday::Fri),
            attract_sat: day(Weekday::Sat),
            attract_sun: day(Weekday::Sun),
            chaos_minimum_age_seconds: safety.minimum_age_seconds.to_string(),
            chaos_dry_run: flag(safety.dry_run),
            chaos_mode: safety.mode.to_string(),
            attract_fieldset: "1".into(),
        }
    }

    /// The checkbox of each weekday, Monday first.
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
    pub(crate) fn days(&self) -> Vec<(&'static str, String, bool)> {
        Weekday::ALL
            .into_iter()
            .zip(self.day_values())
            .map(|(day, value)| {
                let name = day.name();
                (name, name[..1].to_uppercase() + &name[1..], ticked(value))
            })
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
        ChaosMode::ALL.map(|mode| (mode.name(), mode_label(mode), mode.name() == chosen))
    }
}

/// How the form describes each chaos mode.
fn mode_label(mode: ChaosMode) -> &'static str {
    match mode {
        ChaosMode::Evict => "Evict: the disruption budget may say no",
        ChaosMode::Delete => "Delete: no disruption budget applies",
    }
}

/// Reads the fieldset into the settings; every problem gets its own message naming the field,
/// and nothing is returned unless all is well.
pub fn validate(input: &AttractInput) -> Result<(AttractSettings, ChaosSafety), Vec<String>> {
    let mut errors = Vec::new();
    let idle_minutes = input.attract_idle_minutes.trim().parse().ok().and_then(|m| IdleMinutes::new(m).ok());
    if idle_minutes.is_none() {
        errors.push(format!(
            "The idle time must be a number of minutes from {} to {} (decimals allowed, such as 2.5).",
            IdleMinutes::MIN,
            IdleMinutes::MAX
        ));
    }
    let opens = input.attract_opens.trim().parse::<TimeOfDay>().ok();
    if opens.is_none() {
        errors.push("The opening time must be a time of day such as 09:00.".into());
    }
    let closes = input.attract_closes.trim().parse::<TimeOfDay>().ok();
    if closes.is_none() {
        errors.push("The closing time must be a time of day such as 18:00 (24:00 for midnight).".into());
    }
    let time_zone = input.attract_time_zone.trim().parse::<TimeZoneName>().map_err(|e| errors.push(sentence(&e))).ok();
    let weekdays: Vec<Weekday> =
        Weekday::ALL.into_iter().zip(input.day_values()).filter(|(_, v)| ticked(v)).map(|(day, _)| day).collect();
    if input.enabled() && weekdays.is_empty() {
        errors.push("Attract mode needs at least one weekday.".into());
    }
    let minimum_age_seconds = match input.chaos_minimum_age_seconds.trim() {
        "" => Some(0),
        text => text.parse::<u64>().ok().filter(|s| *s <= ChaosSafety::MAX_MINIMUM_AGE_SECONDS),
    };
    if minimum_age_seconds.is_none() {
        errors.push(format!(
            "The minimum pod age must be a whole number of seconds from 0 to {}.",
            ChaosSafety::MAX_MINIMUM_AGE_SECONDS
        ));
    }
    let mode = match input.chaos_mode.trim() {
        "" => Some(ChaosMode::Evict),
        text => text.parse().map_err(|error| errors.push(sentence(&error))).ok(),
    };
    let (Some(idle_minutes), Some(opens), Some(closes), Some(time_zone), Some(minimum_age_seconds), Some(mode)) =
        (idle_minutes, opens, closes, time_zone, minimum_age_seconds, mode)
    else {
        return Err(errors);
    };
    let attract = AttractSettings { enabled: input.enabled(), idle_minutes, opens, closes, weekdays, time_zone };
    if let Err(hours) = attract.check() {
        errors.push(sentence(&hours));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((attract, ChaosSafety { minimum_age_seconds, dry_run: input.dry_run(), mode }))
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
    fn good_settings_become_typed_settings() {
        let (attract, safety) = validate(&good()).unwrap();
        assert_eq!(attract.weekdays, [Weekday::Mon, Weekday::Fri]);
        assert_eq!(attract.idle_minutes.minutes(), 0.5);
        assert_eq!(safety, ChaosSafety { minimum_age_seconds: 30, dry_run: true, mode: ChaosMode::Delete });
        assert_eq!(attract.time_zone.to_string(), "Europe/Zurich");
        assert_eq!((attract.opens.to_string(), attract.closes.to_string()), ("09:00".into(), "24:00".into()));
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
        assert!(bad(|i| i.attract_opens = "24:00".into()).contains("close after it opens"));
        assert!(bad(|i| i.attract_closes = "25:00".into()).contains("closing time"));
        assert!(bad(|i| i.attract_time_zone = "Mars/Olympus".into()).contains("Unknown time zone"));
        assert!(bad(|i| i.attract_time_zone = String::new()).contains("Unknown time zone"));
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
