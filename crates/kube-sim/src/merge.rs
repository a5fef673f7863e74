//! Strategic merge patch for the built-in types, as kube-apiserver applies it: maps merge
//! recursively (`null` deletes), lists of objects with a patch merge key (containers and env by
//! `name`, container ports by `containerPort`, Service ports by `port`, volumes, volume mounts,
//! ...) merge element by element, `finalizers` merge as a set, other lists are replaced; and the
//! directives `$patch: replace|delete|merge`, `$setElementOrder/<list>` and
//! `$deleteFromPrimitiveList/<list>` are honoured. Custom resources have no strategic merge
//! (kube answers 415), which the HTTP layer enforces.
//!
//! The merge keys are those of the Kubernetes Go types (`patchMergeKey` struct tags), looked up
//! by field name; it may call nothing else of the crate.
//!
//! May call: nothing else of the crate.

use serde_json::{Map, Value};

/// The patch merge key of a list field, from the Kubernetes types' `patchMergeKey` tags;
/// `has` says whether the list's items have a field (`ports` is `containerPort` in containers
/// and `port` in a Service).
pub(crate) fn merge_key_for(field: &str, has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        "ports" if has("containerPort") => "containerPort",
        "ports" => "port",
        _ => return None,
    })
}

fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    merge_key_for(field, &|key| items.iter().any(|item| item.get(key).is_some()))
}

/// Lists of scalars whose patch strategy is merge (a set union).
pub(crate) fn merges_as_set(field: &str) -> bool {
    field == "finalizers"
}

/// An error in a strategic merge patch (kube answers these 422 / 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PatchError(pub String);

/// Applies a strategic merge patch to `original`.
pub(crate) fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    match (original, patch) {
        (Value::Object(o), Value::Object(p)) => merge_maps(o, p).map(|m| m.map(Value::Object).unwrap_or(Value::Null)),
        (_, Value::Object(p)) => merge_maps(&Map::new(), p).map(|m| m.map(Value::Object).unwrap_or(Value::Null)),
        _ => Err(PatchError("a strategic merge patch must be a JSON object".into())),
    }
}

/// Merges maps; `None` when the patch says `$patch: delete`.
fn merge_maps(
    original: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            return Ok(Some(replaced));
        }
        Some("merge") | None => {}
        Some(other) => return Err(PatchError(format!("unknown patch type: {other:?} in map"))),
    }
    let mut result = original.clone();
    let mut orders = Vec::new();
    for (key, value) in patch {
        if key == "$patch" || key.starts_with("$retainKeys") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$setElementOrder/") {
            orders.push((field.to_string(), value.clone()));
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = result.get_mut(field) {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if value.is_null() {
            result.remove(key);
            continue;
        }
        let merged = match (result.get(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_maps(o, p)?.map(Value::Object),
            (None, Value::Object(p)) => merge_maps(&Map::new(), p)?.map(Value::Object),
            (Some(Value::Array(o)), Value::Array(p)) => Some(Value::Array(merge_lists(key, o, p)?)),
            (None, Value::Array(p)) => Some(Value::Array(merge_lists(key, &[], p)?)),
            (_, other) => Some(other.clone()),
        };
        match merged {
            Some(value) => result.insert(key.clone(), value),
            None => result.remove(key),
        };
    }
    for (field, order) in orders {
        if let (Some(Value::Array(list)), Some(order)) = (result.get_mut(&field), order.as_array()) {
            reorder(&field, list, order);
        }
    }
    Ok(Some(result))
}

fn merge_lists(field: &str, original: &[Value], patch: &[Value]) -> Result<Vec<Value>, PatchError> {
    if patch.iter().any(|item| item.get("$patch").and_then(Value::as_str) == Some("replace")) {
        return Ok(patch.iter().filter(|item| item.get("$patch").is_none()).cloned().collect());
    }
    let all: Vec<&Value> = original.iter().chain(patch).collect();
    if merges_as_set(field) {
        let mut result = original.to_vec();
        for item in patch {
            if !result.contains(item) {
                result.push(item.clone());
            }
        }
        return Ok(result);
    }
    let Some(key) = merge_key(field, &all) else { return Ok(patch.to_vec()) };
    let mut result = original.to_vec();
    for item in patch {
        let Some(map) = item.as_object() else {
            return Err(PatchError(format!("{field}: items of a list merged by {key:?} must be objects")));
        };
        let Some(wanted) = map.get(key) else {
            return Err(PatchError(format!("map: {item} does not contain declared merge key: {key}")));
        };
        let found = result.iter().position(|existing| existing.get(key) == Some(wanted));
        match (found, map.get("$patch").and_then(Value::as_str)) {
            (Some(at), Some("delete")) => {
                result.remove(at);
            }
            (None, Some("delete")) => {}
            (Some(at), _) => {
                let merged = merge_maps(result[at].as_object().unwrap_or(&Map::new()), map)?;
                match merged {
                    Some(merged) => result[at] = Value::Object(merged),
                    None => {
                        result.remove(at);
                    }
                }
            }
            (None, _) => {
                if let Some(added) = merge_maps(&Map::new(), map)? {
                    result.push(Value::Object(added));
                }
            }
        }
    }
    Ok(result)
}

/// `$setElementOrder`: the listed elements in the listed order, then the others as they were.
fn reorder(field: &str, list: &mut [Value], order: &[Value]) {
    let all: Vec<&Value> = list.iter().chain(order).collect();
    let key = merge_key(field, &all);
    let identity = |item: &Value| -> Value {
        match key {
            Some(key) => item.get(key).cloned().unwrap_or(Value::Null),
            None => item.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(identity).collect();
    let rank = |item: &Value| wanted.iter().position(|w| *w == identity(item)).unwrap_or(usize::MAX);
    list.sort_by_key(rank);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "name": "http"}]},
                {"name": "sidecar", "image": "side:1"}
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "tolerations": [{"key": "a", "operator": "Exists"}]
        }}}, "metadata": {"finalizers": ["x/one"], "labels": {"app": "a", "tier": "web"}}})
    }

    #[test]
    fn lists_merge_by_their_keys() {
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                            "ports": [{"containerPort": 8080}]}],
            "volumes": [{"name": "cache", "emptyDir": {}}],
            "tolerations": [{"key": "b", "operator": "Exists"}]
        }}}, "metadata": {"finalizers": ["x/two"], "labels": {"tier": null}}});
        let merged = strategic_merge(&deployment(), &patch).unwrap();
        let spec = &merged["spec"]["template"]["spec"];
        assert_eq!(spec["containers"].as_array().unwrap().len(), 2, "sidecar kept");
        assert_eq!(spec["containers"][0]["image"], "app:2");
        assert_eq!(
            spec["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])
        );
        assert_eq!(
            spec["containers"][0]["ports"],
            json!([{"containerPort": 80, "name": "http"}, {"containerPort": 8080}])
        );
        assert_eq!(spec["containers"][1]["image"], "side:1");
        assert_eq!(spec["volumes"].as_array().unwrap().len(), 2);
        assert_eq!(
            spec["tolerations"],
            json!([{"key": "b", "operator": "Exists"}]),
            "no merge key: replaced, as in kube"
        );
        assert_eq!(merged["metadata"]["finalizers"], json!(["x/one", "x/two"]));
        assert_eq!(merged["metadata"]["labels"], json!({"app": "a"}));
    }

    #[test]
    fn directives_delete_replace_and_order() {
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}],
            "volumes": [{"name": "only", "emptyDir": {}}, {"$patch": "replace"}],
            "$setElementOrder/containers": [{"name": "app"}]
        }}}, "metadata": {"$deleteFromPrimitiveList/finalizers": ["x/one"], "labels": {"$patch": "replace", "new": "yes"}}});
        let merged = strategic_merge(&deployment(), &patch).unwrap();
        let spec = &merged["spec"]["template"]["spec"];
        assert_eq!(spec["containers"].as_array().unwrap().len(), 1);
        assert_eq!(spec["containers"][0]["name"], "app");
        assert_eq!(spec["volumes"], json!([{"name": "only", "emptyDir": {}}]));
        assert_eq!(merged["metadata"]["finalizers"], json!([]));
        assert_eq!(merged["metadata"]["labels"], json!({"new": "yes"}));
        let reorder = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}}}});
        let merged = strategic_merge(&deployment(), &reorder).unwrap();
        assert_eq!(merged["spec"]["template"]["spec"]["containers"][0]["name"], "sidecar");
    }

    #[test]
    fn service_ports_merge_by_port_and_a_missing_key_is_an_error() {
        let service = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
        let merged =
            strategic_merge(&service, &json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}})).unwrap();
        assert_eq!(
            merged["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443, "name": "https"}])
        );
        assert!(strategic_merge(&service, &json!({"spec": {"ports": [{"name": "x"}]}})).is_err());
    }
}
