//! Authorisation as kube-apiserver's RBAC authorizer decides it, over the Role, ClusterRole,
//! RoleBinding and ClusterRoleBinding objects in the store: what a request asks
//! (`Attributes`, kube's `RequestInfo`), whether a user may (`authorize`), everything a user
//! may do in a namespace (`rules_for`, `SelfSubjectRulesReview`), and kube's 403 answer
//! (`forbidden`).
//!
//! As in kube: members of `system:masters` may do anything; ClusterRoleBindings are visited
//! first, then the RoleBindings of the request's namespace; a rule matches on its verbs,
//! API groups, resources (`pods`, `pods/eviction`, `*`, `*/status`), resource names (empty:
//! any) or non-resource URLs (`/healthz`, `/apis/*`, `*`); the first rule that allows wins and
//! is named in the reason (`RBAC: allowed by RoleBinding "b/ns" of Role "r" to ServiceAccount
//! "sa/ns"`); a binding whose role is missing makes the denial's reason say so. Not
//! reproduced: ClusterRole aggregation (`aggregationRule`), and the `escalate` and `bind`
//! checks on writes of RBAC objects (kube refuses to let a user grant what they do not hold;
//! here whoever may create a Role may write any rule into it).
//!
//! May call: `crate::error`, `crate::params`, `crate::resources`, `crate::selectors`, `crate::store`.

use crate::error::{ApiError, Details};
use crate::params::Params;
use crate::resources::RBAC_GROUP;
use crate::selectors::{FieldSelector, Selectors};
use crate::store::Store;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use serde::de::DeserializeOwned;

/// The group whose members may do anything, whatever the bindings say.
pub const MASTERS: &str = "system:masters";
/// The group every authenticated user is in.
pub(crate) const AUTHENTICATED: &str = "system:authenticated";
/// The prefix of a service account's user name: `system:serviceaccount:<namespace>:<name>`.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Who makes a request, as an authenticator names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The user as authenticated: in `system:authenticated` (kube's `AuthenticatedGroupAdder`)
    /// and, for a service account's name, in `system:serviceaccounts` and
    /// `system:serviceaccounts:<namespace>` (what kube's service-account authenticator adds).
    pub(crate) fn authenticated(mut self) -> Self {
        let mut add = |group: String| {
            if !self.groups.contains(&group) {
                self.groups.push(group);
            }
        };
        if let Some((namespace, _)) = service_account(&self.name) {
            add("system:serviceaccounts".into());
            add(format!("system:serviceaccounts:{namespace}"));
        }
        add(AUTHENTICATED.into());
        self
    }

    fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }
}

/// The namespace and name of a service account's user name.
fn service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// What a request asks to do, as kube's `RequestInfo` reads it off the path, or as a
/// `SelfSubjectAccessReview` states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    pub resource_request: bool,
    /// The URL path (non-resource requests).
    pub path: String,
    pub verb: String,
    pub group: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

impl Attributes {
    /// Reads a request the way kube-apiserver's `RequestInfoFactory` does: `/api/v1/...` and
    /// `/apis/<group>/<version>/...` are resource requests (verb from the method: `get`, `list`
    /// or `watch` without a name, `create`, `update`, `patch`, `delete`, `deletecollection`;
    /// `namespaces/<ns>/` gives the namespace, then resource, name, subresource); a list or
    /// watch pinned to one name by `fieldSelector=metadata.name=<name>` is about that name;
    /// anything else is a non-resource request whose verb is the lowercased method.
    pub(crate) fn of_request(method: &str, path: &str, query: Option<&str>) -> Self {
        let mut info = Self { path: path.to_string(), verb: method.to_ascii_lowercase(), ..Self::default() };
        let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
        let rest = match parts.as_slice() {
            ["api", _version, rest @ ..] if !rest.is_empty() => rest,
            ["apis", group, _version, rest @ ..] if !rest.is_empty() => {
                info.group = group.to_string();
                rest
            }
            _ => return info,
        };
        info.resource_request = true;
        let mut rest = rest;
        if rest[0] == "watch" && rest.len() > 1 {
            info.verb = "watch".into();
            rest = &rest[1..];
        } else {
            info.verb = match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .into();
        }
        if rest[0] == "namespaces" && rest.len() > 1 {
            info.namespace = rest[1].to_string();
            // `namespaces/<ns>/status` and `/finalize` are the namespace's own subresources.
            if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
                rest = &rest[2..];
            }
        }
        if let Some(resource) = rest.first() {
            info.resource = resource.to_string();
        }
        if let Some(name) = rest.get(1) {
            info.name = name.to_string();
        }
        if let Some(subresource) = rest.get(2) {
            info.subresource = subresource.to_string();
        }
        if info.name.is_empty() && info.verb == "get" {
            // A query that does not parse is a list by no name, as in kube.
            let params = Params::parse(query.unwrap_or("")).ok();
            info.verb = if params.as_ref().is_some_and(|p| p.flag("watch")) { "watch" } else { "list" }.into();
            let pinned = params.as_ref().and_then(|p| p.get("fieldSelector")).and_then(FieldSelector::exact_name);
            if let Some(pinned) = pinned
                && !pinned.is_empty()
                && !pinned.contains('/')
                && !matches!(pinned.as_str(), "." | "..")
            {
                info.name = pinned;
            }
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".into();
        }
        info
    }

    /// `pods`, or `pods/eviction` for a subresource: what RBAC rules name.
    fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Whether a request is allowed, and why (the reason kube gives in a `SelfSubjectAccessReview`
/// and after the 403 message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub reason: String,
}

fn contains(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item == wanted)
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    contains(&rule.verbs, "*") || contains(&rule.verbs, verb)
}

/// kube's `RuleAllows`.
fn rule_allows(attributes: &Attributes, rule: &PolicyRule) -> bool {
    if !attributes.resource_request {
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        return verb_matches(rule, &attributes.verb)
            && urls.iter().any(|url| {
                url == "*"
                    || *url == attributes.path
                    || url.strip_suffix('*').is_some_and(|prefix| attributes.path.starts_with(prefix))
            });
    }
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    let names = rule.resource_names.as_deref().unwrap_or_default();
    let combined = attributes.combined_resource();
    let resource_matches = resources.iter().any(|resource| {
        resource == "*"
            || *resource == combined
            || (!attributes.subresource.is_empty()
                && resource.strip_prefix("*/").is_some_and(|sub| sub == attributes.subresource))
    });
    verb_matches(rule, &attributes.verb)
        && (contains(groups, "*") || contains(groups, &attributes.group))
        && resource_matches
        && (names.is_empty() || contains(names, &attributes.name))
}

/// kube's `appliesToUser`: a User by name, a Group by membership, a ServiceAccount by its user
/// name (its namespace defaulting to the RoleBinding's).
fn applies_to(user: &UserInfo, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => contains(&user.groups, &subject.name),
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(binding_namespace);
            !namespace.is_empty() && service_account(&user.name) == Some((namespace, subject.name.as_str()))
        }
        _ => false,
    }
}

/// How kube names a subject in a reason: `ServiceAccount "name/namespace"`, `Group "g"`.
fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty()).unwrap_or(binding_namespace);
            format!("{} {:?}", subject.kind, format!("{}/{namespace}", subject.name))
        }
        _ => format!("{} {:?}", subject.kind, subject.name),
    }
}

/// The objects of one RBAC type in `namespace` (all namespaces for the cluster-scoped ones).
fn objects<T: DeserializeOwned>(store: &Store, plural: &str, namespace: Option<&str>) -> Vec<T> {
    let Some(def) = store.registry.find(RBAC_GROUP, "v1", plural) else { return Vec::new() };
    let Ok(page) = store.list(&def, namespace, &Selectors::default(), None, None) else { return Vec::new() };
    page.items.iter().filter_map(|object| serde_json::from_value(object.as_ref().clone()).ok()).collect()
}

/// The rules of the role a binding refers to, or kube's error when it is missing.
fn role_rules(store: &Store, role: &RoleRef, namespace: &str) -> Result<Vec<PolicyRule>, String> {
    let lookup = |plural: &str, ns: &str| {
        let def = store.registry.find(RBAC_GROUP, "v1", plural)?;
        store.get(&def, ns, &role.name).ok()
    };
    match role.kind.as_str() {
        "ClusterRole" => lookup("clusterroles", "")
            .and_then(|o| serde_json::from_value::<ClusterRole>(o.as_ref().clone()).ok())
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io {:?} not found", role.name)),
        "Role" => lookup("roles", namespace)
            .and_then(|o| serde_json::from_value::<Role>(o.as_ref().clone()).ok())
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("role.rbac.authorization.k8s.io {:?} not found", role.name)),
        other => Err(format!("unknown roleRef kind {other:?}")),
    }
}

/// Visits every rule that applies to `user` in `namespace` (ClusterRoleBindings first, then the
/// namespace's RoleBindings), with a description of the binding it came from, until `visit`
/// returns false; returns the errors met on the way (a binding to a missing role).
fn visit_rules(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
    mut visit: impl FnMut(&dyn Fn() -> String, &PolicyRule) -> bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    for binding in objects::<ClusterRoleBinding>(store, "clusterrolebindings", None) {
        let subjects = binding.subjects.as_deref().unwrap_or_default();
        let Some(subject) = subjects.iter().find(|s| applies_to(user, s, "")) else { continue };
        match role_rules(store, &binding.role_ref, "") {
            Ok(rules) => {
                let source = || {
                    format!(
                        "ClusterRoleBinding {:?} of {} {:?} to {}",
                        binding.metadata.name.as_deref().unwrap_or_default(),
                        binding.role_ref.kind,
                        binding.role_ref.name,
                        describe_subject(subject, "")
                    )
                };
                for rule in &rules {
                    if !visit(&source, rule) {
                        return errors;
                    }
                }
            }
            Err(error) => errors.push(error),
        }
    }
    if namespace.is_empty() {
        return errors;
    }
    for binding in objects::<RoleBinding>(store, "rolebindings", Some(namespace)) {
        let subjects = binding.subjects.as_deref().unwrap_or_default();
        let Some(subject) = subjects.iter().find(|s| applies_to(user, s, namespace)) else { continue };
        match role_rules(store, &binding.role_ref, namespace) {
            Ok(rules) => {
                let source = || {
                    format!(
                        "RoleBinding {:?} of {} {:?} to {}",
                        format!("{}/{namespace}", binding.metadata.name.as_deref().unwrap_or_default()),
                        binding.role_ref.kind,
                        binding.role_ref.name,
                        describe_subject(subject, namespace)
                    )
                };
                for rule in &rules {
                    if !visit(&source, rule) {
                        return errors;
                    }
                }
            }
            Err(error) => errors.push(error),
        }
    }
    errors
}

/// The errors of a rule walk as kube aggregates them: one bare, several in `[a, b]`.
fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Whether `user` may do what `attributes` ask.
pub(crate) fn authorize(store: &Store, user: &UserInfo, attributes: &Attributes) -> Decision {
    if user.is_master() {
        return Decision { allowed: true, reason: String::new() };
    }
    let mut allowed_by = None;
    let errors = visit_rules(store, user, &attributes.namespace, |source, rule| {
        if rule_allows(attributes, rule) {
            allowed_by = Some(source());
            return false;
        }
        true
    });
    match allowed_by {
        Some(source) => Decision { allowed: true, reason: format!("RBAC: allowed by {source}") },
        None if errors.is_empty() => Decision { allowed: false, reason: String::new() },
        None => Decision { allowed: false, reason: format!("RBAC: {}", aggregate(&errors)) },
    }
}

/// What a user may do in a namespace (`SelfSubjectRulesReview`).
#[derive(Debug, Default)]
pub(crate) struct Rules {
    /// Rules on resources and on non-resource URLs, in the order the bindings gave them.
    pub resource: Vec<PolicyRule>,
    pub non_resource: Vec<PolicyRule>,
    /// Why the list may be incomplete (a binding to a missing role).
    pub evaluation_error: Option<String>,
}

/// Every rule that applies to `user` in `namespace`: the privileged group's `*` first, then
/// the rules of the ClusterRoleBindings and the namespace's RoleBindings.
pub(crate) fn rules_for(store: &Store, user: &UserInfo, namespace: &str) -> Rules {
    let mut rules = Rules::default();
    if user.is_master() {
        rules.resource.push(everything());
        rules.non_resource.push(every_url());
    }
    let errors = visit_rules(store, user, namespace, |_, rule| {
        if rule.non_resource_urls.as_ref().is_some_and(|urls| !urls.is_empty()) {
            rules.non_resource.push(rule.clone());
        } else {
            rules.resource.push(rule.clone());
        }
        true
    });
    if !errors.is_empty() {
        rules.evaluation_error = Some(aggregate(&errors));
    }
    rules
}

/// `*` on every resource of every group.
pub(crate) fn everything() -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec!["*".into()]),
        resources: Some(vec!["*".into()]),
        verbs: vec!["*".into()],
        ..PolicyRule::default()
    }
}

/// `*` on every non-resource URL.
pub(crate) fn every_url() -> PolicyRule {
    PolicyRule { non_resource_urls: Some(vec!["*".into()]), verbs: vec!["*".into()], ..PolicyRule::default() }
}

/// kube-apiserver's 403: `pods "p" is forbidden: User "u" cannot delete resource "pods" in API
/// group "" in the namespace "ns"` (or `at the cluster scope`, or `forbidden: User "u" cannot
/// get path "/x"`), the authorizer's reason after a colon, and `details` naming the object.
pub(crate) fn forbidden(user: &UserInfo, attributes: &Attributes, reason: &str) -> ApiError {
    let mut why = if !attributes.resource_request {
        format!("User {:?} cannot {} path {:?}", user.name, attributes.verb, attributes.path)
    } else {
        let resource = attributes.combined_resource();
        let scope = if attributes.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace {:?}", attributes.namespace)
        };
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            user.name, attributes.verb, attributes.group
        )
    };
    if !reason.is_empty() {
        why = format!("{why}: {reason}");
    }
    let qualified = match (attributes.resource_request, attributes.group.is_empty()) {
        (false, _) => String::new(),
        (true, true) => attributes.resource.clone(),
        (true, false) => format!("{}.{}", attributes.resource, attributes.group),
    };
    let message = match (qualified.is_empty(), attributes.name.is_empty()) {
        (true, _) => format!("forbidden: {why}"),
        (false, true) => format!("{qualified} is forbidden: {why}"),
        (false, false) => format!("{qualified} {:?} is forbidden: {why}", attributes.name),
    };
    let details = Details {
        name: attributes.name.clone(),
        group: if attributes.resource_request { attributes.group.clone() } else { String::new() },
        kind: if attributes.resource_request { attributes.resource.clone() } else { String::new() },
        causes: Vec::new(),
        retry_after_seconds: 0,
    };
    ApiError { code: 403, reason: "Forbidden", message, details: Some(Box::new(details)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(method: &str, path: &str, query: &str) -> Attributes {
        Attributes::of_request(method, path, Some(query))
    }

    #[test]
    fn requests_read_like_kubes_request_info() {
        let list = attributes("GET", "/api/v1/namespaces/demopod/pods", "");
        assert_eq!((list.verb.as_str(), list.namespace.as_str(), list.resource.as_str()), ("list", "demopod", "pods"));
        assert!(list.resource_request && list.name.is_empty());
        assert_eq!(attributes("GET", "/api/v1/pods", "watch=true").verb, "watch");
        assert_eq!(attributes("GET", "/api/v1/pods", "watch=false").verb, "list");
        let evict = attributes("POST", "/api/v1/namespaces/demopod/pods/web-0/eviction", "");
        assert_eq!((evict.verb.as_str(), evict.name.as_str()), ("create", "web-0"));
        assert_eq!(evict.combined_resource(), "pods/eviction");
        let named = attributes(
            "GET",
            "/apis/conferenceli.dev/v1alpha1/namespaces/c/booths",
            "fieldSelector=metadata.name%3Dbooth&watch=1",
        );
        assert_eq!(
            (named.verb.as_str(), named.name.as_str(), named.group.as_str()),
            ("watch", "booth", "conferenceli.dev")
        );
        let namespace = attributes("GET", "/api/v1/namespaces/demopod", "");
        assert_eq!(
            (namespace.verb.as_str(), namespace.resource.as_str(), namespace.name.as_str()),
            ("get", "namespaces", "demopod")
        );
        assert_eq!(namespace.namespace, "demopod");
        assert_eq!(attributes("PUT", "/api/v1/namespaces/demopod/finalize", "").subresource, "finalize");
        assert_eq!(attributes("DELETE", "/api/v1/namespaces/d/pods", "").verb, "deletecollection");
        let discovery = attributes("GET", "/apis/apps", "");
        assert!(!discovery.resource_request);
        assert_eq!((discovery.verb.as_str(), discovery.path.as_str()), ("get", "/apis/apps"));
        assert!(!attributes("GET", "/api/v1", "").resource_request);
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            verbs: strings(verbs),
            resource_names: (!names.is_empty()).then(|| strings(names)),
            ..PolicyRule::default()
        }
    }

    #[test]
    fn rules_match_on_verbs_groups_resources_subresources_and_names() {
        let delete_pod = attributes("DELETE", "/api/v1/namespaces/d/pods/p", "");
        assert!(rule_allows(&delete_pod, &rule(&[""], &["pods"], &["delete"], &[])));
        assert!(rule_allows(&delete_pod, &rule(&["*"], &["*"], &["*"], &[])));
        assert!(!rule_allows(&delete_pod, &rule(&["apps"], &["pods"], &["delete"], &[])));
        assert!(!rule_allows(&delete_pod, &rule(&[""], &["pods"], &["get"], &[])));
        assert!(rule_allows(&delete_pod, &rule(&[""], &["pods"], &["delete"], &["p"])));
        assert!(!rule_allows(&delete_pod, &rule(&[""], &["pods"], &["delete"], &["q"])));
        let status = attributes("PUT", "/api/v1/namespaces/d/pods/p/status", "");
        assert!(!rule_allows(&status, &rule(&[""], &["pods"], &["update"], &[])), "a subresource is named");
        assert!(rule_allows(&status, &rule(&[""], &["pods/status"], &["update"], &[])));
        assert!(rule_allows(&status, &rule(&[""], &["*/status"], &["update"], &[])));
        let create = attributes("POST", "/api/v1/namespaces/d/pods", "");
        assert!(!rule_allows(&create, &rule(&[""], &["pods"], &["create"], &["p"])), "no name to match on create");
        let url = |urls: &[&str]| PolicyRule {
            non_resource_urls: Some(urls.iter().map(|u| u.to_string()).collect()),
            verbs: vec!["get".into()],
            ..PolicyRule::default()
        };
        let version = attributes("GET", "/version", "");
        assert!(rule_allows(&version, &url(&["/version"])));
        assert!(rule_allows(&attributes("GET", "/apis/apps/v1", ""), &url(&["/apis/*"])));
        assert!(!rule_allows(&version, &url(&["/healthz"])));
        assert!(!rule_allows(&delete_pod, &url(&["*"])), "URL rules never allow resources");
    }

    #[test]
    fn service_accounts_get_their_groups_and_match_their_subjects() {
        let user = UserInfo { name: "system:serviceaccount:booth:app".into(), uid: "1".into(), groups: vec![] }
            .authenticated();
        assert_eq!(user.groups, ["system:serviceaccounts", "system:serviceaccounts:booth", AUTHENTICATED]);
        let subject = |namespace: Option<&str>| Subject {
            kind: "ServiceAccount".into(),
            name: "app".into(),
            namespace: namespace.map(str::to_string),
            ..Subject::default()
        };
        assert!(applies_to(&user, &subject(Some("booth")), "elsewhere"));
        assert!(applies_to(&user, &subject(None), "booth"));
        assert!(!applies_to(&user, &subject(None), ""));
        assert!(!applies_to(&user, &subject(Some("other")), "booth"));
        assert_eq!(describe_subject(&subject(None), "booth"), r#"ServiceAccount "app/booth""#);
    }

    #[test]
    fn refusals_read_as_kube_apiservers() {
        let user = UserInfo { name: "x".into(), uid: String::new(), groups: vec![] };
        let error = forbidden(&user, &attributes("DELETE", "/api/v1/namespaces/demopod/pods", ""), "");
        assert_eq!(
            error.message,
            r#"pods is forbidden: User "x" cannot deletecollection resource "pods" in API group "" in the namespace "demopod""#
        );
        let error = forbidden(&user, &attributes("GET", "/apis/apps/v1/namespaces/d/deployments/web", ""), "");
        assert_eq!(
            error.message,
            r#"deployments.apps "web" is forbidden: User "x" cannot get resource "deployments" in API group "apps" in the namespace "d""#
        );
        let status = error.to_status();
        assert_eq!(status["details"], serde_json::json!({"name": "web", "group": "apps", "kind": "deployments"}));
        let nodes = forbidden(&user, &attributes("GET", "/api/v1/nodes", ""), "RBAC: x");
        assert!(
            nodes.message.ends_with(r#"cannot list resource "nodes" in API group "" at the cluster scope: RBAC: x"#)
        );
        let path = forbidden(&user, &attributes("GET", "/version", ""), "");
        assert_eq!(path.message, r#"forbidden: User "x" cannot get path "/version""#);
        assert_eq!(path.to_status()["details"], serde_json::json!({}));
    }
}
