//! The Permissions group: every request the booth sends ([`crate::api_calls`], declared next to
//! the code that sends it) asked of the API server with a `SelfSubjectAccessReview`, one line
//! per resource and namespace; a refusal names the verbs, the resource, the namespace and the
//! rule of `deploy/base/rbac.yaml` to add. It says whose permissions these are
//! (`SelfSubjectReview`): in the booth's pod, its service account's. With `--pre`, the rights
//! to install instead: to create and patch what `crds/` and `deploy/base` hold.
//!
//! May call: `crate::cluster`.

use super::kubernetes::{Cluster, SharedApi, describe_error};
use super::{Check, Context, Group, timed_out};
use crate::cluster::api_calls::{ApiCall, RBAC_MANIFEST, SERVICE_ACCOUNT, Scope};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::Api;
use kube::api::PostParams;
use std::collections::BTreeMap;
use std::time::Duration;

const GROUP: Group = Group::Permissions;

/// Where an installed object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Cluster,
    /// The booth's namespace (`POD_NAMESPACE`).
    Own,
    /// The workload's (`K8S_NAMESPACE`).
    Target,
    /// `kube-system` (the device plugin).
    KubeSystem,
}

/// What installing creates: (API group, resource, where), for every kind in `crds/` and
/// `deploy/base` (a test holds the two together).
pub const INSTALL: &[(&str, &str, Place)] = &[
    ("apiextensions.k8s.io", "customresourcedefinitions", Place::Cluster),
    ("", "namespaces", Place::Cluster),
    ("", "serviceaccounts", Place::Own),
    ("", "services", Place::Own),
    ("apps", "deployments", Place::Own),
    ("apps", "daemonsets", Place::Own),
    ("apps", "daemonsets", Place::KubeSystem),
    ("rbac.authorization.k8s.io", "roles", Place::Own),
    ("rbac.authorization.k8s.io", "roles", Place::Target),
    ("rbac.authorization.k8s.io", "rolebindings", Place::Own),
    ("rbac.authorization.k8s.io", "rolebindings", Place::Target),
    ("rbac.authorization.k8s.io", "clusterroles", Place::Cluster),
    ("rbac.authorization.k8s.io", "clusterrolebindings", Place::Cluster),
    ("networking.k8s.io", "networkpolicies", Place::Own),
    ("networking.k8s.io", "networkpolicies", Place::KubeSystem),
];

/// `pods`, `events.events.k8s.io`, `booths.conferenceli.dev/status`: a resource as kubectl
/// names it.
fn qualified(group: &str, resource: &str) -> String {
    let (plural, sub) = resource.split_once('/').map_or((resource, None), |(p, s)| (p, Some(s)));
    let mut name = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
    if let Some(sub) = sub {
        name = format!("{name}/{sub}");
    }
    name
}

/// Whether the caller may `verb` `resource` (`plural` or `plural/subresource`) of `group` in
/// `namespace` (`None`: cluster-wide), by a `SelfSubjectAccessReview`.
async fn may(
    cluster: &Cluster,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
    timeout: Duration,
) -> Result<bool, String> {
    let (plural, subresource) = resource.split_once('/').map_or((resource, None), |(p, s)| (p, Some(s)));
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(plural.into()),
                subresource: subresource.map(str::to_string),
                namespace: namespace.map(str::to_string),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    match tokio::time::timeout(timeout, api.create(&PostParams::default(), &review)).await {
        Err(_) => Err(timed_out(timeout)),
        Ok(Err(error)) => Err(describe_error(&error)),
        Ok(Ok(answer)) => Ok(answer.status.is_some_and(|s| s.allowed)),
    }
}

/// Who the caller is, by a `SelfSubjectReview` (`None` where the API cannot say).
async fn who_am_i(cluster: &Cluster, timeout: Duration) -> Option<String> {
    let api: Api<SelfSubjectReview> = Api::all(cluster.client.clone());
    let answer = tokio::time::timeout(timeout, api.create(&PostParams::default(), &SelfSubjectReview::default()))
        .await
        .ok()?
        .ok()?;
    answer.status?.user_info?.username
}

/// A verb and whether it is allowed (or why that could not be asked).
type Answer<'a> = (&'a str, Result<bool, String>);

/// The API server, if it answered (else the Kubernetes group says why, and nothing is asked).
async fn answering(context: &Context, api: SharedApi) -> Option<&Cluster> {
    let cluster = context.kube.as_ref().ok()?;
    api.await.ok().map(|_| cluster)
}

/// The verbs as kubectl lists them: `list, watch, delete`.
fn verbs(list: &[&str]) -> String {
    list.join(", ")
}

/// The account line: whose permissions the rest of the group shows.
async fn account(context: &Context, cluster: &Cluster) -> Option<Check> {
    let expected = format!("system:serviceaccount:{}:{SERVICE_ACCOUNT}", context.settings.booth_namespace);
    let user = who_am_i(cluster, context.settings.timeout).await?;
    Some(if user == expected {
        Check::ok(GROUP, "account", format!("checked as the booth's service account {user}"))
    } else {
        Check::warn(
            GROUP,
            "account",
            format!("checked as {user}, not as the booth's service account {expected}"),
            format!(
                "run it in the booth's pod for the account's own rights: kubectl -n {} exec deploy/conferenceli -- conferenceli check",
                context.settings.booth_namespace
            ),
        )
    })
}

/// Every request the booth sends, asked; one line per resource and namespace (nothing when the
/// API does not answer: the Kubernetes group says so).
pub(crate) async fn booth(context: &Context, api: SharedApi) -> Vec<Check> {
    let Some(cluster) = answering(context, api).await else { return Vec::new() };
    let settings = &context.settings;
    let namespace = |scope: Scope| match scope {
        Scope::Target => Some(settings.namespace.as_str()),
        Scope::Own => Some(settings.booth_namespace.as_str()),
        Scope::Cluster => None,
    };
    let calls: Vec<ApiCall> = crate::api_calls();
    let asked = calls
        .iter()
        .map(|call| may(cluster, call.verb, call.group, call.resource, namespace(call.scope), settings.timeout));
    let (account, answers) = futures::join!(account(context, cluster), futures::future::join_all(asked));
    let mut by_resource: BTreeMap<(Scope, &str, &str), Vec<Answer>> = BTreeMap::new();
    for (call, answer) in calls.iter().zip(answers) {
        by_resource.entry((call.scope, call.group, call.resource)).or_default().push((call.verb, answer));
    }
    let mut checks: Vec<Check> = account.into_iter().collect();
    for ((scope, group, resource), answers) in by_resource {
        let name = match namespace(scope) {
            Some(ns) => format!("{} in {ns}", qualified(group, resource)),
            None => format!("{} (cluster-wide)", qualified(group, resource)),
        };
        if let Some((_, Err(error))) = answers.iter().find(|(_, a)| a.is_err()) {
            checks.push(Check::fail(
                GROUP,
                name,
                format!("cannot ask the API server: {error}"),
                "the API server must answer SelfSubjectAccessReviews (Kubernetes 1.19 or later)",
            ));
            continue;
        }
        let allowed: Vec<&str> = answers.iter().filter(|(_, a)| *a == Ok(true)).map(|(v, _)| *v).collect();
        let denied: Vec<&str> = answers.iter().filter(|(_, a)| *a == Ok(false)).map(|(v, _)| *v).collect();
        if denied.is_empty() {
            checks.push(Check::ok(GROUP, name, format!("may {}", verbs(&allowed))));
            continue;
        }
        let mut message = format!("may not {}", verbs(&denied));
        if !allowed.is_empty() {
            message.push_str(&format!(" (may {})", verbs(&allowed)));
        }
        checks.push(Check::fail(GROUP, name, message, rule_hint(scope, group, resource, &denied, namespace(scope))));
    }
    checks
}

/// The rule to add to the booth's RBAC manifest for `denied` verbs.
fn rule_hint(scope: Scope, group: &str, resource: &str, denied: &[&str], namespace: Option<&str>) -> String {
    let (kind, name) = scope.manifest_role();
    let place = namespace.map(|ns| format!(" (namespace {ns})")).unwrap_or_default();
    let quoted = |list: &[&str]| list.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ");
    format!(
        "add to {kind} {name}{place} in {RBAC_MANIFEST} the rule {{apiGroups: [{group:?}], resources: [{resource:?}], \
         verbs: [{}]}}, then kubectl apply -f {RBAC_MANIFEST}",
        quoted(denied)
    )
}

/// `--pre`: may the caller create and patch everything an install writes?
pub(crate) async fn install(context: &Context, api: SharedApi) -> Vec<Check> {
    let Some(cluster) = answering(context, api).await else { return Vec::new() };
    let settings = &context.settings;
    let namespace = |place: Place| match place {
        Place::Cluster => None,
        Place::Own => Some(settings.booth_namespace.as_str()),
        Place::Target => Some(settings.namespace.as_str()),
        Place::KubeSystem => Some("kube-system"),
    };
    let mut places: Vec<(&str, &str, Option<&str>)> =
        INSTALL.iter().map(|(group, resource, place)| (*group, *resource, namespace(*place))).collect();
    places.dedup();
    let asked = places.iter().map(|(group, resource, ns)| async move {
        let (create, patch) = futures::join!(
            may(cluster, "create", group, resource, *ns, settings.timeout),
            may(cluster, "patch", group, resource, *ns, settings.timeout),
        );
        (create, patch)
    });
    let answers = futures::future::join_all(asked).await;
    let mut checks = Vec::new();
    for ((group, resource, ns), (create, patch)) in places.iter().zip(answers) {
        let name = match ns {
            Some(ns) => format!("install {} in {ns}", qualified(group, resource)),
            None => format!("install {}", qualified(group, resource)),
        };
        checks.push(match (create, patch) {
            (Ok(true), Ok(true)) => Check::ok(GROUP, name, "may create and patch"),
            (Err(error), _) | (_, Err(error)) => Check::fail(GROUP, name, error, "the API server must answer SelfSubjectAccessReviews"),
            _ => Check::fail(
                GROUP,
                name,
                "may not create and patch them",
                "install as a cluster admin: K3s's kubeconfig (sudo k3s kubectl, or KUBECONFIG=/etc/rancher/k3s/k3s.yaml) or Argo CD (deploy/argocd/)",
            ),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_manifest_rule_to_add() {
        let hint = rule_hint(Scope::Target, "", "pods", &["delete"], Some("demopod"));
        assert_eq!(
            hint,
            r#"add to Role conferenceli-target (namespace demopod) in deploy/base/rbac.yaml the rule {apiGroups: [""], resources: ["pods"], verbs: ["delete"]}, then kubectl apply -f deploy/base/rbac.yaml"#
        );
        assert!(
            rule_hint(Scope::Cluster, "", "nodes", &["list", "watch"], None)
                .starts_with("add to ClusterRole conferenceli-nodes in")
        );
        assert_eq!(qualified("conferenceli.dev", "booths/status"), "booths.conferenceli.dev/status");
        assert_eq!(qualified("", "pods"), "pods");
    }
}
