//! The requests this binary sends to the Kubernetes API, declared next to the code that sends
//! them. The RBAC in `deploy/` is checked against the union of these lists (a test fails when a
//! rule is missing or when a rule grants more than the binary uses), and `conferenceli check`
//! asks the API server about each with a `SelfSubjectAccessReview`. Not listed: what every
//! authenticated user may do by Kubernetes' default roles (discovery, `/version`, the OpenAPI
//! documents: `system:discovery`; reviews about oneself: `system:basic-user`).
//!
//! May call: nothing else of the crate.

/// Which namespace a request is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The target namespace (`K8S_NAMESPACE`): the pods the booth shows and kills.
    Target,
    /// The app's own namespace (`POD_NAMESPACE`): Booth and Lead resources.
    Own,
    /// Cluster-scoped resources (nodes).
    Cluster,
}

impl Scope {
    /// The role of `deploy/base/rbac.yaml` that grants the booth's requests in this scope, as
    /// (kind, name): what `conferenceli check` tells the operator to extend.
    pub const fn manifest_role(self) -> (&'static str, &'static str) {
        match self {
            Scope::Target => ("Role", "conferenceli-target"),
            Scope::Own => ("Role", "conferenceli-own"),
            Scope::Cluster => ("ClusterRole", "conferenceli-nodes"),
        }
    }
}

/// The booth's service account (`deploy/base/serviceaccount.yaml`), in its own namespace.
pub const SERVICE_ACCOUNT: &str = "conferenceli";

/// The manifest that holds the booth's RBAC.
pub const RBAC_MANIFEST: &str = "deploy/base/rbac.yaml";

/// One kind of request: verb on resource (`group/resource`, core group empty) in a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiCall {
    pub scope: Scope,
    pub group: &'static str,
    pub resource: &'static str,
    pub verb: &'static str,
}

impl ApiCall {
    pub const fn new(scope: Scope, group: &'static str, resource: &'static str, verb: &'static str) -> Self {
        Self { scope, group, resource, verb }
    }
}

/// Watching with kube-runtime's watcher: list then watch.
pub(crate) const fn watched(scope: Scope, group: &'static str, resource: &'static str) -> [ApiCall; 2] {
    [ApiCall::new(scope, group, resource, "list"), ApiCall::new(scope, group, resource, "watch")]
}
