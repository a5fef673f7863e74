//! Server-side apply and field ownership, as kube-apiserver keeps them in
//! `metadata.managedFields`: every write records which fields its manager set (`Update` for
//! create/update/patch, `Apply` for apply patches, as `FieldsV1`); an apply merges the applied
//! configuration (lists by their merge keys), removes the fields its manager applied before and
//! no longer applies (unless another manager owns them too), and refuses with 409 Conflict to
//! change a field another manager owns to a different value unless `force=true`, which takes the
//! field over.
//!
//! Leaf paths stand for fields: `f:<name>` steps into a map, `k:{"name":"app"}` into a list item
//! by its merge key (`crate::merge`), `v:"x"` is a member of a set-like list (`finalizers`).
//! It may call `crate::merge` and [`crate::field`].
//!
//! May call: `crate::merge`.

use crate::merge;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One step of a field path, written as in `FieldsV1`.
type Step = String;
/// A field: the steps from the root to a leaf.
pub(crate) type FieldPath = Vec<Step>;

/// The metadata fields a manager may own; the rest of metadata is the server's.
const OWNED_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// The leaf fields set in `object` (a whole object; `apiVersion`, `kind`, the server's metadata
/// and, where `status` is a subresource, `status` are nobody's to own here).
pub(crate) fn leaves(object: &Value, skip_status: bool) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    let Some(map) = object.as_object() else { return out };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "status" if skip_status => {}
            "metadata" => {
                for field in OWNED_METADATA {
                    if let Some(v) = value.get(field) {
                        collect(v, field, &mut vec!["f:metadata".into(), format!("f:{field}")], &mut out);
                    }
                }
            }
            _ => collect(value, key, &mut vec![format!("f:{key}")], &mut out),
        }
    }
    out
}

fn key_step(key: &str, item: &Value) -> Option<Step> {
    item.get(key).map(|v| format!("k:{}", json!({key: v})))
}

fn collect(value: &Value, field: &str, path: &mut Vec<Step>, out: &mut BTreeSet<FieldPath>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(format!("f:{key}"));
                collect(child, key, path, out);
                path.pop();
            }
        }
        Value::Array(items) if merge::merges_as_set(field) => {
            for item in items {
                path.push(format!("v:{item}"));
                out.insert(path.clone());
                path.pop();
            }
        }
        Value::Array(items) => {
            let refs: Vec<&Value> = items.iter().collect();
            let key = merge::merge_key_for(field, &|k| refs.iter().any(|i| i.get(k).is_some()));
            match key {
                Some(key) if items.iter().all(|i| i.get(key).is_some()) => {
                    for item in items {
                        let Some(step) = key_step(key, item) else { continue };
                        path.push(step);
                        path.push(".".into());
                        out.insert(path.clone());
                        path.pop();
                        if let Some(map) = item.as_object() {
                            for (k, child) in map {
                                path.push(format!("f:{k}"));
                                collect(child, k, path, out);
                                path.pop();
                            }
                        }
                        path.pop();
                    }
                }
                _ => {
                    out.insert(path.clone());
                }
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// The value a path leads to in `object`, if it is there.
fn value_at<'a>(object: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut current = object;
    for step in path {
        if step == "." {
            continue;
        }
        current = if let Some(name) = step.strip_prefix("f:") {
            current.get(name)?
        } else if let Some(selector) = step.strip_prefix("k:") {
            let selector: Map<String, Value> = serde_json::from_str(selector).ok()?;
            current.as_array()?.iter().find(|item| selector.iter().all(|(k, v)| item.get(k) == Some(v)))?
        } else if let Some(member) = step.strip_prefix("v:") {
            let member: Value = serde_json::from_str(member).ok()?;
            current.as_array()?.iter().find(|item| **item == member)?
        } else {
            return None;
        };
    }
    Some(current)
}

/// Removes the field at `path` from `object` (a list item for a `k:`/`v:` path ending in it).
fn remove_at(object: &mut Value, path: &[Step]) {
    let path: Vec<&Step> = path.iter().filter(|s| *s != ".").collect();
    let Some((last, parents)) = path.split_last() else { return };
    let mut current = object;
    for step in parents {
        let next = if let Some(name) = step.strip_prefix("f:") {
            current.get_mut(name)
        } else if let Some(selector) = step.strip_prefix("k:") {
            let Ok(selector) = serde_json::from_str::<Map<String, Value>>(selector) else { return };
            current
                .as_array_mut()
                .and_then(|items| items.iter_mut().find(|item| selector.iter().all(|(k, v)| item.get(k) == Some(v))))
        } else {
            None
        };
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = current.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(selector) = last.strip_prefix("k:") {
        if let (Ok(selector), Some(items)) =
            (serde_json::from_str::<Map<String, Value>>(selector), current.as_array_mut())
        {
            items.retain(|item| !selector.iter().all(|(k, v)| item.get(k) == Some(v)));
        }
    } else if let Some(member) = last.strip_prefix("v:")
        && let (Ok(member), Some(items)) = (serde_json::from_str::<Value>(member), current.as_array_mut())
    {
        items.retain(|item| *item != member);
    }
}

/// A path set as `FieldsV1`.
fn to_fields_v1(paths: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for path in paths {
        let mut node = &mut root;
        for step in path {
            node =
                node.entry(step.clone()).or_insert_with(|| json!({})).as_object_mut().expect("FieldsV1 nodes are maps");
        }
    }
    Value::Object(root)
}

/// `FieldsV1` back to a path set.
fn from_fields_v1(fields: &Value) -> BTreeSet<FieldPath> {
    fn walk(node: &Value, path: &mut Vec<Step>, out: &mut BTreeSet<FieldPath>) {
        let Some(map) = node.as_object() else { return };
        if map.is_empty() && !path.is_empty() {
            out.insert(path.clone());
        }
        for (step, child) in map {
            path.push(step.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

/// One entry of `managedFields`.
#[derive(Debug, Clone, PartialEq)]
struct Manager {
    name: String,
    operation: String,
    api_version: String,
    subresource: String,
    time: String,
    fields: BTreeSet<FieldPath>,
}

fn read_managers(object: &Value) -> Vec<Manager> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| Manager {
            name: entry["manager"].as_str().unwrap_or_default().into(),
            operation: entry["operation"].as_str().unwrap_or("Update").into(),
            api_version: entry["apiVersion"].as_str().unwrap_or_default().into(),
            subresource: entry["subresource"].as_str().unwrap_or_default().into(),
            time: entry["time"].as_str().unwrap_or_default().into(),
            fields: from_fields_v1(&entry["fieldsV1"]),
        })
        .collect()
}

fn write_managers(object: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| {
            let mut entry = json!({"manager": m.name, "operation": m.operation, "apiVersion": m.api_version,
                "time": m.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&m.fields)});
            if !m.subresource.is_empty() {
                entry["subresource"] = json!(m.subresource);
            }
            entry
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

/// Who is writing, and how.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub(crate) api_version: &'a str,
    /// `status` for writes to `/status`, empty for the main resource.
    pub(crate) subresource: &'a str,
    pub now: &'a str,
}

/// Records a create, update or patch: the fields whose values changed (or appeared) now belong
/// to the writer (operation `Update`) and to no one else. `after` gets the new `managedFields`.
pub(crate) fn record_update(before: Option<&Value>, after: &mut Value, writer: &Writer, skip_status: bool) {
    let mut managers = before.map(read_managers).unwrap_or_default();
    let null = Value::Null;
    let changed: BTreeSet<FieldPath> = leaves(after, skip_status && writer.subresource.is_empty())
        .into_iter()
        .filter(|path| writer.subresource.is_empty() || path.first().map(String::as_str) == Some("f:status"))
        .filter(|path| {
            before.is_none_or(|b| value_at(b, path).unwrap_or(&null) != value_at(after, path).unwrap_or(&null))
        })
        .collect();
    if changed.is_empty() {
        write_managers(after, &managers);
        return;
    }
    for manager in &mut managers {
        manager.fields.retain(|path| !changed.contains(path));
    }
    let entry = managers
        .iter_mut()
        .find(|m| m.name == writer.manager && m.operation == "Update" && m.subresource == writer.subresource);
    match entry {
        Some(entry) => {
            entry.fields.extend(changed);
            entry.time = writer.now.into();
        }
        None => managers.push(Manager {
            name: writer.manager.into(),
            operation: "Update".into(),
            api_version: writer.api_version.into(),
            subresource: writer.subresource.into(),
            time: writer.now.into(),
            fields: changed,
        }),
    }
    write_managers(after, &managers);
}

/// A field another manager owns with a different value than the one applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub(crate) api_version: String,
    /// The field as kube prints it: `.spec.replicas`, `.spec.containers[name="app"].image`.
    pub field: String,
}

fn display_path(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        if let Some(name) = step.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(selector) = step.strip_prefix("k:") {
            let selector: Map<String, Value> = serde_json::from_str(selector).unwrap_or_default();
            let parts: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(member) = step.strip_prefix("v:") {
            out.push_str(&format!("[{member}]"));
        }
    }
    out
}

/// Server-side apply of `applied` over `live` by `writer`: the merged object with its new
/// `managedFields`, or the conflicts when `force` is off.
pub fn apply(
    live: &Value,
    applied: &Value,
    writer: &Writer,
    force: bool,
    skip_status: bool,
) -> Result<Value, Vec<Conflict>> {
    let mut managers = read_managers(live);
    let applied_set = leaves(applied, skip_status);
    let null = Value::Null;
    let mut conflicts = Vec::new();
    let mut taken: BTreeMap<usize, Vec<FieldPath>> = BTreeMap::new();
    for (i, manager) in managers.iter().enumerate() {
        if manager.name == writer.manager && manager.operation == "Apply" {
            continue;
        }
        for path in manager.fields.intersection(&applied_set) {
            if value_at(live, path).unwrap_or(&null) != value_at(applied, path).unwrap_or(&null) {
                conflicts.push(Conflict {
                    manager: manager.name.clone(),
                    api_version: manager.api_version.clone(),
                    field: display_path(path),
                });
                taken.entry(i).or_default().push(path.clone());
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (i, paths) in taken {
        managers[i].fields.retain(|p| !paths.contains(p));
    }
    let mut merged = merge::strategic_merge(live, applied).unwrap_or_else(|_| live.clone());
    // What this manager applied before and applies no more goes, unless someone else owns it.
    let previous = managers
        .iter()
        .find(|m| m.name == writer.manager && m.operation == "Apply")
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied_set) {
        let shared =
            managers.iter().any(|m| !(m.name == writer.manager && m.operation == "Apply") && m.fields.contains(path));
        if !shared {
            remove_at(&mut merged, path);
        }
    }
    managers.retain(|m| !(m.name == writer.manager && m.operation == "Apply"));
    managers.push(Manager {
        name: writer.manager.into(),
        operation: "Apply".into(),
        api_version: writer.api_version.into(),
        subresource: writer.subresource.into(),
        time: writer.now.into(),
        fields: applied_set,
    });
    write_managers(&mut merged, &managers);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer<'_> {
        Writer { manager, api_version: "apps/v1", subresource: "", now: "2026-11-29T14:00:00Z" }
    }

    fn sts(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "labels": {"app": "s"}},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn fields_are_leaves_with_list_items_by_key() {
        let paths: Vec<String> = leaves(&sts(1, "i"), true).iter().map(|p| display_path(p)).collect();
        assert_eq!(
            paths,
            [
                ".metadata.labels.app",
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"app\"]",
                ".spec.template.spec.containers[name=\"app\"].image",
                ".spec.template.spec.containers[name=\"app\"].name",
            ]
        );
        let fields = to_fields_v1(&leaves(&sts(1, "i"), true));
        assert!(fields["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"app"}"#]["."].is_object());
        assert_eq!(from_fields_v1(&fields), leaves(&sts(1, "i"), true));
    }

    #[test]
    fn apply_conflicts_with_another_managers_different_value_unless_forced() {
        let mut live = sts(5, "a:1");
        record_update(None, &mut live, &writer("kubectl-client-side-apply"), true);
        // The same values: no conflict, shared ownership.
        let same = apply(&live, &sts(5, "a:1"), &writer("kubectl"), false, true).unwrap();
        assert_eq!(same["metadata"]["managedFields"].as_array().unwrap().len(), 2);
        // Another manager changed replicas: applying a different value conflicts.
        let mut scaled = same.clone();
        scaled["spec"]["replicas"] = json!(7);
        record_update(Some(&same), &mut scaled, &writer("kube-controller"), true);
        let conflicts = apply(&scaled, &sts(3, "a:1"), &writer("kubectl"), false, true).unwrap_err();
        assert_eq!(
            conflicts,
            [Conflict {
                manager: "kube-controller".into(),
                api_version: "apps/v1".into(),
                field: ".spec.replicas".into()
            }]
        );
        let forced = apply(&scaled, &sts(3, "a:1"), &writer("kubectl"), true, true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        let owners: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["manager"].as_str().unwrap())
            .collect();
        assert!(!owners.contains(&"kube-controller"), "forced: the field changed hands: {owners:?}");
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_someone_else_owns_them() {
        let live = apply(&json!({"metadata": {"name": "s"}}), &sts(5, "a:1"), &writer("kubectl"), false, true).unwrap();
        let mut fewer = sts(5, "a:1");
        fewer["metadata"]["labels"] = json!({});
        fewer["metadata"].as_object_mut().unwrap().remove("labels");
        let applied = apply(&live, &fewer, &writer("kubectl"), false, true).unwrap();
        assert!(applied["metadata"].get("labels").is_none_or(|l| l.get("app").is_none()), "{applied}");
        let mut other = live.clone();
        record_update(Some(&json!({})), &mut other, &writer("someone"), true);
        let kept = apply(&other, &fewer, &writer("kubectl"), false, true).unwrap();
        assert_eq!(kept["metadata"]["labels"]["app"], "s", "still owned by someone");
    }
}
