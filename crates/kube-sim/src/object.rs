//! Reading the simulated cluster's objects: a string at a JSON pointer, a timestamp, and a
//! pod's readiness and termination as kube's helpers (`podutil.IsPodReady`) read them. The
//! controllers, the network and the disruption budgets all look at pods the same way.
//!
//! May call: nothing else of the crate.

use serde_json::Value;

/// The string at `pointer`, or `""` when it is absent or not a string.
pub(crate) fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An RFC 3339 timestamp (`metav1.Time`).
pub(crate) fn timestamp(value: &Value) -> Option<jiff::Timestamp> {
    value.as_str()?.parse().ok()
}

/// `metav1.Time` as the API writes it: RFC 3339, whole seconds.
pub(crate) fn rfc3339(at: jiff::Timestamp) -> String {
    at.round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

/// Whether the pod's `Ready` condition is `True`.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// Whether the pod is being deleted (it has a `deletionTimestamp`).
pub(crate) fn terminating(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_string()
}
