//! The `pods/eviction` subresource as kube-apiserver's eviction handler
//! (`pkg/registry/core/pod/storage/eviction.go`) carries it out.
//!
//! A pod that is Pending, finished or already being deleted is deleted at once: it disrupts
//! nothing. Otherwise the one PodDisruptionBudget that guards it must allow a disruption, and the
//! eviction takes it in an update of the budget's status (`disruptionsAllowed` one less, the pod
//! recorded in `disruptedPods` with the time) that conflicts with any write since the budget was
//! read: of two evictions racing for the last disruption one wins, the other reads the budget
//! again (kube's `EvictionsRetry`: up to 20 tries, 500 ms apart) and is refused, 429
//! TooManyRequests with the `DisruptionBudget` cause. A pod that is not Ready may go without
//! taking a disruption when its budget is healthy (`unhealthyPodEvictionPolicy: IfHealthyBudget`,
//! the default) or says `AlwaysAllow`; its deletion is then conditional on the version that was
//! judged, so a pod that became Ready meanwhile stays (429). An evicted pod gets the
//! `DisruptionTarget` condition (`EvictionByEvictionAPI`) and is deleted as a DELETE with the
//! Eviction's `deleteOptions` deletes it. A dry run checks everything and changes nothing.
//!
//! May call: `crate::disruption`, `crate::error`, `crate::object`, `crate::resources`,
//! `crate::store`.

use crate::disruption;
use crate::error::ApiError;
use crate::object::{pod_ready, rfc3339, str_at, terminating};
use crate::resources::ResourceDef;
use crate::store::{Deletion, Part, Store, Write, WriteMode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// kube's `EvictionsRetry`: how often a conflicting write is tried, and how far apart.
const TRIES: u32 = 20;
const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// More evictions than this not yet seen through by the disruption controller and the budget
/// refuses more (kube's `MaxDisruptedPodSize`).
const MAX_DISRUPTED_PODS: usize = 2000;

const VIOLATION: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// The fields of a `policy/v1` Eviction; others are unknown.
const EVICTION_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "deleteOptions"];

/// An eviction asked for: the pod, and how it is to be deleted.
pub(crate) struct Eviction<'a> {
    pub pods: &'a ResourceDef,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The Eviction's `deleteOptions` (grace period, preconditions).
    pub deletion: Deletion,
    /// `dryRun=All`, in the query or in the `deleteOptions`.
    pub dry_run: bool,
}

/// Checks an Eviction body against the pod it was posted for, as kube's create handler decodes
/// it (a `policy/v1` or `v1beta1` Eviction, its name the URL's, its namespace the request's);
/// returns the unknown fields it has, which kube ignores (kube-rs sends `delete_options`).
pub(crate) fn unknown_fields(namespace: &str, name: &str, body: &Value) -> Result<Vec<String>, ApiError> {
    let Some(fields) = body.as_object() else {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    };
    if let Some(kind) = body["kind"].as_str().filter(|k| *k != "Eviction") {
        return Err(ApiError::bad_request(format!("not a Eviction object: {kind}")));
    }
    if let Some(version) = body["apiVersion"].as_str().filter(|v| !matches!(*v, "policy/v1" | "policy/v1beta1")) {
        return Err(ApiError::bad_request(format!("the apiVersion {version:?} does not serve an Eviction")));
    }
    if str_at(body, "/metadata/name") != name {
        return Err(ApiError::bad_request("name in URL does not match name in Eviction object"));
    }
    if body["metadata"]["namespace"].as_str().is_some_and(|ns| !ns.is_empty() && ns != namespace) {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(fields.keys().filter(|k| !EVICTION_FIELDS.contains(&k.as_str())).cloned().collect())
}

/// Evicts the pod as kube-apiserver does (see the module documentation): `Ok` when it is
/// deleted (or would be, for a dry run), else kube's refusal.
pub(crate) async fn evict(store: &Store, eviction: &Eviction<'_>) -> Result<(), ApiError> {
    // A client's own resourceVersion precondition is never retried: it meant that version.
    let tries = if eviction.deletion.resource_version.is_none() { TRIES } else { 1 };
    let Some(pod) = on_conflict(tries, || eviction.delete_unguarded(store)).await? else {
        return Ok(());
    };
    let budgets = store.registry.find("policy", "v1", "poddisruptionbudgets").expect("budgets are built in");
    let guarding: Vec<Arc<Value>> =
        store.all(&budgets).into_iter().filter(|pdb| disruption::guards(pdb, &pod)).collect();
    let pdb = match guarding.as_slice() {
        [] => return eviction.delete(store, &eviction.deletion),
        [pdb] => pdb.clone(),
        _ => {
            let message =
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
            return Err(ApiError::failure(500, message));
        }
    };
    let name = str_at(&pdb, "/metadata/name").to_string();
    if !pod_ready(&pod) && unready_may_go(&pdb) {
        // Only the version judged not Ready goes; one Ready since is the budget's again.
        let judged = Some(str_at(&pod, "/metadata/resourceVersion").to_string());
        let deletion = Deletion { resource_version: judged, ..eviction.deletion.clone() };
        return match eviction.delete(store, &deletion) {
            Err(error) if is_conflict(&error) && eviction.deletion.resource_version.is_none() => {
                Err(still_processing(&name))
            }
            result => result,
        };
    }
    let mut read = Some(pdb);
    on_conflict(TRIES, || {
        let pdb = match read.take() {
            Some(pdb) => pdb,
            None => store.get(&budgets, eviction.namespace, &name)?,
        };
        take_disruption(store, &budgets, &pdb, eviction)
    })
    .await?;
    eviction.delete(store, &eviction.deletion)
}

impl Eviction<'_> {
    /// Deletes the pod when no budget applies to it (Pending, finished, or being deleted);
    /// otherwise returns it for its budget to judge.
    fn delete_unguarded(&self, store: &Store) -> Result<Option<Arc<Value>>, ApiError> {
        let pod = store.get(self.pods, self.namespace, self.name)?;
        let phase = str_at(&pod, "/status/phase");
        let finished = matches!(phase, "Succeeded" | "Failed") || terminating(&pod);
        if !finished && phase != "Pending" {
            return Ok(Some(pod));
        }
        let mut deletion = self.deletion.clone();
        // A Pending pod that starts meanwhile is not deleted unjudged.
        if !finished && deletion.resource_version.is_none() {
            deletion.resource_version = Some(str_at(&pod, "/metadata/resourceVersion").to_string());
        }
        self.delete(store, &deletion).map(|()| None)
    }

    /// kube's `addConditionAndDeletePod`: the pod is marked `DisruptionTarget` (not for a dry
    /// run), then deleted with `deletion`; both honour its preconditions.
    fn delete(&self, store: &Store, deletion: &Deletion) -> Result<(), ApiError> {
        let mut deletion = deletion.clone();
        if !self.dry_run {
            let marked = self.mark_disruption_target(store, &deletion)?;
            if deletion.resource_version.is_some() {
                // The mark is this request's own change.
                deletion.resource_version = Some(str_at(&marked, "/metadata/resourceVersion").to_string());
            }
        }
        let mode = WriteMode { dry_run: self.dry_run, ..WriteMode::default() };
        let write = Write { def: self.pods, namespace: self.namespace, part: Part::Main, mode };
        store.delete(&write, self.name, &deletion).map(|_| ())
    }

    /// Adds the `DisruptionTarget` condition to the pod as it is now, if it still matches the
    /// preconditions (a conflict otherwise).
    fn mark_disruption_target(&self, store: &Store, deletion: &Deletion) -> Result<Arc<Value>, ApiError> {
        let latest = store.get(self.pods, self.namespace, self.name)?;
        let uid = str_at(&latest, "/metadata/uid");
        let conflict = |why: String| ApiError::conflict_because(self.pods, self.name, &why);
        if let Some(expected) = deletion.uid.as_deref().filter(|expected| *expected != uid) {
            return Err(conflict(format!(
                "the UID in the precondition ({expected}) does not match the UID in record ({uid}). \
                 The object might have been deleted and then recreated"
            )));
        }
        let mut stale = None;
        let marked = store.mutate(self.pods, self.namespace, self.name, uid, |pod| {
            let version = str_at(pod, "/metadata/resourceVersion");
            match deletion.resource_version.as_deref() {
                Some(expected) if expected != version => stale = Some((expected.to_string(), version.to_string())),
                _ => set_disruption_target(pod, jiff::Timestamp::now()),
            }
        });
        if let Some((expected, found)) = stale {
            return Err(conflict(format!(
                "the ResourceVersion in the precondition ({expected}) does not match the ResourceVersion in record \
                 ({found}). The object might have been modified"
            )));
        }
        marked.ok_or_else(|| conflict("the object was replaced meanwhile".into()))
    }
}

/// kube's `checkAndDecrement`: the budget must be up to date with its spec and allow a
/// disruption; the eviction takes one and records the pod, in a status update that conflicts
/// with any write since `pdb` was read (a dry run stops before writing).
fn take_disruption(store: &Store, budgets: &ResourceDef, pdb: &Value, eviction: &Eviction) -> Result<(), ApiError> {
    let (name, status) = (str_at(pdb, "/metadata/name"), &pdb["status"]);
    let observed = status["observedGeneration"].as_i64().unwrap_or(0);
    if observed < pdb["metadata"]["generation"].as_i64().unwrap_or(0) {
        return Err(still_processing(name));
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    let refuse = |why: &str| ApiError::forbidden("poddisruptionbudget", "policy", name, why);
    if allowed < 0 {
        return Err(refuse("pdb disruptions allowed is negative"));
    }
    if status["disruptedPods"].as_object().is_some_and(|pods| pods.len() > MAX_DISRUPTED_PODS) {
        return Err(refuse("DisruptedPods map too big - too many evictions not confirmed by PDB controller"));
    }
    if allowed == 0 {
        let (desired, current) =
            (status["desiredHealthy"].as_i64().unwrap_or(0), status["currentHealthy"].as_i64().unwrap_or(0));
        let message = format!("The disruption budget {name} needs {desired} healthy pods and has {current} currently");
        return Err(ApiError::too_many_requests(
            VIOLATION,
            vec![json!({"reason": "DisruptionBudget", "message": message})],
            0,
        ));
    }
    let now = jiff::Timestamp::now();
    let mut taken = pdb.clone();
    taken["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed == 1 {
        taken["status"]["conditions"] = disruption::allowed_condition(&status["conditions"], false, observed, now);
    }
    if eviction.dry_run {
        return Ok(());
    }
    taken["status"]["disruptedPods"][eviction.name] = json!(rfc3339(now));
    // The API server writes through its own loopback client.
    let mode = WriteMode { manager: Some("kube-apiserver".into()), ..WriteMode::default() };
    let write = Write { def: budgets, namespace: eviction.namespace, part: Part::Status, mode };
    store.replace(&write, name, taken).map(|_| ())
}

/// Whether a pod that is not Ready may go without taking a disruption: always with
/// `unhealthyPodEvictionPolicy: AlwaysAllow`, and by default (`IfHealthyBudget`) while the
/// budget has the healthy pods it wants (and wants some).
fn unready_may_go(pdb: &Value) -> bool {
    let status = &pdb["status"];
    let (current, desired) =
        (status["currentHealthy"].as_i64().unwrap_or(0), status["desiredHealthy"].as_i64().unwrap_or(0));
    pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow" || (current >= desired && desired > 0)
}

/// 429 for a budget whose status is behind its spec, or a pod that changed while judged
/// (kube's `createTooManyRequestsError`, with its 10 s `Retry-After`).
fn still_processing(name: &str) -> ApiError {
    let message = format!("The disruption budget {name} is still being processed by the server.");
    ApiError::too_many_requests(VIOLATION, vec![json!({"reason": "DisruptionBudget", "message": message})], 10)
}

fn is_conflict(error: &ApiError) -> bool {
    error.reason == "Conflict"
}

/// Runs `attempt` again while it conflicts, up to `tries` times, 500 ms (+0–10 %) apart.
async fn on_conflict<T>(tries: u32, mut attempt: impl FnMut() -> Result<T, ApiError>) -> Result<T, ApiError> {
    let mut tried = 1;
    loop {
        match attempt() {
            Err(error) if is_conflict(&error) && tried < tries => {
                tried += 1;
                tokio::time::sleep(RETRY_INTERVAL.mul_f64(1.0 + rand::random_range(0.0..0.1))).await;
            }
            result => return result,
        }
    }
}

/// `podutil.UpdatePodCondition` with `DisruptionTarget=True` (`EvictionByEvictionAPI`).
fn set_disruption_target(pod: &mut Value, now: jiff::Timestamp) {
    let condition = json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": rfc3339(now), "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"});
    if !pod["status"]["conditions"].is_array() {
        pod["status"]["conditions"] = json!([]);
    }
    let Some(conditions) = pod["status"]["conditions"].as_array_mut() else { return };
    match conditions.iter_mut().find(|c| c["type"] == "DisruptionTarget") {
        Some(existing) if existing["status"] == "True" => {
            let since = existing["lastTransitionTime"].clone();
            *existing = condition;
            existing["lastTransitionTime"] = since;
        }
        Some(existing) => *existing = condition,
        None => conditions.push(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eviction_body_is_read_as_kube_decodes_it() {
        let body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-0", "namespace": "ns"},
                          "deleteOptions": {"gracePeriodSeconds": 0}});
        assert_eq!(unknown_fields("ns", "web-0", &body), Ok(Vec::new()));
        // kube-rs sends no kind and `delete_options`, which kube ignores.
        let kube_rs = json!({"metadata": {"name": "web-0"}, "delete_options": null});
        assert_eq!(unknown_fields("ns", "web-0", &kube_rs), Ok(vec!["delete_options".to_string()]));
        let refused = |body: Value| unknown_fields("ns", "web-0", &body).unwrap_err();
        assert_eq!(
            refused(json!({"metadata": {"name": "web-1"}})).message,
            "name in URL does not match name in Eviction object"
        );
        assert_eq!(refused(json!({"kind": "Pod", "metadata": {"name": "web-0"}})).code, 400);
        assert_eq!(refused(json!({"metadata": {"name": "web-0", "namespace": "other"}})).code, 400);
        assert_eq!(refused(json!([])).code, 400);
    }

    #[test]
    fn the_budget_takes_one_disruption_per_version_and_waits_for_its_controller() {
        let store = Store::new(100, Duration::from_secs(60));
        let budgets = store.registry.find("policy", "v1", "poddisruptionbudgets").unwrap();
        let pods = store.registry.find("", "v1", "pods").unwrap();
        let eviction =
            Eviction { pods: &pods, namespace: "ns", name: "web-0", deletion: Deletion::default(), dry_run: false };
        let created = store.create(&Write::to(&budgets, "ns"), json!({"metadata": {"name": "web"}})).unwrap().object;
        // Not counted by the controller yet (observedGeneration 0 of 1): wait and retry.
        let error = take_disruption(&store, &budgets, &created, &eviction).unwrap_err();
        assert_eq!((error.code, error.reason), (429, "TooManyRequests"));
        let cause = "The disruption budget web is still being processed by the server.";
        assert_eq!(
            error.to_status()["details"],
            json!({"causes": [{"reason": "DisruptionBudget", "message": cause}], "retryAfterSeconds": 10})
        );

        let mut counted = (*created).clone();
        counted["status"] =
            json!({"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2});
        let counted = store.replace(&Write::to(&budgets, "ns").status(), "web", counted).unwrap().object;
        take_disruption(&store, &budgets, &counted, &eviction).unwrap();
        let taken = store.get(&budgets, "ns", "web").unwrap();
        assert_eq!(taken["status"]["disruptionsAllowed"], 0);
        assert!(taken["status"]["disruptedPods"]["web-0"].is_string());
        assert_eq!(taken["status"]["conditions"][0]["reason"], "InsufficientPods");
        // A second eviction that read the budget before the first wrote it conflicts, and reads again.
        let other = Eviction { name: "web-1", ..eviction };
        assert_eq!(take_disruption(&store, &budgets, &counted, &other).unwrap_err().reason, "Conflict");
        let refused = take_disruption(&store, &budgets, &taken, &other).unwrap_err();
        assert_eq!(
            refused.details.unwrap().causes[0]["message"],
            "The disruption budget web needs 2 healthy pods and has 3 currently"
        );
    }

    #[test]
    fn the_disruption_target_condition_keeps_its_first_time() {
        let mut pod = json!({"status": {"phase": "Running"}});
        set_disruption_target(&mut pod, "2026-11-29T12:00:00Z".parse().unwrap());
        set_disruption_target(&mut pod, "2026-11-29T12:00:09Z".parse().unwrap());
        let conditions = pod["status"]["conditions"].as_array().unwrap();
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0]["reason"], "EvictionByEvictionAPI");
        assert_eq!(conditions[0]["lastTransitionTime"], "2026-11-29T12:00:00Z");
    }

    #[test]
    fn unready_pods_go_freely_only_from_a_healthy_budget_or_always_allow() {
        let pdb = |current: i64, desired: i64, policy: Value| json!({"spec": {"unhealthyPodEvictionPolicy": policy}, "status": {"currentHealthy": current, "desiredHealthy": desired}});
        assert!(unready_may_go(&pdb(3, 3, Value::Null)));
        assert!(!unready_may_go(&pdb(2, 3, Value::Null)));
        assert!(!unready_may_go(&pdb(0, 0, json!("IfHealthyBudget"))), "a budget that wants nothing");
        assert!(unready_may_go(&pdb(0, 3, json!("AlwaysAllow"))));
    }
}
