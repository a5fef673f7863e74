//! What a cluster holds before anyone writes to it, as kube-apiserver creates it at start: the
//! system namespaces (and the workload's and those configured), and the bootstrap RBAC policy that lets
//! `system:masters` do anything (`cluster-admin`), lets every authenticated user read discovery,
//! OpenAPI and the version (`system:discovery`, `system:public-info-viewer`) and ask about
//! themselves (`system:basic-user`: `SelfSubjectAccessReview`, `SelfSubjectRulesReview`,
//! `SelfSubjectReview`). The aggregated `admin`, `edit` and `view` roles are not created.
//!
//! May call: `crate::config`.

use crate::config::SimConfig;
use serde_json::{Value, json};

/// Every object to create at start: (API group, plural, object).
pub(crate) fn objects(config: &SimConfig) -> Vec<(&'static str, &'static str, Value)> {
    let mut out = Vec::new();
    let mut namespaces = vec!["default", "kube-node-lease", "kube-public", "kube-system"];
    for name in std::iter::once(&config.namespace).chain(&config.namespaces) {
        if !namespaces.contains(&name.as_str()) {
            namespaces.push(name);
        }
    }
    for name in namespaces {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}});
        out.push(("", "namespaces", namespace));
    }
    let discovery_urls = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
    ];
    let public_urls = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    let policy = [
        (
            "cluster-admin",
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            vec!["system:masters"],
        ),
        (
            "system:discovery",
            json!([{"nonResourceURLs": discovery_urls, "verbs": ["get"]}]),
            vec!["system:authenticated"],
        ),
        (
            "system:public-info-viewer",
            json!([{"nonResourceURLs": public_urls, "verbs": ["get"]}]),
            vec!["system:authenticated", "system:unauthenticated"],
        ),
        (
            "system:basic-user",
            json!([
                {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
            ]),
            vec!["system:authenticated"],
        ),
    ];
    for (name, rules, groups) in policy {
        let metadata = json!({"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}});
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": metadata, "rules": rules});
        let subjects: Vec<Value> = groups
            .iter()
            .map(|group| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}))
            .collect();
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}, "subjects": subjects});
        out.push(("rbac.authorization.k8s.io", "clusterroles", role));
        out.push(("rbac.authorization.k8s.io", "clusterrolebindings", binding));
    }
    out
}
