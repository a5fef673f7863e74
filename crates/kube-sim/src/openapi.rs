//! The OpenAPI documents of what the simulation serves, as kube-apiserver publishes them:
//! `/openapi/v3` lists one document per group-version (`api/v1`, `apis/apps/v1`,
//! `apis/conferenceli.dev/v1alpha1`, ...), each with the paths and operations of its resources
//! (`x-kubernetes-group-version-kind`, `x-kubernetes-action`, the `dryRun`, `fieldManager`,
//! `fieldValidation` and `force` parameters kubectl looks for) and the schemas of its kinds.
//!
//! Built-in kinds' schemas come from k8s-openapi's `schemars` implementations, named as kube
//! names them (`io.k8s.api.core.v1.Pod`), with the patch merge keys and list types the Go types
//! declare added (`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`); a custom resource's
//! schema is its CRD's `openAPIV3Schema` with `metadata` as `ObjectMeta`. `/openapi/v2` answers
//! an empty protobuf document (kubectl asks for it before anything else; with no v2 schemas it
//! leaves validation to the server, which `fieldValidation` in the v3 documents offers).
//!
//! It may call [`crate::resources`] and [`crate::merge`] (the merge keys).
//!
//! May call: `crate::merge`, `crate::resources`.

use crate::merge;
use crate::resources::{Registry, ResourceDef, Subresource};
use k8s_openapi::api::{apps, authentication, authorization, core, events, policy, rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value, json};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The URL path of a group-version's document: `api/v1` or `apis/<group>/<version>`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `GET /openapi/v3`: every served group-version and where its document is.
pub fn discovery(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, version) in registry.group_versions() {
        let path = gv_path(&group, &version);
        let hash = group_version(registry, &group, &version).map(|doc| content_hash(&doc)).unwrap_or_default();
        paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}));
    }
    json!({"paths": paths})
}

/// A stable hash of a document, so clients may cache it by URL as they do with kube's.
fn content_hash(doc: &Value) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    doc.to_string().hash(&mut hasher);
    format!("{:016X}", hasher.finish())
}

/// The schema generator kube's names and OpenAPI 3.0's shape need.
fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::openapi3().into_generator()
}

/// Adds the schema of a built-in kind and the schemas it refers to; returns its name.
fn builtin<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> String {
    generator.subschema_for::<T>();
    T::schema_name().into_owned()
}

/// The component name of a built-in kind's schema, generating it and what it refers to.
fn builtin_schema(generator: &mut schemars::SchemaGenerator, def: &ResourceDef) -> Option<String> {
    Some(match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => builtin::<core::v1::Pod>(generator),
        ("", "Node") => builtin::<core::v1::Node>(generator),
        ("", "Namespace") => builtin::<core::v1::Namespace>(generator),
        ("", "Event") => builtin::<core::v1::Event>(generator),
        ("", "Service") => builtin::<core::v1::Service>(generator),
        ("", "ConfigMap") => builtin::<core::v1::ConfigMap>(generator),
        ("", "Secret") => builtin::<core::v1::Secret>(generator),
        ("", "ServiceAccount") => builtin::<core::v1::ServiceAccount>(generator),
        ("events.k8s.io", "Event") => builtin::<events::v1::Event>(generator),
        ("apps", "StatefulSet") => builtin::<apps::v1::StatefulSet>(generator),
        ("apps", "Deployment") => builtin::<apps::v1::Deployment>(generator),
        ("apps", "DaemonSet") => builtin::<apps::v1::DaemonSet>(generator),
        ("policy", "PodDisruptionBudget") => builtin::<policy::v1::PodDisruptionBudget>(generator),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => builtin::<CustomResourceDefinition>(generator),
        ("rbac.authorization.k8s.io", "Role") => builtin::<rbac::v1::Role>(generator),
        ("rbac.authorization.k8s.io", "ClusterRole") => builtin::<rbac::v1::ClusterRole>(generator),
        ("rbac.authorization.k8s.io", "RoleBinding") => builtin::<rbac::v1::RoleBinding>(generator),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => builtin::<rbac::v1::ClusterRoleBinding>(generator),
        ("authorization.k8s.io", "SelfSubjectAccessReview") => {
            builtin::<authorization::v1::SelfSubjectAccessReview>(generator)
        }
        ("authorization.k8s.io", "SelfSubjectRulesReview") => {
            builtin::<authorization::v1::SelfSubjectRulesReview>(generator)
        }
        ("authentication.k8s.io", "SelfSubjectReview") => builtin::<authentication::v1::SelfSubjectReview>(generator),
        _ => return None,
    })
}

/// The component name of the kind a subresource takes (`pods/eviction`: an Eviction).
fn subresource_schema(generator: &mut schemars::SchemaGenerator, sub: &Subresource) -> Option<String> {
    Some(match (sub.group, sub.kind) {
        ("policy", "Eviction") => builtin::<policy::v1::Eviction>(generator),
        _ => return None,
    })
}

/// kube's component name for a custom resource: the group reversed, the version, the kind.
fn custom_schema_name(def: &ResourceDef) -> String {
    let reversed: Vec<&str> = def.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), def.version, def.kind)
}

/// A CRD's schema as published: `apiVersion`, `kind` and `metadata` (as `ObjectMeta`) added.
fn custom_schema(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if !schema["properties"].is_object() {
        schema["properties"] = json!({});
    }
    schema["type"] = json!("object");
    let properties = &mut schema["properties"];
    properties["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."});
    properties["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."});
    properties["metadata"] = json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}],
        "description": "Standard object's metadata."});
    schema
}

fn parameter(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": kind, "uniqueItems": true}})
}

fn write_parameters(patch: bool) -> Vec<Value> {
    let mut parameters = vec![
        parameter(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted. The only valid value is All.",
        ),
        parameter(
            "fieldManager",
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        parameter(
            "fieldValidation",
            "string",
            "Ignore, Warn (the default) or Strict: how unknown fields in the request are treated.",
        ),
    ];
    if patch {
        parameters.push(parameter(
            "force",
            "boolean",
            "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests.",
        ));
    }
    parameters
}

fn list_parameters() -> Vec<Value> {
    [
        ("allowWatchBookmarks", "boolean"),
        ("continue", "string"),
        ("fieldSelector", "string"),
        ("labelSelector", "string"),
        ("limit", "integer"),
        ("resourceVersion", "string"),
        ("resourceVersionMatch", "string"),
        ("sendInitialEvents", "boolean"),
        ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    ]
    .iter()
    .map(|(name, kind)| parameter(name, kind, ""))
    .collect()
}

fn operation(def: &ResourceDef, action: &str, id: &str, schema_ref: &Value, parameters: Vec<Value>) -> Value {
    let content = json!({"application/json": {"schema": schema_ref}, "application/yaml": {"schema": schema_ref}});
    let mut op = json!({
        "operationId": id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": def.group, "version": def.version, "kind": def.kind},
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "content": content}},
    });
    if matches!(action, "post" | "put") {
        op["requestBody"] = json!({"content": {"*/*": {"schema": schema_ref}}, "required": true});
    }
    if action == "patch" {
        let patch_schema = json!({"type": "object"});
        let kinds = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];
        let mut body = Map::new();
        for kind in kinds {
            body.insert(kind.into(), json!({"schema": patch_schema}));
        }
        if def.schema.is_none() {
            body.insert("application/strategic-merge-patch+json".into(), json!({"schema": patch_schema}));
        }
        op["requestBody"] = json!({"content": body, "required": true});
    }
    op
}

/// The path of a subresource that takes a kind of its own (`POST pods/<name>/eviction`), as
/// kube publishes it: the operation's group-version-kind is the subresource's.
fn subresource_path(def: &ResourceDef, sub: &Subresource, schema_name: &str, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(&def.group, &def.version));
    let mut parameters = vec![json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})];
    let mut collection = format!("{base}/{}", def.plural);
    if def.namespaced {
        collection = format!("{base}/namespaces/{{namespace}}/{}", def.plural);
        parameters.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let schema_ref = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    let id = format!("create{}{}{}", def.api_version().replace(['/', '.'], "_"), def.kind, sub.kind);
    let mut post = operation(def, "post", &id, &schema_ref, write_parameters(false));
    post["x-kubernetes-group-version-kind"] = json!({"group": sub.group, "version": sub.version, "kind": sub.kind});
    paths.insert(format!("{collection}/{{name}}/{}", sub.name), json!({"parameters": parameters, "post": post}));
}

/// The paths of one resource: its collection, its objects and their `/status`.
fn resource_paths(def: &ResourceDef, schema_name: &str, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(&def.group, &def.version));
    let collection = if def.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", def.plural)
    } else {
        format!("{base}/{}", def.plural)
    };
    let schema_ref = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    let list_ref = json!({"type": "object", "properties": {"items": {"type": "array", "items": schema_ref}}});
    let mut path_parameters = Vec::new();
    if def.namespaced {
        path_parameters
            .push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let id = |verb: &str| format!("{verb}{}{}", def.api_version().replace(['/', '.'], "_"), def.kind);
    if def.verbs == crate::resources::CREATE_ONLY {
        // A review: created and answered, never stored, so there is nothing to read back.
        let create = operation(def, "post", &id("create"), &schema_ref, write_parameters(false));
        paths.insert(collection, json!({"parameters": path_parameters, "post": create}));
        return;
    }
    paths.insert(
        collection.clone(),
        json!({
            "parameters": path_parameters,
            "get": operation(def, "list", &id("list"), &list_ref, list_parameters()),
            "post": operation(def, "post", &id("create"), &schema_ref, write_parameters(false)),
        }),
    );
    let mut named_parameters = path_parameters.clone();
    named_parameters.push(json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}));
    paths.insert(
        format!("{collection}/{{name}}"),
        json!({
            "parameters": named_parameters,
            "get": operation(def, "get", &id("read"), &schema_ref, Vec::new()),
            "put": operation(def, "put", &id("replace"), &schema_ref, write_parameters(false)),
            "patch": operation(def, "patch", &id("patch"), &schema_ref, write_parameters(true)),
            "delete": operation(def, "delete", &id("delete"), &schema_ref, vec![parameter("dryRun", "string", ""), parameter("gracePeriodSeconds", "integer", "")]),
        }),
    );
    if def.has_status {
        let mut status = json!({
            "parameters": named_parameters,
            "get": operation(def, "get", &id("readStatus"), &schema_ref, Vec::new()),
            "put": operation(def, "put", &id("replaceStatus"), &schema_ref, write_parameters(false)),
            "patch": operation(def, "patch", &id("patchStatus"), &schema_ref, write_parameters(true)),
        });
        // The GVK of the object, not a second owner of it: kubectl looks up the main resource's patch.
        for verb in ["get", "put", "patch"] {
            status[verb]["operationId"] = json!(id(&format!("{verb}Status")));
        }
        paths.insert(format!("{collection}/{{name}}/status"), status);
    }
}

/// Adds the merge keys and list types the Kubernetes Go types declare to every list property.
fn annotate_lists(schemas: &mut Map<String, Value>) {
    let item_fields = |schemas: &Map<String, Value>, items: &Value| -> Vec<String> {
        let reference = items["$ref"].as_str().or_else(|| items["allOf"][0]["$ref"].as_str());
        let target = match reference {
            Some(r) => r.rsplit('/').next().and_then(|name| schemas.get(name)).cloned().unwrap_or_default(),
            None => items.clone(),
        };
        target["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
    };
    let mut annotations = Vec::new();
    for (name, schema) in schemas.iter() {
        let Some(properties) = schema["properties"].as_object() else { continue };
        for (field, property) in properties {
            if property["type"] != "array" {
                continue;
            }
            if merge::merges_as_set(field) {
                annotations.push((
                    name.clone(),
                    field.clone(),
                    json!({"x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set"}),
                ));
                continue;
            }
            let fields = item_fields(schemas, &property["items"]);
            if let Some(key) = merge::merge_key_for(field, &|k| fields.iter().any(|f| f == k))
                && fields.iter().any(|f| f == key)
            {
                annotations.push((
                    name.clone(),
                    field.clone(),
                    json!({"x-kubernetes-patch-merge-key": key, "x-kubernetes-patch-strategy": "merge",
                           "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}),
                ));
            }
        }
    }
    for (name, field, extra) in annotations {
        if let (Some(property), Some(extra)) = (schemas[&name]["properties"].get_mut(&field), extra.as_object()) {
            for (key, value) in extra {
                property[key] = value.clone();
            }
        }
    }
}

/// `GET /openapi/v3/<api/v1 | apis/group/version>`: the paths and schemas of one group-version.
pub(crate) fn group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<_> = registry.all().into_iter().filter(|d| d.group == group && d.version == version).collect();
    if defs.is_empty() {
        return None;
    }
    let mut generator = generator();
    let mut paths = Map::new();
    let mut extra_schemas = Vec::new();
    let mut kinds = Vec::new();
    for def in &defs {
        let name = match &def.schema {
            Some(schema) => {
                let name = custom_schema_name(def);
                extra_schemas.push((name.clone(), custom_schema(schema)));
                generator.subschema_for::<ObjectMeta>();
                name
            }
            None => match builtin_schema(&mut generator, def) {
                Some(name) => name,
                None => continue,
            },
        };
        kinds.push((name.clone(), def.clone()));
        resource_paths(def, &name, &mut paths);
        for sub in &def.subresources {
            if let Some(name) = subresource_schema(&mut generator, sub) {
                subresource_path(def, sub, &name, &mut paths);
            }
        }
    }
    let mut schemas = generator.take_definitions(true);
    for (name, schema) in extra_schemas {
        schemas.insert(name, schema);
    }
    for (name, def) in kinds {
        if let Some(schema) = schemas.get_mut(&name) {
            schema["x-kubernetes-group-version-kind"] =
                json!([{"group": def.group, "version": def.version, "kind": def.kind}]);
        }
    }
    annotate_lists(&mut schemas);
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.5+conferenceli-sim"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `GET /openapi/v2`: an OpenAPI v2 document in protobuf with only its `swagger: "2.0"` field
/// (field 1, a length-delimited string) and no definitions.
pub(crate) fn v2_protobuf() -> Vec<u8> {
    let version = b"2.0";
    let mut out = vec![0x0a, version.len() as u8];
    out.extend_from_slice(version);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry_with_crds() -> Registry {
        let registry = Registry::default();
        for crd in crate::fixture_crds() {
            registry.register_crd(&crd);
        }
        registry
    }

    #[test]
    fn discovery_lists_every_group_version() {
        let doc = discovery(&registry_with_crds());
        for path in ["api/v1", "apis/apps/v1", "apis/conferenceli.dev/v1alpha1", "apis/events.k8s.io/v1"] {
            let url = doc["paths"][path]["serverRelativeURL"].as_str().unwrap_or_default();
            assert!(url.starts_with(&format!("/openapi/v3/{path}?hash=")), "{path}: {doc}");
        }
    }

    #[test]
    fn apps_v1_has_statefulset_paths_with_field_validation_and_merge_keys() {
        let doc = group_version(&registry_with_crds(), "apps", "v1").unwrap();
        let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "StatefulSet"})
        );
        assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["io.k8s.api.apps.v1.StatefulSet"]["x-kubernetes-group-version-kind"][0]["kind"],
            "StatefulSet"
        );
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name", "{containers}");
        assert_eq!(
            schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"]["x-kubernetes-patch-merge-key"],
            "containerPort"
        );
        assert!(
            schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["tolerations"]
                .get("x-kubernetes-patch-merge-key")
                .is_none()
        );
    }

    #[test]
    fn custom_resources_publish_their_crd_schema_with_object_meta() {
        let doc = group_version(&registry_with_crds(), "conferenceli.dev", "v1alpha1").unwrap();
        let booth = &doc["components"]["schemas"]["dev.conferenceli.v1alpha1.Booth"];
        assert_eq!(
            booth["properties"]["spec"]["properties"]["voucherType"]["enum"],
            json!(["none", "appuio", "servala"])
        );
        assert!(doc["components"]["schemas"][OBJECT_META]["properties"]["name"].is_object());
        let core = group_version(&registry_with_crds(), "", "v1").unwrap();
        let eviction = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
        assert_eq!(
            eviction["x-kubernetes-group-version-kind"],
            json!({"group": "policy", "version": "v1", "kind": "Eviction"})
        );
        assert!(
            core["components"]["schemas"]["io.k8s.api.policy.v1.Eviction"]["properties"]["deleteOptions"].is_object()
        );
        let policy = group_version(&registry_with_crds(), "policy", "v1").unwrap();
        let budget = &policy["components"]["schemas"]["io.k8s.api.policy.v1.PodDisruptionBudget"];
        assert_eq!(budget["x-kubernetes-group-version-kind"][0]["kind"], "PodDisruptionBudget");
        let service_ports = &core["components"]["schemas"]["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
        assert_eq!(service_ports["x-kubernetes-patch-merge-key"], "port");
        assert!(group_version(&registry_with_crds(), "nothing.example", "v1").is_none());
    }
}
