//! What the harbour takes from the Booth: the name on the flag, the QR card's call to action
//! (`spec.callToAction`, edited on `/config`, seeded from `CALL_TO_ACTION`) and the show's pace
//! (`spec.showPace`: how often the page plays events of its own; kiosk.js's scheduler applies it
//! live, from the `booth` event).
//!
//! May call: `crate::booth`.

use crate::booth::values::sentence;
use crate::booth::{BoothSpec, DEFAULT_CALL_TO_ACTION, ShowPace};
pub(crate) use crate::booth::{CALL_TO_ACTION_MAX, check_call_to_action};

/// The name on the harbour's flag: the label header (the event's name), else the campaign,
/// else the project's name.
pub(crate) fn flag_name(spec: &BoothSpec) -> String {
    [&spec.label_header, &spec.campaign_name]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("conferenceli")
        .to_string()
}

/// The pace `/config` was sent: empty is the default, anything else but a pace's name is refused.
pub(crate) fn check_pace(value: &str) -> Result<ShowPace, String> {
    match value.trim() {
        "" => Ok(ShowPace::default()),
        name => name.parse().map_err(|error| sentence(&error)),
    }
}

/// The call to action the card shows (a Booth written before the field existed has none).
pub fn call_to_action(spec: &BoothSpec) -> String {
    check_call_to_action(&spec.call_to_action).unwrap_or_else(|_| DEFAULT_CALL_TO_ACTION.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_to_action_is_checked_with_a_clear_error() {
        assert_eq!(check_call_to_action("  Scan for stickers "), Ok("Scan for stickers".into()));
        assert_eq!(check_call_to_action(""), Ok(DEFAULT_CALL_TO_ACTION.into()));
        assert_eq!(check_call_to_action(&"é".repeat(60)), Ok("é".repeat(60)));
        let long = check_call_to_action(&"x".repeat(61)).unwrap_err();
        assert_eq!(long, "The call to action must be at most 60 characters.");
        assert!(check_call_to_action("two\nlines").unwrap_err().contains("single line"));
    }

    #[test]
    fn the_flag_names_the_event_then_the_campaign() {
        let mut spec = BoothSpec::default();
        assert_eq!(flag_name(&spec), "conferenceli");
        spec.campaign_name = "KubeCon EU".into();
        assert_eq!(flag_name(&spec), "KubeCon EU");
        spec.label_header = "Container Days".into();
        assert_eq!(flag_name(&spec), "Container Days");
        assert_eq!(call_to_action(&spec), DEFAULT_CALL_TO_ACTION);
        spec.call_to_action = "Win a Raspberry Pi".into();
        assert_eq!(call_to_action(&spec), "Win a Raspberry Pi");
    }

    #[test]
    fn the_pace_is_one_of_three_names_or_a_clear_error() {
        for (pace, name) in ShowPace::ALL.into_iter().zip(["lively", "calm", "still"]) {
            assert_eq!(check_pace(name), Ok(pace));
            assert_eq!(serde_json::to_value(pace).unwrap(), name, "the Booth spells it the same");
        }
        assert_eq!(check_pace(" calm "), Ok(ShowPace::Calm));
        assert_eq!(check_pace(""), Ok(ShowPace::Lively));
        assert_eq!(check_pace("frantic").unwrap_err(), "Unknown show pace \"frantic\": choose lively, calm or still.");
        assert_eq!(BoothSpec::default().show_pace, ShowPace::Lively);
        let old: BoothSpec = serde_json::from_value(serde_json::json!({"campaignName": "x"})).unwrap();
        assert_eq!(old.show_pace, ShowPace::Lively, "a Booth from before the field is lively");
    }
}
