//! Taking a pod away the Kubernetes way: a `policy/v1` Eviction on the pod's `eviction`
//! subresource, as `kubectl drain` sends it, which kube-apiserver refuses (429) while the pod's
//! PodDisruptionBudget allows no disruption; and what such a refusal says, read from the
//! `Status` kube-apiserver answers (the budget's name, how many healthy pods it needs and has).
//!
//! The Eviction is built here rather than with kube-rs's `Api::evict`, which sends its delete
//! options as `delete_options` (kube-apiserver ignores the field): ours carry `deleteOptions`
//! with the pod's uid as a precondition, so a pick from the shared store, a few milliseconds
//! old, never evicts the pod's successor of the same name. It goes through the client without
//! kube-rs's own retries ([`super::client::Clients::evictions`]): a 429 comes back at once.
//!
//! May call: nothing else of the crate.

use super::api_calls::{ApiCall, Scope};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, ObjectMeta, Preconditions};
use kube::api::{Api, PostParams};
use kube::core::Status;
use serde::Serialize;
use std::sync::LazyLock;

/// The API request of an eviction (see [`super::api_calls`]): `create` on `pods/eviction`.
pub(crate) const API_CALLS: [ApiCall; 1] = [ApiCall::new(Scope::Target, "", "pods/eviction", "create")];

/// Why kube-apiserver refused an eviction: the pod's disruption budget, in its own words and,
/// where its message has them, the budget's name and numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetRefusal {
    /// The PodDisruptionBudget, when the refusal names it.
    pub budget: Option<String>,
    /// Healthy pods the budget needs (its `desiredHealthy`).
    pub needs: Option<u32>,
    /// Healthy pods it has (its `currentHealthy`).
    pub has: Option<u32>,
    /// kube-apiserver's words: the `DisruptionBudget` cause's message, else the Status message.
    pub message: String,
}

/// kube-apiserver's cause when the budget allows no disruption (`eviction.go`).
static NEEDS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^The disruption budget (\S+) needs (\d+) healthy pods and has (\d+) currently$")
        .expect("a valid pattern")
});
/// ... and when the budget's status has not caught up with its spec yet.
static PROCESSING: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^The disruption budget (\S+) is still being processed by the server\.$")
        .expect("a valid pattern")
});

impl BudgetRefusal {
    /// The refusal a 429 `Status` carries; `None` for any other answer.
    pub(crate) fn of(status: &Status) -> Option<Self> {
        if status.code != 429 {
            return None;
        }
        let causes = status.details.iter().flat_map(|d| &d.causes);
        let cause = causes.clone().find(|c| c.reason == "DisruptionBudget").or_else(|| causes.clone().next());
        let message = cause.map_or(&status.message, |c| &c.message).clone();
        if let Some(found) = NEEDS.captures(&message) {
            return Some(Self {
                budget: Some(found[1].to_string()),
                needs: found[2].parse().ok(),
                has: found[3].parse().ok(),
                message,
            });
        }
        let budget = PROCESSING.captures(&message).map(|found| found[1].to_string());
        Some(Self { budget, needs: None, has: None, message })
    }
}

/// Said after "Kubernetes said no: ": "the disruption budget critical-prod needs 3 healthy pods
/// and has 3", or kube-apiserver's own words when they say something else.
impl std::fmt::Display for BudgetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.budget, self.needs, self.has) {
            (Some(budget), Some(needs), Some(has)) => {
                write!(f, "the disruption budget {budget} needs {needs} healthy pods and has {has}")
            }
            (Some(budget), _, _) => write!(f, "the disruption budget {budget} is still being counted"),
            _ => f.write_str(self.message.trim_end_matches('.')),
        }
    }
}

/// How taking a pod away can fail (an eviction; a plain delete only ever fails the first and
/// the last way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvictError {
    /// The pod is already gone or was replaced (404, or 409 on the uid precondition).
    #[error("the pod is gone")]
    Gone,
    /// The disruption budget allows no disruption now (429): try again later.
    #[error("Kubernetes said no: {0}")]
    Refused(BudgetRefusal),
    /// Anything else the API answered, or no answer.
    #[error("{0}")]
    Failed(String),
}

/// The Eviction of `name` as long as it still has `uid` (pure, so its body is tested).
pub(crate) fn eviction(namespace: &str, name: &str, uid: &str) -> Eviction {
    Eviction {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..ObjectMeta::default() },
        delete_options: Some(DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(uid.into()).filter(|u: &String| !u.is_empty()),
                ..Default::default()
            }),
            ..DeleteOptions::default()
        }),
    }
}

/// Evicts pod `name` of `namespace`, only if it still has `uid`. `client` must be one that does
/// not retry 429 by itself ([`super::client::Clients::evictions`]).
pub(crate) async fn evict(client: &kube::Client, namespace: &str, name: &str, uid: &str) -> Result<(), EvictError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let body = eviction(namespace, name, uid);
    match api.create_subresource::<_, Status>("eviction", name, &PostParams::default(), &body).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Err(EvictError::Gone),
        Err(kube::Error::Api(status)) => match BudgetRefusal::of(&status) {
            Some(refusal) => Err(EvictError::Refused(refusal)),
            None => Err(EvictError::Failed(status.to_string())),
        },
        Err(error) => Err(EvictError::Failed(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 429 as kube-apiserver sends it (and the simulated API, whose tests hold it to that).
    fn refused(cause: &str) -> Status {
        serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Cannot evict pod as it would violate the pod's disruption budget.",
            "reason": "TooManyRequests", "code": 429,
            "details": {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_refusal_names_the_budget_and_its_numbers() {
        let refusal =
            BudgetRefusal::of(&refused("The disruption budget critical-prod needs 3 healthy pods and has 3 currently"))
                .unwrap();
        assert_eq!((refusal.budget.as_deref(), refusal.needs, refusal.has), (Some("critical-prod"), Some(3), Some(3)));
        assert_eq!(
            EvictError::Refused(refusal).to_string(),
            "Kubernetes said no: the disruption budget critical-prod needs 3 healthy pods and has 3"
        );
        let processing =
            BudgetRefusal::of(&refused("The disruption budget web is still being processed by the server.")).unwrap();
        assert_eq!(processing.to_string(), "the disruption budget web is still being counted");
        // Words this code does not know are passed on as they are.
        let other = BudgetRefusal::of(&refused("Something new.")).unwrap();
        assert_eq!((other.budget.as_deref(), other.to_string()), (None, "Something new".to_string()));
        let mut bare = refused("");
        bare.details = None;
        assert_eq!(
            BudgetRefusal::of(&bare).unwrap().to_string(),
            "Cannot evict pod as it would violate the pod's disruption budget"
        );
        let mut not_found = refused("x");
        not_found.code = 404;
        assert_eq!(BudgetRefusal::of(&not_found), None);
    }

    #[test]
    fn the_eviction_carries_the_uid_as_kube_apiserver_reads_it() {
        let body = serde_json::to_value(eviction("demopod", "critical-prod-2", "uid-2")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": "critical-prod-2", "namespace": "demopod"},
                "deleteOptions": {"preconditions": {"uid": "uid-2"}}
            })
        );
    }
}
