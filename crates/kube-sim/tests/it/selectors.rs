//! Property tests of the selectors clients send: whatever the text, the parsers answer with a
//! selector or a clear error, never a panic, and generated selectors mean what they say.

use kube_sim::selectors::{DEFAULT_FIELDS, FieldSelector, LabelSelector};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn selectors_parse_or_refuse_without_panicking(input in "\\PC{0,60}") {
        let _ = LabelSelector::parse(&input);
        let _ = FieldSelector::parse(&input, DEFAULT_FIELDS);
    }

    #[test]
    fn generated_label_selectors_round_trip(key in "[a-z][a-z0-9-]{0,10}", value in "[a-z0-9]{1,10}", other in "[a-z0-9]{1,10}") {
        let object = serde_json::json!({"metadata": {"labels": {key.clone(): value.clone()}}});
        let equals = LabelSelector::parse(&format!("{key}={value}")).unwrap();
        let within = LabelSelector::parse(&format!("{key} in ({other},{value})")).unwrap();
        let differs = LabelSelector::parse(&format!("{key}!={other}")).unwrap();
        prop_assert!(equals.matches(&object));
        prop_assert!(within.matches(&object));
        prop_assert_eq!(differs.matches(&object), value != other);
    }

}
