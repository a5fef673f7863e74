//! The resource types the simulated API serves, and the discovery documents that describe them.
//!
//! Storage in the simulated API is generic (every object is JSON); this registry is what tells a
//! pod from a node: its group, version, plural, kind, scope, whether it has a `status`
//! subresource, which fields its field selectors may name, and whether it is a view of another
//! resource's storage (`events.k8s.io` Events, see `crate::conversion`). Core types are built in;
//! custom resources come from `CustomResourceDefinition`s, both this project's own (registered at
//! start) and any a client creates through the API.
//!
//! May call: `crate::conversion`, `crate::selectors`.

use crate::conversion::{self, View};
use crate::selectors::{self, SelectableField};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::{Arc, RwLock};

/// One served resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub(crate) singular: String,
    pub namespaced: bool,
    pub(crate) short_names: Vec<String>,
    pub(crate) has_status: bool,
    /// The verbs discovery lists for it: every verb, or `create` alone for the reviews that are
    /// answered and never stored (`SelfSubjectAccessReview`, ...).
    pub(crate) verbs: &'static [&'static str],
    /// A CRD's `additionalPrinterColumns`, for `kubectl get`.
    pub(crate) printer_columns: Vec<PrinterColumn>,
    /// A CRD version's `openAPIV3Schema`: custom resources are pruned, defaulted and validated
    /// against it ([`crate::schema`]). `None` for the built-in types.
    pub(crate) schema: Option<Arc<Value>>,
    /// The subresources besides `status` (`pods/eviction`).
    pub(crate) subresources: Vec<Subresource>,
    /// The status a create starts from, whatever the object says, where kube's strategy resets
    /// it (a PodDisruptionBudget's is the disruption controller's to write).
    pub(crate) initial_status: Option<Value>,
    /// The fields its field selectors may name.
    pub(crate) fields: &'static [SelectableField],
    /// Whose storage its objects live in, converted, when not its own.
    pub(crate) view: Option<&'static View>,
}

/// A subresource served with a kind of its own (`pods/eviction` takes a `policy/v1` Eviction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// `POST pods/<name>/eviction` with a `policy/v1` Eviction ([`crate::eviction`]).
pub(crate) const EVICTION: Subresource =
    Subresource { name: "eviction", group: "policy", version: "v1", kind: "Eviction", verbs: &["create"] };

/// The verbs of a stored resource type.
const ALL_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
/// The verb of a review: created, answered in its `status`, not stored.
pub(crate) const CREATE_ONLY: &[&str] = &["create"];

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrinterColumn {
    pub name: String,
    pub kind: String,
    pub(crate) json_path: String,
    pub(crate) priority: u8,
}

impl ResourceDef {
    fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool, has_status: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            namespaced,
            short_names: Vec::new(),
            has_status,
            verbs: ALL_VERBS,
            printer_columns: Vec::new(),
            schema: None,
            subresources: Vec::new(),
            initial_status: None,
            fields: selectors::DEFAULT_FIELDS,
            view: None,
        }
    }

    /// A review type: only `create`, answered and not stored.
    fn review(group: &str, kind: &str, plural: &str) -> Self {
        Self { verbs: CREATE_ONLY, ..Self::new(group, "v1", kind, plural, false, false) }
    }

    fn short(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    fn with_subresource(mut self, subresource: Subresource) -> Self {
        self.subresources.push(subresource);
        self
    }

    fn with_initial_status(mut self, status: Value) -> Self {
        self.initial_status = Some(status);
        self
    }

    fn with_fields(mut self, fields: &'static [SelectableField]) -> Self {
        self.fields = fields;
        self
    }

    fn view_of(mut self, view: &'static View) -> Self {
        self.view = Some(view);
        self
    }

    /// The storage its objects live in: the qualified name of its own, or of the resource it is
    /// a view of.
    pub(crate) fn storage_name(&self) -> String {
        self.view.map_or_else(|| self.qualified_name(), |view| view.storage.into())
    }

    /// One of its objects as stored.
    pub(crate) fn to_storage(&self, object: Value) -> Value {
        match self.view {
            Some(view) => view.to_storage(&object),
            None => object,
        }
    }

    /// One of its objects as stored, without a copy when it is stored as it is.
    pub(crate) fn stored_form<'a>(&self, object: &'a Value) -> Cow<'a, Value> {
        self.view.map_or(Cow::Borrowed(object), |view| Cow::Owned(view.to_storage(object)))
    }

    /// A stored object as this resource serves it.
    pub(crate) fn served(&self, stored: &Arc<Value>) -> Arc<Value> {
        self.view.map_or_else(|| stored.clone(), |view| Arc::new(view.to_view(stored)))
    }

    /// Whether `<object>/<name>` is served: `status` when the type has one, and its others.
    pub(crate) fn serves(&self, subresource: &str) -> bool {
        (subresource == "status" && self.has_status) || self.subresources.iter().any(|s| s.name == subresource)
    }

    /// `v1` for the core group, `group/version` otherwise, as in an object's `apiVersion`.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The name used in statistics and errors: `pods`, `booths.conferenceli.dev`.
    pub(crate) fn qualified_name(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    fn api_resources(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
            "shortNames": self.short_names,
        })];
        if self.has_status {
            out.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        // kubectl drain evicts only when discovery lists `pods/eviction` with its group and kind.
        for sub in &self.subresources {
            out.push(json!({
                "name": format!("{}/{}", self.plural, sub.name),
                "singularName": "",
                "namespaced": self.namespaced,
                "group": sub.group,
                "version": sub.version,
                "kind": sub.kind,
                "verbs": sub.verbs,
            }));
        }
        out
    }

    /// Reads the served versions of a `CustomResourceDefinition` object.
    pub(crate) fn from_crd(crd: &Value) -> Vec<Self> {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let names = &spec["names"];
        let kind = names["kind"].as_str().unwrap_or_default();
        let plural = names["plural"].as_str().unwrap_or_default();
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let short: Vec<&str> =
            names["shortNames"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"].as_bool().unwrap_or(true))
            .map(|v| {
                let has_status = v.pointer("/subresources/status").is_some();
                let mut def = ResourceDef::new(
                    group,
                    v["name"].as_str().unwrap_or_default(),
                    kind,
                    plural,
                    namespaced,
                    has_status,
                )
                .short(&short);
                def.schema = v.pointer("/schema/openAPIV3Schema").filter(|s| s.is_object()).cloned().map(Arc::new);
                if let Some(singular) = names["singular"].as_str() {
                    def.singular = singular.into();
                }
                def.printer_columns = v["additionalPrinterColumns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| PrinterColumn {
                        name: c["name"].as_str().unwrap_or_default().into(),
                        kind: c["type"].as_str().unwrap_or("string").into(),
                        json_path: c["jsonPath"].as_str().unwrap_or_default().into(),
                        priority: c["priority"].as_u64().unwrap_or(0).min(255) as u8,
                    })
                    .collect();
                def
            })
            .filter(|d| !d.kind.is_empty() && !d.plural.is_empty() && !d.version.is_empty())
            .collect()
    }
}

/// The group of Role, ClusterRole, RoleBinding and ClusterRoleBinding.
pub(crate) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The resource types served now; grows when a CRD is created.
#[derive(Debug)]
pub struct Registry {
    defs: RwLock<Vec<Arc<ResourceDef>>>,
}

impl Default for Registry {
    fn default() -> Self {
        let builtin = [
            ResourceDef::new("", "v1", "Pod", "pods", true, true).short(&["po"]).with_subresource(EVICTION),
            ResourceDef::new("", "v1", "Node", "nodes", false, true).short(&["no"]),
            ResourceDef::new("", "v1", "Namespace", "namespaces", false, true).short(&["ns"]),
            ResourceDef::new("", "v1", "Event", "events", true, false)
                .short(&["ev"])
                .with_fields(conversion::EVENT_FIELDS),
            ResourceDef::new("", "v1", "Service", "services", true, true).short(&["svc"]),
            ResourceDef::new("", "v1", "Endpoints", "endpoints", true, false).short(&["ep"]),
            ResourceDef::new("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, false),
            ResourceDef::new("", "v1", "ConfigMap", "configmaps", true, false).short(&["cm"]),
            ResourceDef::new("", "v1", "Secret", "secrets", true, false),
            ResourceDef::new("", "v1", "ServiceAccount", "serviceaccounts", true, false).short(&["sa"]),
            // kube-apiserver serves these from the core Event registry: one storage, two APIs.
            ResourceDef::new("events.k8s.io", "v1", "Event", "events", true, false)
                .short(&["ev"])
                .with_fields(conversion::EVENTS_V1_FIELDS)
                .view_of(&conversion::EVENTS_V1),
            ResourceDef::new("apps", "v1", "StatefulSet", "statefulsets", true, true).short(&["sts"]),
            ResourceDef::new("apps", "v1", "Deployment", "deployments", true, true).short(&["deploy"]),
            ResourceDef::new("apps", "v1", "DaemonSet", "daemonsets", true, true).short(&["ds"]),
            ResourceDef::new("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, true)
                .short(&["pdb"])
                .with_initial_status(
                    json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
                ),
            ResourceDef::new(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                true,
            )
            .short(&["crd", "crds"]),
            // RBAC, enforced when the cluster has a token file (`crate::rbac`).
            ResourceDef::new(RBAC_GROUP, "v1", "Role", "roles", true, false),
            ResourceDef::new(RBAC_GROUP, "v1", "ClusterRole", "clusterroles", false, false),
            ResourceDef::new(RBAC_GROUP, "v1", "RoleBinding", "rolebindings", true, false),
            ResourceDef::new(RBAC_GROUP, "v1", "ClusterRoleBinding", "clusterrolebindings", false, false),
            // What `kubectl auth can-i` and `kubectl auth whoami` ask (`crate::reviews`).
            ResourceDef::review("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews"),
            ResourceDef::review("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews"),
            ResourceDef::review("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews"),
        ];
        Self { defs: RwLock::new(builtin.into_iter().map(Arc::new).collect()) }
    }
}

impl Registry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<ResourceDef>>> {
        self.defs.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Finds the type served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.read().iter().find(|d| d.group == group && d.version == version && d.plural == plural).cloned()
    }

    /// Finds the type of an object by its `apiVersion` and `kind`.
    pub(crate) fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        self.read().iter().find(|d| d.api_version() == api_version && d.kind == kind).cloned()
    }

    /// Adds the types of a CRD (replacing earlier definitions of the same group/version/plural).
    pub(crate) fn register_crd(&self, crd: &Value) {
        let new_defs = ResourceDef::from_crd(crd);
        let mut defs = self.defs.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for def in new_defs {
            defs.retain(|d| !(d.group == def.group && d.version == def.version && d.plural == def.plural));
            defs.push(Arc::new(def));
        }
    }

    /// Every served type.
    pub fn all(&self) -> Vec<Arc<ResourceDef>> {
        self.read().clone()
    }

    /// Every served group-version, core first: `("", "v1")`, `("apps", "v1")`, ...
    pub(crate) fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for def in self.read().iter() {
            let gv = (def.group.clone(), def.version.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }

    /// `GET /api`
    pub(crate) fn core_versions(&self) -> Value {
        json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
    }

    fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for def in self.read().iter().filter(|d| !d.group.is_empty()) {
            match groups.iter_mut().find(|(g, _)| *g == def.group) {
                Some((_, versions)) if !versions.contains(&def.version) => versions.push(def.version.clone()),
                Some(_) => {}
                None => groups.push((def.group.clone(), vec![def.version.clone()])),
            }
        }
        groups
    }

    fn group_document(name: &str, versions: &[String]) -> Value {
        let versions: Vec<Value> =
            versions.iter().map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": versions, "preferredVersion": versions[0]})
    }

    /// `GET /apis`
    pub(crate) fn group_list(&self) -> Value {
        let groups: Vec<Value> =
            self.groups().iter().map(|(name, versions)| Self::group_document(name, versions)).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/<group>`
    pub fn group(&self, group: &str) -> Option<Value> {
        self.groups()
            .iter()
            .find(|(name, _)| name == group)
            .map(|(name, versions)| Self::group_document(name, versions))
    }

    /// `GET /api/v1` and `GET /apis/<group>/<version>`
    pub(crate) fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let resources: Vec<Value> = self
            .read()
            .iter()
            .filter(|d| d.group == group && d.version == version)
            .flat_map(|d| d.api_resources())
            .collect();
        if resources.is_empty() {
            return None;
        }
        let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_versions_become_served_resources() {
        let crd = json!({"spec": {"group": "example.dev", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "subresources": {"status": {}}}, {"name": "v0", "served": false}]}});
        let registry = Registry::default();
        registry.register_crd(&crd);
        let def = registry.find("example.dev", "v1", "widgets").expect("registered");
        assert!(def.has_status && def.namespaced);
        assert!(registry.find("example.dev", "v0", "widgets").is_none());
        let list = registry.resource_list("example.dev", "v1").unwrap();
        assert_eq!(list["resources"][1]["name"], "widgets/status");
        assert!(registry.group_list()["groups"].as_array().unwrap().iter().any(|g| g["name"] == "example.dev"));
    }
}
