//! The harbour's texts that come from the Booth: the name on the flag and the QR card's call to
//! action (`spec.callToAction`, edited on `/config`, seeded from `CALL_TO_ACTION`).
//!
//! May call: `crate::booth`.

use crate::booth::{BoothSpec, DEFAULT_CALL_TO_ACTION};
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
}
