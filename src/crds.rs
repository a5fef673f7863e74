//! This project's CustomResourceDefinitions, as `conferenceli crd` prints them and `crds/` holds
//! them (a test keeps the two equal). The simulated API serves the same definitions.
//!
//! May call: `crate::booth`, `crate::leads`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Every CRD of the project, in the order they are printed.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![crate::booth::Booth::crd(), crate::leads::crd::Lead::crd()]
}

/// The file name a CRD has in `crds/`: `<plural>.<group>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// One CRD as a YAML document.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    serde_norway::to_string(crd).expect("a CRD serialises to YAML")
}

/// Every CRD as one multi-document YAML stream.
pub(crate) fn all_yaml() -> String {
    all().iter().map(|crd| format!("---\n{}", to_yaml(crd))).collect()
}
