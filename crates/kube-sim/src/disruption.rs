//! kube-controller-manager's disruption controller as pure arithmetic over a
//! PodDisruptionBudget and the pods of its namespace: which pods it selects, how many of them are
//! healthy, how many it wants, and the status it writes (`currentHealthy`, `desiredHealthy`,
//! `expectedPods`, `disruptionsAllowed`, `disruptedPods`, `observedGeneration` and the
//! `DisruptionAllowed` condition). The controllers run it over the store on every change; the
//! eviction subresource reads what it wrote and decrements it.
//!
//! As `pkg/controller/disruption` does it: an integer `minAvailable` wants that many of the
//! selected pods and expects as many as it selects; a percentage, and any `maxUnavailable`, is
//! taken of the scale of the pods' controllers (rounded up), which the caller looks up. A pod is
//! healthy when it is Ready, not being deleted and not recorded in `disruptedPods` by an eviction
//! less than [`DELETION_TIMEOUT`] ago. When the scale cannot be found the budget fails safe: no
//! disruption allowed, the condition says why (`SyncFailed`).
//!
//! May call: `crate::object`, `crate::selectors`.

use crate::object::{pod_ready, rfc3339, str_at, terminating, timestamp};
use crate::selectors::LabelSelector;
use serde_json::{Map, Value, json};

/// How long an eviction's entry in `disruptedPods` holds before the controller stops waiting for
/// the pod's deletion and counts it again (kube's `DeletionTimeout`).
pub(crate) const DELETION_TIMEOUT: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// The pods a budget selects, as the controller reads its selector: none for a null one, every
/// pod of its namespace for `{}`.
fn selected<'a>(pdb: &Value, pods: &[&'a Value]) -> Result<Vec<&'a Value>, String> {
    let Some(selector) = LabelSelector::from_object(&pdb["spec"]["selector"]).map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    let namespace = str_at(pdb, "/metadata/namespace");
    Ok(pods.iter().copied().filter(|p| str_at(p, "/metadata/namespace") == namespace && selector.matches(p)).collect())
}

/// Whether a budget guards a pod against eviction, as the eviction handler reads its selector: a
/// null, empty (`{}`) or invalid one guards nothing ("it should match nothing, not everything").
pub(crate) fn guards(pdb: &Value, pod: &Value) -> bool {
    let same_namespace = str_at(pdb, "/metadata/namespace") == str_at(pod, "/metadata/namespace");
    same_namespace
        && matches!(LabelSelector::from_object(&pdb["spec"]["selector"]), Ok(Some(s)) if !s.0.is_empty() && s.matches(pod))
}

/// The entry of a pod's `ownerReferences` that is its controller.
pub(crate) fn controller_of(pod: &Value) -> Option<&Value> {
    pod["metadata"]["ownerReferences"].as_array()?.iter().find(|o| o["controller"].as_bool() == Some(true))
}

/// What the controller writes for a budget, and when it must look again (the first
/// `disruptedPods` entry to expire).
pub(crate) struct Sync {
    pub status: Value,
    pub recheck: Option<jiff::Timestamp>,
}

/// The budget's status now. `scale` answers the replicas of a controller (a pod's controller
/// `ownerReferences` entry), `None` when there is no such controller.
pub(crate) fn sync(pdb: &Value, pods: &[&Value], scale: &dyn Fn(&Value) -> Option<i64>, now: jiff::Timestamp) -> Sync {
    let counted = selected(pdb, pods).and_then(|pods| Ok((expected_and_desired(pdb, &pods, scale)?, pods)));
    let ((expected, desired), pods) = match counted {
        Ok(counted) => counted,
        Err(message) => return fail_safe(pdb, &message, now),
    };
    let (disrupted, recheck) = disrupted_pods(pdb, &pods, now);
    let healthy = pods
        .iter()
        .filter(|p| !terminating(p) && !disrupted.contains_key(str_at(p, "/metadata/name")) && pod_ready(p))
        .count() as i64;
    // A budget that expects no pods allows nothing: its first pods may come before its status.
    let allowed = if expected <= 0 { 0 } else { (healthy - desired).max(0) };
    let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(0);
    let mut status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
    });
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    status["conditions"] = allowed_condition(&pdb["status"]["conditions"], allowed > 0, generation, now);
    Sync { status, recheck }
}

/// The status of a budget whose scale cannot be computed: nothing allowed, the rest as it was,
/// the condition `False` with reason `SyncFailed` and the error.
fn fail_safe(pdb: &Value, message: &str, now: jiff::Timestamp) -> Sync {
    let mut status = if pdb["status"].is_object() { pdb["status"].clone() } else { json!({}) };
    status["disruptionsAllowed"] = json!(0);
    let generation = status["observedGeneration"].as_i64().unwrap_or(0);
    let failed = Condition { status: "False", reason: "SyncFailed", message, observed_generation: generation };
    status["conditions"] = set_condition(&status["conditions"], &failed, now);
    Sync { status, recheck: None }
}

/// `expectedPods` and `desiredHealthy` from `minAvailable` or `maxUnavailable`.
fn expected_and_desired(
    pdb: &Value,
    pods: &[&Value],
    scale: &dyn Fn(&Value) -> Option<i64>,
) -> Result<(i64, i64), String> {
    let spec = &pdb["spec"];
    if !spec["maxUnavailable"].is_null() {
        let expected = expected_scale(pods, scale)?;
        let unavailable = scaled(&spec["maxUnavailable"], expected)?;
        return Ok((expected, (expected - unavailable).max(0)));
    }
    match &spec["minAvailable"] {
        Value::Number(n) => Ok((pods.len() as i64, n.as_i64().unwrap_or(0))),
        min @ Value::String(_) => {
            let expected = expected_scale(pods, scale)?;
            Ok((expected, scaled(min, expected)?))
        }
        _ => Ok((0, 0)),
    }
}

/// The sum of the scales of the pods' controllers, each counted once; pods without a controller
/// are left out, a controller that cannot be found is an error.
fn expected_scale(pods: &[&Value], scale: &dyn Fn(&Value) -> Option<i64>) -> Result<i64, String> {
    let mut counted: Vec<&str> = Vec::new();
    let mut total = 0;
    for pod in pods {
        let Some(controller) = controller_of(pod) else { continue };
        let uid = str_at(controller, "/uid");
        if counted.contains(&uid) {
            continue;
        }
        let replicas = scale(controller)
            .ok_or_else(|| format!("found no controllers for pod {:?}", str_at(pod, "/metadata/name")))?;
        counted.push(uid);
        total += replicas;
    }
    Ok(total)
}

/// An int-or-string as `intstr.GetScaledValueFromIntOrPercent` reads it, rounding up: an integer
/// as it is, `"N%"` as N % of `total`.
fn scaled(value: &Value, total: i64) -> Result<i64, String> {
    let text = match value {
        Value::Number(n) => return Ok(n.as_i64().unwrap_or(0)),
        Value::String(text) => text,
        other => return Err(format!("invalid value for IntOrString: {other}")),
    };
    let Some(percent) = text.strip_suffix('%') else {
        return Err("invalid value for IntOrString: invalid type: string is not a percentage".into());
    };
    let percent: i64 = percent
        .parse()
        .map_err(|_| format!("invalid value {text:?}: strconv.Atoi: parsing {percent:?}: invalid syntax"))?;
    Ok((percent as f64 * total as f64 / 100.0).ceil() as i64)
}

/// The `disruptedPods` entries that still hold: pods that are there, not being deleted yet, and
/// recorded less than [`DELETION_TIMEOUT`] ago; and when the first of them expires.
fn disrupted_pods(pdb: &Value, pods: &[&Value], now: jiff::Timestamp) -> (Map<String, Value>, Option<jiff::Timestamp>) {
    let recorded = &pdb["status"]["disruptedPods"];
    let mut kept = Map::new();
    let mut recheck: Option<jiff::Timestamp> = None;
    for pod in pods.iter().filter(|p| !terminating(p)) {
        let name = str_at(pod, "/metadata/name");
        let Some(expires) = timestamp(&recorded[name]).and_then(|at| at.checked_add(DELETION_TIMEOUT).ok()) else {
            continue;
        };
        if expires < now {
            continue;
        }
        recheck = Some(recheck.map_or(expires, |r| r.min(expires)));
        kept.insert(name.to_string(), recorded[name].clone());
    }
    (kept, recheck)
}

/// A `metav1.Condition` to set.
struct Condition<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
    observed_generation: i64,
}

/// The conditions with the `DisruptionAllowed` one set as kube's `UpdateDisruptionAllowedCondition`
/// sets it: `True`/`SufficientPods` when disruptions are allowed, `False`/`InsufficientPods` when not.
pub(crate) fn allowed_condition(conditions: &Value, allowed: bool, generation: i64, now: jiff::Timestamp) -> Value {
    let (status, reason) = if allowed { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    set_condition(conditions, &Condition { status, reason, message: "", observed_generation: generation }, now)
}

/// `meta.SetStatusCondition` for `DisruptionAllowed`: the transition time changes only with
/// the status; the other conditions stay.
fn set_condition(conditions: &Value, condition: &Condition, now: jiff::Timestamp) -> Value {
    let mut conditions: Vec<Value> = conditions.as_array().cloned().unwrap_or_default();
    let index = match conditions.iter().position(|c| c["type"] == "DisruptionAllowed") {
        Some(index) => index,
        None => {
            conditions.push(json!({"type": "DisruptionAllowed"}));
            conditions.len() - 1
        }
    };
    let existing = &mut conditions[index];
    if existing["status"] != condition.status {
        existing["lastTransitionTime"] = json!(rfc3339(now));
    }
    existing["status"] = json!(condition.status);
    existing["reason"] = json!(condition.reason);
    existing["message"] = json!(condition.message);
    if condition.observed_generation != 0 {
        existing["observedGeneration"] = json!(condition.observed_generation);
    } else if let Some(fields) = existing.as_object_mut() {
        fields.remove("observedGeneration");
    }
    Value::Array(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-29T12:00:00Z";

    fn now() -> jiff::Timestamp {
        NOW.parse().unwrap()
    }

    fn pod(name: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"},
                            "ownerReferences": [{"kind": "StatefulSet", "name": "web", "uid": "sts", "controller": true}]},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    fn budget(spec: Value) -> Value {
        let mut spec = spec;
        spec["selector"] = json!({"matchLabels": {"app": "web"}});
        json!({"metadata": {"name": "web", "namespace": "ns", "generation": 2}, "spec": spec})
    }

    fn five_of_which_ready(ready: usize) -> Vec<Value> {
        (0..5).map(|i| pod(&format!("web-{i}"), i < ready)).collect()
    }

    fn status(pdb: &Value, pods: &[Value], replicas: Option<i64>) -> Value {
        let pods: Vec<&Value> = pods.iter().collect();
        sync(pdb, &pods, &|_| replicas, now()).status
    }

    fn counts(status: &Value) -> [i64; 4] {
        ["expectedPods", "desiredHealthy", "currentHealthy", "disruptionsAllowed"].map(|f| status[f].as_i64().unwrap())
    }

    #[test]
    fn an_integer_min_available_counts_the_selected_pods() {
        let pdb = budget(json!({"minAvailable": 3}));
        let healthy = status(&pdb, &five_of_which_ready(5), None);
        assert_eq!(counts(&healthy), [5, 3, 5, 2]);
        assert_eq!(healthy["observedGeneration"], 2);
        assert_eq!(
            healthy["conditions"],
            json!([{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
                    "observedGeneration": 2, "lastTransitionTime": NOW}])
        );
        let short = status(&pdb, &five_of_which_ready(3), None);
        assert_eq!(counts(&short), [5, 3, 3, 0]);
        assert_eq!(short["conditions"][0]["reason"], "InsufficientPods");
        assert_eq!(short["conditions"][0]["status"], "False");
        let mut other_namespace = pod("web-9", true);
        other_namespace["metadata"]["namespace"] = json!("elsewhere");
        assert_eq!(counts(&status(&pdb, &[other_namespace], None)), [0, 3, 0, 0], "expects nothing: allows nothing");
    }

    #[test]
    fn percentages_and_max_unavailable_take_the_controllers_scale_rounded_up() {
        let pods = five_of_which_ready(5);
        assert_eq!(counts(&status(&budget(json!({"minAvailable": "50%"})), &pods, Some(5))), [5, 3, 5, 2]);
        assert_eq!(counts(&status(&budget(json!({"maxUnavailable": "30%"})), &pods, Some(5))), [5, 3, 5, 2]);
        assert_eq!(counts(&status(&budget(json!({"maxUnavailable": 1})), &pods, Some(5))), [5, 4, 5, 1]);
        // The StatefulSet wants 7: two are missing, so nothing more may go.
        assert_eq!(counts(&status(&budget(json!({"maxUnavailable": 2})), &pods, Some(7))), [7, 5, 5, 0]);
    }

    #[test]
    fn without_the_scale_the_budget_fails_safe() {
        let mut pdb = budget(json!({"maxUnavailable": 1}));
        pdb["status"] = json!({"disruptionsAllowed": 1, "currentHealthy": 5, "observedGeneration": 1});
        let failed = status(&pdb, &five_of_which_ready(5), None);
        assert_eq!((failed["disruptionsAllowed"].as_i64(), failed["currentHealthy"].as_i64()), (Some(0), Some(5)));
        let condition = &failed["conditions"][0];
        assert_eq!((&condition["status"], &condition["reason"]), (&json!("False"), &json!("SyncFailed")));
        assert_eq!(condition["message"], r#"found no controllers for pod "web-0""#);
        assert_eq!(condition["observedGeneration"], 1, "the last generation it could count");
        let bad = status(&budget(json!({"minAvailable": "half"})), &five_of_which_ready(5), Some(5));
        assert!(bad["conditions"][0]["message"].as_str().unwrap().contains("not a percentage"), "{bad}");
    }

    #[test]
    fn disrupted_pods_are_not_healthy_until_deleted_or_two_minutes_old() {
        let mut pdb = budget(json!({"minAvailable": 3}));
        pdb["status"]["disruptedPods"] =
            json!({"web-0": "2026-11-29T11:59:30Z", "web-1": "2026-11-29T11:57:00Z", "gone": NOW});
        let owned = five_of_which_ready(5);
        let pods: Vec<&Value> = owned.iter().collect();
        let synced = sync(&pdb, &pods, &|_| None, now());
        assert_eq!(
            synced.status["disruptedPods"],
            json!({"web-0": "2026-11-29T11:59:30Z"}),
            "expired and gone are dropped"
        );
        assert_eq!(counts(&synced.status), [5, 3, 4, 1]);
        assert_eq!(synced.recheck, Some("2026-11-29T12:01:30Z".parse().unwrap()));
        let mut deleting = five_of_which_ready(5);
        deleting[0]["metadata"]["deletionTimestamp"] = json!(NOW);
        let synced = status(&pdb, &deleting, None);
        assert!(synced.get("disruptedPods").is_none(), "being deleted: the eviction went through");
        assert_eq!(counts(&synced), [5, 3, 4, 1]);
    }

    #[test]
    fn the_condition_keeps_its_transition_time_while_its_status_holds() {
        let earlier = json!([{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
                              "observedGeneration": 1, "lastTransitionTime": "2026-11-29T10:00:00Z"},
                             {"type": "Other", "status": "True"}]);
        let same = allowed_condition(&earlier, true, 2, now());
        assert_eq!(same[0]["lastTransitionTime"], "2026-11-29T10:00:00Z");
        assert_eq!((same[0]["observedGeneration"].as_i64(), &same[1]), (Some(2), &earlier[1]));
        assert_eq!(allowed_condition(&earlier, false, 2, now())[0]["lastTransitionTime"], NOW);
    }

    #[test]
    fn evictions_read_an_empty_selector_as_guarding_nothing() {
        let web = pod("web-0", true);
        assert!(guards(&budget(json!({})), &web));
        let mut everything = budget(json!({}));
        everything["spec"]["selector"] = json!({});
        assert!(!guards(&everything, &web));
        // ... while the controller counts every pod of the namespace for it.
        assert_eq!(counts(&status(&everything, &five_of_which_ready(5), None)), [0, 0, 5, 0]);
        let mut elsewhere = budget(json!({}));
        elsewhere["metadata"]["namespace"] = json!("other");
        assert!(!guards(&elsewhere, &web));
    }
}
