//! Attract mode and chaos safety, as Booth settings (`spec.attract`, `spec.chaosSafety`).
//!
//! - Attract mode: when nobody has pressed the chaos button for `idleMinutes` during booth hours
//!   (`opens`..`closes` on `weekdays`, in `timeZone`), the [`autopilot`] presses it through the
//!   same code path as the button, once per idle period, and stops the moment a person presses.
//! - Chaos safety: a pod younger than `minimumAgeSeconds` is never picked (chaoskube's
//!   `--minimum-age`), `dryRun` makes a press announce its pick without deleting anything, and
//!   `mode` says whether a press evicts the pod (its disruption budget may refuse) or deletes it.
//!
//! The rules are pure functions of the settings and the time (`in_booth_hours`,
//! `autopilot_due`); [`form`] reads what `/config` submits into them. The settings and their
//! types are the Booth's ([`crate::booth::AttractSettings`], [`crate::booth::ChaosSafety`]):
//! whatever reaches these rules is a valid time of day, weekday and time zone.
//!
//! May call: `crate::booth`, `crate::chaos` (the button the autopilot presses), `crate::cluster`
//! (the chaos announcements), `crate::tasks` (where the autopilot runs).

pub mod autopilot;
pub mod form;

pub use crate::booth::{AttractSettings, ChaosMode, ChaosSafety};
use crate::booth::{BoothHandle, TimeOfDay, Weekday};
use crate::chaos::{Chaos, ChaosActions};
use crate::cluster::ChaosBus;
use crate::tasks::Tasks;
use std::sync::Arc;

/// Starts the autopilot, which presses `button` when the Booth's attract settings say so, until
/// the token of `tasks` fires.
pub(crate) fn start<A: ChaosActions + 'static>(
    button: Arc<Chaos<A>>,
    booth: BoothHandle,
    bus: ChaosBus,
    tasks: &Tasks,
) {
    tasks.spawn("attract autopilot", autopilot::run(button, booth, bus, tasks.token().clone()));
}

/// Whether `now` falls in the booth hours: a listed weekday, at or after `opens` and before
/// `closes`, both in the settings' time zone.
pub(crate) fn in_booth_hours(settings: &AttractSettings, now: jiff::Timestamp) -> bool {
    let local = now.to_zoned(settings.time_zone.zone().clone());
    let minute = TimeOfDay::of(local.time());
    settings.weekdays.contains(&Weekday::of(local.weekday())) && settings.opens <= minute && minute < settings.closes
}

/// Whether the autopilot presses now: attract mode on, booth hours, and nobody (neither a person
/// nor the autopilot) pressed for the idle time since `last_press`.
pub(crate) fn autopilot_due(settings: &AttractSettings, now: jiff::Timestamp, last_press: jiff::Timestamp) -> bool {
    settings.enabled
        && in_booth_hours(settings, now)
        && now.duration_since(last_press) >= settings.idle_minutes.duration()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booth::IdleMinutes;

    fn hours(opens: &str, closes: &str, days: &[&str], zone: &str) -> AttractSettings {
        AttractSettings {
            enabled: true,
            idle_minutes: IdleMinutes::new(1.0).unwrap(),
            opens: opens.parse().unwrap(),
            closes: closes.parse().unwrap(),
            weekdays: days.iter().map(|d| d.parse().unwrap()).collect(),
            time_zone: zone.parse().unwrap(),
        }
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn booth_hours_are_local_to_the_time_zone() {
        // 2026-11-30 is a Monday. 08:30 UTC is 09:30 in Zurich (CET), 03:30 in New York (EST).
        let zurich = hours("09:00", "18:00", &["mon", "tue", "wed", "thu", "fri"], "Europe/Zurich");
        assert!(in_booth_hours(&zurich, at("2026-11-30T08:30:00Z")));
        assert!(!in_booth_hours(&zurich, at("2026-11-30T07:59:00Z")), "08:59 in Zurich");
        assert!(in_booth_hours(&zurich, at("2026-11-30T08:00:00Z")), "opens at 09:00 sharp");
        assert!(!in_booth_hours(&zurich, at("2026-11-30T17:00:00Z")), "closed at 18:00 sharp");
        let new_york = hours("09:00", "18:00", &["mon"], "America/New_York");
        assert!(!in_booth_hours(&new_york, at("2026-11-30T08:30:00Z")));
        assert!(in_booth_hours(&new_york, at("2026-11-30T14:30:00Z")));
        // Summer time: 2026-07-06 (a Monday) 07:30 UTC is 09:30 CEST.
        assert!(in_booth_hours(&zurich, at("2026-07-06T07:30:00Z")));
        // 2026-12-31 23:30 UTC is already Friday 2027-01-01 in Tokyo (08:30, before opening).
        let tokyo = hours("08:00", "24:00", &["fri"], "Asia/Tokyo");
        assert!(in_booth_hours(&tokyo, at("2026-12-31T23:30:00Z")));
        assert!(!in_booth_hours(&tokyo, at("2026-12-31T14:30:00Z")), "Thursday in Tokyo");
    }

    #[test]
    fn weekdays_and_bad_settings_close_the_booth() {
        let weekend = hours("00:00", "24:00", &["sat", "sun"], "UTC");
        assert!(!in_booth_hours(&weekend, at("2026-11-30T12:00:00Z")), "Monday");
        assert!(in_booth_hours(&weekend, at("2026-11-29T23:59:00Z")), "Sunday");
        assert!(in_booth_hours(&weekend, at("2026-11-29T00:00:00Z")), "from midnight");
        // Bad settings never reach the rule: they are no settings (see `crate::booth::usable`).
        assert!("Mars/Olympus".parse::<crate::booth::TimeZoneName>().is_err());
        assert!("9:00".parse::<TimeOfDay>().is_err());
    }

    #[test]
    fn the_autopilot_waits_for_the_idle_time_and_booth_hours() {
        let settings = hours("09:00", "18:00", &["mon"], "UTC");
        let now = at("2026-11-30T12:00:00Z");
        assert!(autopilot_due(&settings, now, at("2026-11-30T11:59:00Z")));
        assert!(!autopilot_due(&settings, now, at("2026-11-30T11:59:01Z")), "pressed 59 s ago");
        assert!(!autopilot_due(&settings, at("2026-11-30T19:00:00Z"), at("2026-11-30T12:00:00Z")), "closed");
        let off = AttractSettings { enabled: false, ..settings.clone() };
        assert!(!autopilot_due(&off, now, at("2026-11-30T10:00:00Z")));
        let seconds = AttractSettings { idle_minutes: IdleMinutes::new(0.05).unwrap(), ..settings };
        assert!(autopilot_due(&seconds, now, at("2026-11-30T11:59:57Z")), "3 s idle");
    }
}
