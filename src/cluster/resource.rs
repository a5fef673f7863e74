//! What the booth's own resources (the Booth, the Leads) share in the Kubernetes convention:
//! status conditions, timestamps to the second, and merge patches computed from typed values,
//! so that no JSON key of theirs is ever typed by hand.
//!
//! May call: nothing else of the crate.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Now, to the second: how Kubernetes writes its own timestamps (`metav1.Time`), and what the
/// booth writes in its resources' timestamps (RFC 3339 on the wire, `format: date-time`).
pub(crate) fn now() -> jiff::Timestamp {
    to_the_second(jiff::Timestamp::now())
}

/// `at` rounded to the second (see [`now`]).
pub(crate) fn to_the_second(at: jiff::Timestamp) -> jiff::Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

/// Whether a condition holds: `True`, `False` or `Unknown`, as Kubernetes spells them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(holds: bool) -> Self {
        if holds { ConditionStatus::True } else { ConditionStatus::False }
    }
}

/// One condition of a resource's status, the one type of the Booth's and the Leads'.
///
/// Its wire shape is `metav1.Condition`'s (`type`, `status`, `observedGeneration`,
/// `lastTransitionTime`, `reason`, `message`), so `kubectl wait --for=condition=…` and generic
/// tools read it. It is our own rather than k8s-openapi's `Condition` because that one's
/// `status` is free text where ours is [`ConditionStatus`] (an enum in the CRD schema too), and
/// because its `lastTransitionTime` rule belongs next to it (`set_condition`). The
/// generation is optional, as in `metav1.Condition`: only a condition about the spec (the
/// Booth's `Settings`) has one to name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(description = "One aspect of the resource's state, in the shape of Kubernetes' metav1.Condition.")]
pub struct Condition {
    /// What the condition is about, in CamelCase (`Printer`, `Settings`, `Synced`).
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    /// The `metadata.generation` the condition was worked out from, when it is about the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) observed_generation: Option<i64>,
    /// When `status` last changed.
    pub(crate) last_transition_time: jiff::Timestamp,
    /// Why, in CamelCase.
    pub reason: String,
    /// Why, for people.
    pub message: String,
}

/// Records a condition in `conditions`: replaces the one of the same type, or adds it in the
/// order of types (so the list reads the same whichever part reported first). Its
/// `lastTransitionTime` stays when its status does not change, as with Kubernetes'
/// `meta.SetStatusCondition`.
pub(crate) fn set_condition(conditions: &mut Vec<Condition>, mut condition: Condition) {
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        if existing.status == condition.status {
            condition.last_transition_time = existing.last_transition_time;
        }
        *existing = condition;
    } else {
        let at = conditions.iter().position(|c| c.type_ > condition.type_).unwrap_or(conditions.len());
        conditions.insert(at, condition);
    }
}

/// A merge patch of a resource's `spec`, typed, applied only to the version it was worked out
/// from (optimistic concurrency: 409 Conflict if the resource changed since).
#[derive(Serialize, Debug)]
pub(crate) struct SpecPatch<'a, T> {
    pub(crate) metadata: Version<'a>,
    pub(crate) spec: T,
}

/// A merge patch of a resource's status subresource, typed; with a `resourceVersion`, the API
/// server applies it only to that version (optimistic concurrency).
#[derive(Serialize, Debug)]
pub(crate) struct StatusPatch<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<Version<'a>>,
    pub(crate) status: T,
}

impl<T> StatusPatch<'_, T> {
    /// The patch of `status`, whatever the resource's version.
    pub(crate) fn of(status: T) -> Self {
        Self { metadata: None, status }
    }
}

/// `metadata.resourceVersion`, the one piece of metadata a patch carries.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Version<'a> {
    pub(crate) resource_version: &'a str,
}

/// The JSON merge patch (RFC 7386) that turns `from` into `to`: changed members with their new
/// value (objects recursively), vanished members as `null`, arrays whole. Both sides are
/// serialised from the same typed value, so the patch's keys are the CRD's.
pub(crate) fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => {
            let mut patch = serde_json::Map::new();
            for (key, old) in from {
                match to.get(key) {
                    None => {
                        patch.insert(key.clone(), Value::Null);
                    }
                    Some(new) if new != old => {
                        patch.insert(key.clone(), merge_diff(old, new));
                    }
                    Some(_) => {}
                }
            }
            for (key, new) in to.iter().filter(|(key, _)| !from.contains_key(*key)) {
                patch.insert(key.clone(), new.clone());
            }
            Value::Object(patch)
        }
        (_, to) => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    fn condition(status: ConditionStatus, message: &str, when: &str) -> Condition {
        Condition {
            type_: "Printer".into(),
            status,
            observed_generation: None,
            last_transition_time: at(when),
            reason: "Checked".into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_condition_moves_its_transition_time_only_when_its_status_changes() {
        let mut list = Vec::new();
        set_condition(&mut list, condition(ConditionStatus::False, "out of labels", "2026-11-30T09:00:00Z"));
        set_condition(&mut list, condition(ConditionStatus::False, "still out", "2026-11-30T09:05:00Z"));
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].message.as_str(), list[0].last_transition_time), ("still out", at("2026-11-30T09:00:00Z")));
        set_condition(&mut list, condition(ConditionStatus::True, "", "2026-11-30T09:10:00Z"));
        assert_eq!(list[0].last_transition_time, at("2026-11-30T09:10:00Z"));
        let odoo = Condition { type_: "Odoo".into(), ..list[0].clone() };
        set_condition(&mut list, odoo);
        assert_eq!(list.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(), ["Odoo", "Printer"]);
    }

    #[test]
    fn conditions_and_timestamps_keep_the_kubernetes_wire_format() {
        let mut printer = condition(ConditionStatus::False, "out of labels", "2026-11-30T09:00:00Z");
        assert_eq!(
            serde_json::to_value(&printer).unwrap(),
            json!({"type": "Printer", "status": "False", "lastTransitionTime": "2026-11-30T09:00:00Z",
                   "reason": "Checked", "message": "out of labels"})
        );
        printer.observed_generation = Some(4);
        let back: Condition = serde_json::from_value(serde_json::to_value(&printer).unwrap()).unwrap();
        assert_eq!(back, printer);
        // Offsets and fractions that kubectl users may write are read; the booth writes seconds, in UTC.
        let written: Condition = serde_json::from_value(json!({"type": "Odoo", "status": "Unknown",
            "lastTransitionTime": "2026-11-30T10:00:00.5+01:00", "reason": "", "message": ""}))
        .unwrap();
        assert_eq!(to_the_second(written.last_transition_time).to_string(), "2026-11-30T09:00:01Z");
        assert_eq!(now().subsec_nanosecond(), 0);
        let schema = serde_json::to_value(schemars::schema_for!(Condition)).unwrap();
        assert_eq!(schema["properties"]["lastTransitionTime"]["format"], "date-time");
        assert_eq!(schema["$defs"]["ConditionStatus"]["enum"], json!(["True", "False", "Unknown"]));
    }

    #[test]
    fn merge_diffs_name_only_what_changed() {
        assert_eq!(merge_diff(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"b": 1}})), json!({"a": {"c": null}}));
        assert_eq!(merge_diff(&json!({"a": [1, 2]}), &json!({"a": [2], "d": "x"})), json!({"a": [2], "d": "x"}));
        assert_eq!(merge_diff(&json!({"a": 1}), &json!({"a": 1})), json!({}));
        let patch = StatusPatch { metadata: Some(Version { resource_version: "7" }), status: json!({"n": 1}) };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"metadata": {"resourceVersion": "7"}, "status": {"n": 1}})
        );
        assert_eq!(serde_json::to_value(StatusPatch::of(1)).unwrap(), json!({"status": 1}));
        let patch = SpecPatch { metadata: Version { resource_version: "8" }, spec: 2 };
        assert_eq!(serde_json::to_value(patch).unwrap(), json!({"metadata": {"resourceVersion": "8"}, "spec": 2}));
    }
}
