//! Resources served as a converted view of another's storage, as kube-apiserver serves the
//! `events.k8s.io/v1` Events from the core Event registry: one stored object (one name, uid and
//! resource version), seen through two APIs, each in its own shape.
//!
//! A [`View`] says whose storage a resource shares and how its objects convert: pure functions on
//! JSON objects, no I/O. The store converts on the way in and out (`crate::store`), so every verb,
//! watch and selector of a view works on the one storage; the field selectors a view serves name
//! its own labels for the stored fields ([`EVENTS_V1_FIELDS`]).
//!
//! The Event mapping is Kubernetes' `pkg/apis/events/v1/conversion.go` (and its generated
//! `zz_generated.conversion.go`) between `events.k8s.io/v1` and the core type, written out in the
//! core `v1` field names (its Go field `ReportingController` is `reportingComponent` on the wire):
//!
//! | core `v1` | `events.k8s.io/v1` |
//! | --- | --- |
//! | `involvedObject` | `regarding` |
//! | `message` | `note` |
//! | `reportingComponent` | `reportingController` |
//! | `source` | `deprecatedSource` |
//! | `firstTimestamp` | `deprecatedFirstTimestamp` |
//! | `lastTimestamp` | `deprecatedLastTimestamp` |
//! | `count` | `deprecatedCount` |
//! | `metadata`, `eventTime`, `series` (`count`, `lastObservedTime`), `reportingInstance`, `action`, `reason`, `related`, `type` | the same |
//!
//! Nothing else moves: a series' count stays in `series.count` (the core `count` is the old
//! API's, `deprecatedCount` in the new), and `source.component` is not filled from the reporting
//! controller (only the `source` field selector and `kubectl get events`' SOURCE column fall back
//! to it).
//!
//! May call: `crate::selectors`.

use crate::selectors::{METADATA_NAME, METADATA_NAMESPACE, SelectableField};
use serde_json::{Map, Value};

/// A resource whose objects live in another resource's storage, converted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct View {
    /// The qualified name of the resource whose storage it shares (`events`).
    pub storage: &'static str,
    /// The `apiVersion` of the stored objects, and of the view's.
    pub stored_api_version: &'static str,
    pub viewed_api_version: &'static str,
    /// The top-level fields that change names: (stored name, the view's name).
    pub renames: &'static [(&'static str, &'static str)],
}

/// `events.k8s.io/v1` Events, stored as core `v1` Events.
pub(crate) const EVENTS_V1: View = View {
    storage: "events",
    stored_api_version: "v1",
    viewed_api_version: "events.k8s.io/v1",
    renames: &[
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ],
};

impl View {
    /// A stored object as the view serves it.
    pub(crate) fn to_view(&self, stored: &Value) -> Value {
        rename(stored, self.renames.iter().copied(), self.viewed_api_version)
    }

    /// An object of the view as it is stored.
    pub(crate) fn to_storage(&self, viewed: &Value) -> Value {
        rename(viewed, self.renames.iter().map(|(stored, viewed)| (*viewed, *stored)), self.stored_api_version)
    }
}

/// `object` with its top-level fields renamed `(from, to)` and the target's `apiVersion`. A field
/// that has a target name already (`note` in a core Event) is no field of the source's type, so
/// it goes, as kube-apiserver drops the unknown fields of built-in types when it decodes them;
/// other fields pass as they are.
fn rename<'a>(object: &Value, renames: impl Iterator<Item = (&'a str, &'a str)> + Clone, api_version: &str) -> Value {
    let Some(fields) = object.as_object() else { return object.clone() };
    let mut out = Map::new();
    for (key, value) in fields {
        match renames.clone().find(|(from, _)| from == key) {
            Some((_, to)) => {
                out.insert(to.into(), value.clone());
            }
            None if renames.clone().any(|(_, to)| to == key) => {}
            None => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    Value::Object(out)
}

/// What a core Event's `source` field label reads: its source's component, else its reporting
/// controller (kube's `ToSelectableFields`).
const EVENT_SOURCE: &[&str] = &["source.component", "reportingComponent"];

/// The field labels of core `v1` Events (`pkg/apis/core/v1/conversion.go`'s
/// `AddFieldLabelConversionsForEvent`, valued by `pkg/registry/core/event`'s
/// `ToSelectableFields`).
pub(crate) const EVENT_FIELDS: &[SelectableField] = &[
    METADATA_NAME,
    METADATA_NAMESPACE,
    SelectableField::at("involvedObject.kind", &["involvedObject.kind"]),
    SelectableField::at("involvedObject.namespace", &["involvedObject.namespace"]),
    SelectableField::at("involvedObject.name", &["involvedObject.name"]),
    SelectableField::at("involvedObject.uid", &["involvedObject.uid"]),
    SelectableField::at("involvedObject.apiVersion", &["involvedObject.apiVersion"]),
    SelectableField::at("involvedObject.resourceVersion", &["involvedObject.resourceVersion"]),
    SelectableField::at("involvedObject.fieldPath", &["involvedObject.fieldPath"]),
    SelectableField::at("reason", &["reason"]),
    SelectableField::at("reportingComponent", &["reportingComponent"]),
    SelectableField::at("source", EVENT_SOURCE),
    SelectableField::at("type", &["type"]),
];

/// The field labels of `events.k8s.io/v1` Events, read from the stored core Event as
/// `pkg/apis/events/v1/conversion.go`'s `AddFieldLabelConversionsForEvent` maps them (`source`
/// stays, though the type has no such field any more).
pub(crate) const EVENTS_V1_FIELDS: &[SelectableField] = &[
    METADATA_NAME,
    METADATA_NAMESPACE,
    SelectableField::at("regarding.kind", &["involvedObject.kind"]),
    SelectableField::at("regarding.namespace", &["involvedObject.namespace"]),
    SelectableField::at("regarding.name", &["involvedObject.name"]),
    SelectableField::at("regarding.uid", &["involvedObject.uid"]),
    SelectableField::at("regarding.apiVersion", &["involvedObject.apiVersion"]),
    SelectableField::at("regarding.resourceVersion", &["involvedObject.resourceVersion"]),
    SelectableField::at("regarding.fieldPath", &["involvedObject.fieldPath"]),
    SelectableField::at("reason", &["reason"]),
    SelectableField::at("reportingController", &["reportingComponent"]),
    SelectableField::at("source", EVENT_SOURCE),
    SelectableField::at("type", &["type"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selectors::FieldSelector;
    use k8s_openapi::api::{core, events};
    use serde_json::json;

    /// A core Event with every field of its type set.
    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-0.1849", "namespace": "demo", "uid": "u-1", "resourceVersion": "42"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-0", "namespace": "demo",
                "uid": "p-1", "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
            "reason": "Killing", "message": "Stopping container web", "type": "Warning",
            "source": {"component": "kubelet", "host": "pico-1"},
            "firstTimestamp": "2026-03-01T10:00:00Z", "lastTimestamp": "2026-03-01T10:05:00Z", "count": 3,
            "eventTime": "2026-03-01T10:00:00.123456Z",
            "series": {"count": 4, "lastObservedTime": "2026-03-01T10:06:00.000001Z"},
            "action": "Kill", "related": {"kind": "Node", "name": "pico-1"},
            "reportingComponent": "kubelet", "reportingInstance": "kubelet-pico-1",
        })
    }

    #[test]
    fn core_events_read_as_events_k8s_io_with_kubes_names() {
        let core = core_event();
        let viewed = EVENTS_V1.to_view(&core);
        assert_eq!(viewed["apiVersion"], "events.k8s.io/v1");
        assert_eq!(viewed["kind"], "Event");
        assert_eq!(viewed["regarding"], core["involvedObject"]);
        assert_eq!(viewed["note"], "Stopping container web");
        assert_eq!(viewed["reportingController"], "kubelet");
        assert_eq!(viewed["reportingInstance"], "kubelet-pico-1");
        assert_eq!(viewed["deprecatedSource"], json!({"component": "kubelet", "host": "pico-1"}));
        assert_eq!(viewed["deprecatedFirstTimestamp"], "2026-03-01T10:00:00Z");
        assert_eq!(viewed["deprecatedLastTimestamp"], "2026-03-01T10:05:00Z");
        assert_eq!(viewed["deprecatedCount"], 3);
        assert_eq!(viewed["series"], core["series"], "a series is a series in both");
        for same in ["metadata", "eventTime", "action", "reason", "related", "type"] {
            assert_eq!(viewed[same], core[same], "{same}");
        }
        for gone in ["involvedObject", "message", "source", "count", "reportingComponent"] {
            assert!(viewed.get(gone).is_none(), "{gone}");
        }
    }

    /// The converted object is exactly an `events.k8s.io/v1` Event and back a core one: the
    /// k8s-openapi types (generated from kube's OpenAPI) keep every field, and read the fields kube's
    /// conversion pairs as equal.
    #[test]
    fn conversions_agree_with_both_types_and_round_trip() {
        let core = core_event();
        let typed_core: core::v1::Event = serde_json::from_value(core.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed_core).unwrap(), core, "the fixture is a whole core Event");

        let viewed = EVENTS_V1.to_view(&core);
        let typed: events::v1::Event = serde_json::from_value(viewed.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), viewed, "no field the events.k8s.io type lacks");
        assert_eq!(typed.regarding.as_ref(), Some(&typed_core.involved_object));
        assert_eq!(typed.note, typed_core.message);
        assert_eq!(typed.reporting_controller, typed_core.reporting_component);
        assert_eq!(typed.reporting_instance, typed_core.reporting_instance);
        assert_eq!(typed.deprecated_source, typed_core.source);
        assert_eq!(typed.deprecated_first_timestamp, typed_core.first_timestamp);
        assert_eq!(typed.deprecated_last_timestamp, typed_core.last_timestamp);
        assert_eq!(typed.deprecated_count, typed_core.count);
        assert_eq!(typed.event_time, typed_core.event_time);
        assert_eq!(typed.series.as_ref().map(|s| s.count), typed_core.series.as_ref().and_then(|s| s.count));

        assert_eq!(EVENTS_V1.to_storage(&viewed), core, "core → events.k8s.io → core");
        let recorded = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "n.1", "namespace": "demo"}, "eventTime": "2026-03-01T10:00:00.000000Z",
            "regarding": {"kind": "Node", "name": "pico-2"}, "note": "lost", "reason": "NodeLost", "type": "Warning",
            "action": "Evicting", "reportingController": "conferenceli", "reportingInstance": "conferenceli"});
        let stored = EVENTS_V1.to_storage(&recorded);
        assert_eq!(stored["involvedObject"]["name"], "pico-2");
        assert_eq!(stored["reportingComponent"], "conferenceli");
        assert!(stored.get("source").is_none(), "no source is made up");
        assert_eq!(EVENTS_V1.to_view(&stored), recorded, "events.k8s.io → core → events.k8s.io");
    }

    #[test]
    fn fields_of_the_other_shape_are_unknown_and_go() {
        let stray = json!({"apiVersion": "v1", "kind": "Event", "message": "m", "note": "stray", "extra": 1});
        let viewed = EVENTS_V1.to_view(&stray);
        assert_eq!(viewed["note"], "m");
        assert_eq!(viewed["extra"], 1, "fields neither type renames pass");
        assert_eq!(
            EVENTS_V1.to_storage(&viewed),
            json!({"apiVersion": "v1", "kind": "Event", "message": "m", "extra": 1})
        );
    }

    #[test]
    fn field_labels_read_the_stored_event_as_kube_maps_them() {
        let mut stored = core_event();
        let core = |s: &str| FieldSelector::parse(s, EVENT_FIELDS).unwrap();
        let viewed = |s: &str| FieldSelector::parse(s, EVENTS_V1_FIELDS).unwrap();
        assert!(core("involvedObject.kind=Pod,involvedObject.name=web-0,reason=Killing,type=Warning").matches(&stored));
        assert!(viewed("regarding.kind=Pod,regarding.name=web-0,reason=Killing,type=Warning").matches(&stored));
        assert!(viewed("regarding.fieldPath=spec.containers{web},reportingController=kubelet").matches(&stored));
        assert!(!viewed("regarding.uid=other").matches(&stored));
        assert!(core("source=kubelet").matches(&stored));
        stored["source"] = json!({});
        stored["reportingComponent"] = json!("conferenceli");
        assert!(core("source=conferenceli").matches(&stored), "source falls back to the reporting controller");
        assert!(viewed("source=conferenceli").matches(&stored));
        for (label, fields) in
            [("regarding.kind", EVENT_FIELDS), ("involvedObject.kind", EVENTS_V1_FIELDS), ("note", EVENTS_V1_FIELDS)]
        {
            let refused = FieldSelector::parse(&format!("{label}=x"), fields).unwrap_err();
            assert_eq!(refused.0, format!("field label not supported: {label}"));
        }
    }
}
