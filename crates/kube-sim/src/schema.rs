//! Custom resources checked against their CRD's structural schema the way kube-apiserver's
//! apiextensions handler does, in its order: unknown fields pruned (unless
//! `x-kubernetes-preserve-unknown-fields`), non-nullable nulls without a default dropped,
//! defaults applied, then the value validated (types, `nullable`, `enum`, `required`, string
//! formats, bounds, lengths, item counts, patterns), each failure a field error with its path.
//!
//! Written here rather than taken from a JSON Schema crate because kube's semantics are not JSON
//! Schema's: pruning and defaulting change the object, `nullable` is an OpenAPI v3 keyword, the
//! Kubernetes extensions matter, and the errors must read like kube's (`spec.x: Unsupported
//! value: ...`). `metadata`, `apiVersion` and `kind` at the root are the API server's, never
//! pruned here.
//!
//! It may call [`crate::field`] only.
//!
//! May call: `crate::field`.

use crate::field::{FieldError, go_value};
use serde_json::{Map, Value};

/// What admitting an object did besides refusing it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Admitted {
    /// Paths of the unknown fields that were pruned (`spec.colour`).
    pub(crate) pruned: Vec<String>,
}

/// Prunes, defaults and validates `object` (a whole custom resource) against `schema` (its
/// version's `openAPIV3Schema`). On success the object is what kube-apiserver would store.
pub(crate) fn admit(object: &mut Value, schema: &Value) -> Result<Admitted, Vec<FieldError>> {
    let mut admitted = Admitted::default();
    let Some(root) = object.as_object_mut() else { return Ok(admitted) };
    for (key, value) in root.iter_mut() {
        if matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        if let Some(property) = property_schema(schema, key) {
            prune(value, property, key, &mut admitted.pruned);
        }
    }
    let root_schema_keys = |key: &str| matches!(key, "metadata" | "apiVersion" | "kind");
    if !preserves_unknown(schema) {
        let unknown: Vec<String> =
            root.keys().filter(|k| !root_schema_keys(k) && property_schema(schema, k).is_none()).cloned().collect();
        for key in unknown {
            root.remove(&key);
            admitted.pruned.push(key);
        }
    }
    admitted.pruned.sort();
    drop_nulls_and_default(object, schema, true);
    let mut errors = Vec::new();
    if let Some(root) = object.as_object() {
        for (key, value) in root {
            if root_schema_keys(key) {
                continue;
            }
            if let Some(property) = property_schema(schema, key) {
                validate(value, property, key, &mut errors);
            }
        }
        for required in strings(&schema["required"]) {
            if !root_schema_keys(required) && !root.contains_key(required) {
                errors.push(FieldError::required(required, ""));
            }
        }
    }
    if errors.is_empty() { Ok(admitted) } else { Err(errors) }
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema[key].as_bool().unwrap_or(false)
}

fn preserves_unknown(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
}

/// The schema of `key` inside an object schema: a property, or `additionalProperties`.
fn property_schema<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema["properties"].get(key).or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Removes the fields `schema` does not know, recording their paths.
fn prune(value: &mut Value, schema: &Value, path: &str, pruned: &mut Vec<String>) {
    if flag(schema, "x-kubernetes-int-or-string") {
        return;
    }
    match value {
        Value::Object(map) => {
            let embedded = flag(schema, "x-kubernetes-embedded-resource");
            let keeps_everything = preserves_unknown(schema) || schema["additionalProperties"] == Value::Bool(true);
            let mut unknown = Vec::new();
            for (key, field) in map.iter_mut() {
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                match property_schema(schema, key) {
                    Some(property) => prune(field, property, &child(path, key), pruned),
                    None if keeps_everything => {}
                    None => unknown.push(key.clone()),
                }
            }
            for key in unknown {
                map.remove(&key);
                pruned.push(child(path, &key));
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item, item_schema, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Drops object fields that are null where the schema is not nullable and has no default, then
/// fills in defaults for fields that are missing (or null and not nullable).
fn drop_nulls_and_default(value: &mut Value, schema: &Value, root: bool) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if root && matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                let Some(property) = property_schema(schema, &key) else { continue };
                if map[&key].is_null() && !flag(property, "nullable") {
                    match property.get("default") {
                        Some(default) => {
                            map.insert(key.clone(), default.clone());
                        }
                        None => {
                            map.remove(&key);
                            continue;
                        }
                    }
                }
                if let Some(field) = map.get_mut(&key) {
                    drop_nulls_and_default(field, property, false);
                }
            }
            apply_defaults(map, schema);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items.iter_mut() {
                    drop_nulls_and_default(item, item_schema, false);
                }
            }
        }
        _ => {}
    }
}

fn apply_defaults(map: &mut Map<String, Value>, schema: &Value) {
    let Some(properties) = schema["properties"].as_object() else { return };
    for (key, property) in properties {
        if let Some(default) = property.get("default")
            && !map.contains_key(key)
        {
            let mut value = default.clone();
            // A default object gets the defaults of its own fields too.
            drop_nulls_and_default(&mut value, property, false);
            map.insert(key.clone(), value);
        }
    }
}

/// The OpenAPI type name of a JSON value, as kube's messages name it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(value: &Value, wanted: &str) -> bool {
    match (wanted, type_name(value)) {
        ("number", "integer") => true,
        (wanted, actual) => wanted == actual,
    }
}

fn validate(value: &Value, schema: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if value.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            let wanted = schema["type"].as_str().unwrap_or("object");
            let detail = format!("{path} in body must be of type {wanted}: \"null\"");
            errors.push(FieldError::type_invalid(path, "\"null\"".into(), detail));
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !matches!(type_name(value), "integer" | "string") {
            let actual = type_name(value);
            let detail = format!("{path} in body must be of type integer,string: {actual:?}");
            errors.push(FieldError::type_invalid(path, format!("{actual:?}"), detail));
        }
        return;
    }
    if let Some(wanted) = schema["type"].as_str()
        && !type_matches(value, wanted)
    {
        let actual = type_name(value);
        let detail = format!("{path} in body must be of type {wanted}: {actual:?}");
        errors.push(FieldError::type_invalid(path, format!("{actual:?}"), detail));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        let supported: Vec<String> =
            allowed.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
        errors.push(FieldError::not_supported(path, go_value(value), &supported));
    }
    match value {
        Value::Object(map) => validate_object(map, schema, path, errors),
        Value::Array(items) => validate_array(items, schema, path, errors),
        Value::String(text) => validate_string(text, schema, path, errors),
        Value::Number(number) => validate_number(number, value, schema, path, errors),
        _ => {}
    }
}

fn validate_object(map: &Map<String, Value>, schema: &Value, path: &str, errors: &mut Vec<FieldError>) {
    for required in strings(&schema["required"]) {
        if !map.contains_key(required) {
            errors.push(FieldError::required(&child(path, required), ""));
        }
    }
    for (key, field) in map {
        if let Some(property) = property_schema(schema, key) {
            validate(field, property, &child(path, key), errors);
        }
    }
    let count = map.len() as u64;
    if let Some(max) = schema["maxProperties"].as_u64().filter(|max| count > *max) {
        errors.push(FieldError::too_many(path, map.len(), max as usize));
    }
    if let Some(min) = schema["minProperties"].as_u64().filter(|min| count < *min) {
        let detail = format!("{path} in body should have at least {min} properties");
        errors.push(FieldError::invalid(path, count.to_string(), detail));
    }
}

fn validate_array(items: &[Value], schema: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            validate(item, item_schema, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(max) = schema["maxItems"].as_u64().filter(|max| items.len() as u64 > *max) {
        errors.push(FieldError::too_many(path, items.len(), max as usize));
    }
    if let Some(min) = schema["minItems"].as_u64().filter(|min| (items.len() as u64) < *min) {
        let detail = format!("{path} in body should have at least {min} items");
        errors.push(FieldError::invalid(path, items.len().to_string(), detail));
    }
    if schema["x-kubernetes-list-type"] == "set" {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                errors.push(FieldError::duplicate(&format!("{path}[{i}]"), go_value(item)));
            }
        }
    }
}

fn validate_string(text: &str, schema: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let length = text.chars().count() as u64;
    if let Some(max) = schema["maxLength"].as_u64().filter(|max| length > *max) {
        errors.push(FieldError::too_long(path, max as usize));
    }
    if let Some(min) = schema["minLength"].as_u64().filter(|min| length < *min) {
        let detail = format!("{path} in body should be at least {min} chars long");
        errors.push(FieldError::invalid(path, go_value(&Value::String(text.into())), detail));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(text) => {
                let detail = format!("{path} in body should match '{pattern}'");
                errors.push(FieldError::invalid(path, go_value(&Value::String(text.into())), detail));
            }
            _ => {}
        }
    }
    if let Some(format) = schema["format"].as_str()
        && !format_matches(format, text)
    {
        let detail = format!("{path} in body must be of type {format}: {text:?}");
        errors.push(FieldError::invalid(path, go_value(&Value::String(text.into())), detail));
    }
}

/// The string formats kube-openapi checks that CRDs commonly use; other formats are accepted
/// as kube does for formats it does not know.
fn format_matches(format: &str, text: &str) -> bool {
    match format {
        "date-time" | "datetime" => text.parse::<jiff::Timestamp>().is_ok(),
        "date" => text.parse::<jiff::civil::Date>().is_ok() && text.len() == 10,
        "uuid" => {
            let parts: Vec<&str> = text.split('-').collect();
            parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
                && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
        }
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(text).is_ok()
        }
        _ => true,
    }
}

fn validate_number(
    number: &serde_json::Number,
    value: &Value,
    schema: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    let Some(x) = number.as_f64() else { return };
    let exclusive_min = flag(schema, "exclusiveMinimum");
    let exclusive_max = flag(schema, "exclusiveMaximum");
    if let Some(min) = schema["minimum"].as_f64()
        && (x < min || (exclusive_min && x == min))
    {
        let relation = if exclusive_min { "greater than" } else { "greater than or equal to" };
        let detail = format!("{path} in body should be {relation} {}", trim_float(min));
        errors.push(FieldError::invalid(path, value.to_string(), detail));
    }
    if let Some(max) = schema["maximum"].as_f64()
        && (x > max || (exclusive_max && x == max))
    {
        let relation = if exclusive_max { "less than" } else { "less than or equal to" };
        let detail = format!("{path} in body should be {relation} {}", trim_float(max));
        errors.push(FieldError::invalid(path, value.to_string(), detail));
    }
}

/// `0` rather than `0.0`, as Go prints a float64 bound.
fn trim_float(x: f64) -> String {
    if x.fract() == 0.0 { format!("{}", x as i64) } else { x.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "required": ["code"], "properties": {
                "code": {"type": "string", "minLength": 1},
                "voucherType": {"type": "string", "default": "none", "enum": ["none", "appuio", "servala"]},
                "count": {"type": "integer", "minimum": 0.0, "format": "uint32"},
                "when": {"type": "string", "format": "date-time"},
                "note": {"type": "string", "nullable": true},
                "plain": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
            }},
            "status": {"type": "object", "nullable": true, "properties": {"state": {"type": "string", "default": "Pending"}}},
        }})
    }

    fn admit_json(mut object: Value) -> Result<(Value, Vec<String>), Vec<String>> {
        admit(&mut object, &schema())
            .map(|a| (object, a.pruned))
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn unknown_fields_are_pruned_where_the_schema_does_not_keep_them() {
        let (object, pruned) =
            admit_json(json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "anything": 1},
            "spec": {"code": "c", "colour": "red", "labels": [{"n": "a", "z": 1}], "extra": {"free": {"x": 1}},
                     "tags": {"a": "b"}, "port": "http"},
            "top": 1}))
            .unwrap();
        assert_eq!(pruned, ["spec.colour", "spec.labels[0].z", "top"]);
        assert_eq!(object["metadata"]["anything"], 1, "metadata is the server's, not the schema's");
        assert_eq!(object["spec"]["extra"]["free"]["x"], 1);
        assert_eq!(object["spec"]["tags"]["a"], "b");
        assert!(object.get("top").is_none() && object["spec"].get("colour").is_none());
    }

    #[test]
    fn nulls_and_defaults_follow_the_schema() {
        let (object, _) =
            admit_json(json!({"spec": {"code": "c", "voucherType": null, "note": null, "plain": null}, "status": {}}))
                .unwrap();
        assert_eq!(object["spec"]["voucherType"], "none", "a non-nullable null with a default is defaulted");
        assert_eq!(object["spec"]["note"], Value::Null, "nullable keeps its null");
        assert!(object["spec"].get("plain").is_none(), "a non-nullable null without a default is dropped");
        assert_eq!(object["status"]["state"], "Pending");
        let (object, _) = admit_json(json!({"spec": {"code": "c"}})).unwrap();
        assert_eq!(object["spec"]["voucherType"], "none");
        assert!(object.get("status").is_none(), "defaults fill fields of objects that exist, no more");
    }

    #[test]
    fn invalid_values_are_field_errors_with_paths() {
        let errors = admit_json(json!({"spec": {"code": "", "voucherType": "x", "count": -1, "when": "yesterday",
            "labels": [{"n": 5}], "port": true}}))
        .unwrap_err();
        assert_eq!(
            errors,
            [
                r#"spec.code: Invalid value: "": spec.code in body should be at least 1 chars long"#,
                r#"spec.count: Invalid value: -1: spec.count in body should be greater than or equal to 0"#,
                r#"spec.labels[0].n: Invalid value: "integer": spec.labels[0].n in body must be of type string: "integer""#,
                r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
                r#"spec.voucherType: Unsupported value: "x": supported values: "none", "appuio", "servala""#,
                r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#,
            ]
        );
        assert_eq!(admit_json(json!({"metadata": {}})).unwrap_err(), ["spec: Required value"]);
        assert_eq!(admit_json(json!({"spec": {}})).unwrap_err(), ["spec.code: Required value"]);
        assert_eq!(
            admit_json(json!({"spec": "text"})).unwrap_err(),
            [r#"spec: Invalid value: "string": spec in body must be of type object: "string""#]
        );
        assert!(admit_json(json!({"spec": {"code": "c", "count": 3, "when": "2026-11-29T14:00:00Z"}})).is_ok());
    }
}
