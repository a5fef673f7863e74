//! Server-side printing: the `meta.k8s.io/v1` `Table` form that `kubectl get` asks for.
//!
//! kubectl requests `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the columns the
//! server chooses; these are the columns the real API server prints for pods, nodes, Events,
//! PodDisruptionBudgets, roles and role bindings (priority 1 columns are the `-o wide` ones).
//! Other types get NAME and AGE. Rows are printed from the object as stored, as kube prints its
//! internal version: Events look the same through `v1` and `events.k8s.io/v1`.
//!
//! May call: `crate::resources`.

use crate::resources::ResourceDef;
use serde_json::{Value, json};

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority})
}

/// A duration in kubectl's short human form: `42s`, `5m3s`, `3h`, `2d4h`.
pub(crate) fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86400 => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// The time since a timestamp, `None` when it is unset (or unreadable).
fn since(time: &Value, now: jiff::Timestamp) -> Option<String> {
    let time = time.as_str()?.parse::<jiff::Timestamp>().ok()?;
    Some(human_age(now.as_second() - time.as_second()))
}

fn age(object: &Value, now: jiff::Timestamp) -> String {
    since(&object["metadata"]["creationTimestamp"], now).unwrap_or_else(|| "<unknown>".into())
}

/// A column of a table: name, type, priority, description.
type Column = (&'static str, &'static str, u8, &'static str);

/// The columns kube-apiserver's table convertor prints for the built-in kinds served here,
/// as `(name, type, priority, description)`, with the same descriptions.
const BUILT_IN_COLUMNS: &[(&[&str], &[Column])] = &[
    (
        &["Pod"],
        &[
            ("Name", "string", 0, "Name must be unique within a namespace."),
            ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
            ("Status", "string", 0, "The aggregate status of the containers in this pod."),
            ("Restarts", "integer", 0, "The number of times the containers in this pod have been restarted."),
            ("Age", "string", 0, "Time since the object was created."),
            ("IP", "string", 1, "IP address allocated to the pod."),
            ("Node", "string", 1, "Name of the node where the pod is scheduled."),
            ("Nominated Node", "string", 1, "Name of the node where the pod is nominated to run."),
            ("Readiness Gates", "string", 1, "Pod readiness gates."),
        ],
    ),
    (
        &["Node"],
        &[
            ("Name", "string", 0, "Name must be unique."),
            ("Status", "string", 0, "The status of the node."),
            ("Roles", "string", 0, "The roles of the node."),
            ("Age", "string", 0, "Time since the object was created."),
            ("Version", "string", 0, "Kubelet Version reported by the node."),
            ("Internal-IP", "string", 1, "List of internal IPs."),
            ("External-IP", "string", 1, "List of external IPs."),
            ("OS-Image", "string", 1, "OS image reported by the node."),
            ("Kernel-Version", "string", 1, "Kernel version reported by the node."),
            ("Container-Runtime", "string", 1, "Container runtime and version reported by the node."),
        ],
    ),
    (
        &["Event"],
        &[
            ("Last Seen", "string", 0, "The time at which the most recent occurrence of this event was recorded."),
            ("Type", "string", 0, "Type of this event (Normal, Warning), new types could be added in the future"),
            (
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            ("Object", "string", 0, "The object that this event is about."),
            (
                "Subobject",
                "string",
                1,
                "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
            ),
            (
                "Source",
                "string",
                1,
                "The component reporting this event. Should be a short machine understandable string.",
            ),
            ("Message", "string", 0, "A human-readable description of the status of this operation."),
            (
                "First Seen",
                "string",
                1,
                "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            ),
            ("Count", "string", 1, "The number of times this event has occurred."),
            ("Name", "string", 1, "Name must be unique within a namespace."),
        ],
    ),
    (
        &["PodDisruptionBudget"],
        &[
            ("Name", "string", 0, "Name must be unique within a namespace."),
            ("Min Available", "string", 0, "The minimum number of pods that must be available."),
            ("Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."),
            ("Allowed Disruptions", "integer", 0, "Calculated number of pods that may be disrupted at this time."),
            ("Age", "string", 0, "Time since the object was created."),
        ],
    ),
    (
        &["Role", "ClusterRole"],
        &[
            ("Name", "string", 0, "Name must be unique within a namespace."),
            (
                "Created At",
                "date",
                0,
                "CreationTimestamp is a timestamp representing the server time when this object was created.",
            ),
        ],
    ),
    (
        &["RoleBinding", "ClusterRoleBinding"],
        &[
            ("Name", "string", 0, "Name must be unique within a namespace."),
            (
                "Role",
                "string",
                0,
                "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
            ),
            ("Age", "string", 0, "Time since the object was created."),
            ("Users", "string", 1, "Users in the roleBinding"),
            ("Groups", "string", 1, "Groups in the roleBinding"),
            ("ServiceAccounts", "string", 1, "ServiceAccounts in the roleBinding"),
        ],
    ),
];

/// The columns of `def`'s table: kube-apiserver's for a built-in kind, else the custom
/// resource's printer columns after the name (and its age, unless a printer column shows it).
fn columns(def: &ResourceDef) -> Vec<Value> {
    if let Some((_, built_in)) = BUILT_IN_COLUMNS.iter().find(|(kinds, _)| kinds.contains(&def.kind.as_str())) {
        return built_in
            .iter()
            .map(|(name, kind, priority, description)| column(name, kind, *priority, description))
            .collect();
    }
    let mut columns = vec![column("Name", "string", 0, "Name must be unique within a namespace.")];
    columns.extend(def.printer_columns.iter().map(|c| {
        let kind = if c.kind == "date" { "string" } else { c.kind.as_str() };
        column(&c.name, kind, c.priority, &c.json_path)
    }));
    if !def.printer_columns.iter().any(|c| c.json_path == ".metadata.creationTimestamp") {
        columns.push(column("Age", "string", 0, "Time since the object was created."));
    }
    columns
}

/// The value at a simple JSONPath such as `.status.killCount`; dates print as ages.
fn printer_cell(object: &Value, column: &crate::resources::PrinterColumn, now: jiff::Timestamp) -> Value {
    let pointer = column.json_path.replace('.', "/");
    let value = object.pointer(&pointer).cloned().unwrap_or(Value::Null);
    match (column.kind.as_str(), value.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok())) {
        ("date", Some(time)) => json!(human_age(now.as_second() - time.as_second())),
        _ => value,
    }
}

fn pod_cells(pod: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let statuses = pod["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let containers = pod["spec"]["containers"].as_array().map_or(0, Vec::len).max(statuses.len());
    let ready = statuses.iter().filter(|s| s["ready"].as_bool() == Some(true)).count();
    let restarts: i64 = statuses.iter().filter_map(|s| s["restartCount"].as_i64()).sum();
    let status = if pod["metadata"]["deletionTimestamp"].is_string() {
        "Terminating".to_string()
    } else {
        pod["status"]["phase"].as_str().unwrap_or("Pending").to_string()
    };
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).unwrap_or("<none>").to_string();
    vec![
        json!(pod["metadata"]["name"]),
        json!(format!("{ready}/{containers}")),
        json!(status),
        json!(restarts),
        json!(age(pod, now)),
        json!(text(&pod["status"]["podIP"])),
        json!(text(&pod["spec"]["nodeName"])),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn node_cells(node: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let ready = node["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"].as_str().unwrap_or("Unknown").to_string());
    let mut status = match ready.as_deref() {
        Some("True") => "Ready".to_string(),
        Some("False") => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = node["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels.keys().filter_map(|k| k.strip_prefix("node-role.kubernetes.io/")).map(str::to_string).collect()
        })
        .unwrap_or_default();
    roles.sort();
    let roles = if roles.is_empty() { "<none>".to_string() } else { roles.join(",") };
    let address = |kind: &str| {
        node["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["type"] == kind))
            .and_then(|a| a["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info = &node["status"]["nodeInfo"];
    vec![
        json!(node["metadata"]["name"]),
        json!(status),
        json!(roles),
        json!(age(node, now)),
        json!(info["kubeletVersion"]),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info["osImage"]),
        json!(info["kernelVersion"]),
        json!(info["containerRuntimeVersion"]),
    ]
}

/// An int-or-string as kubectl prints it (`3`, `50%`), `N/A` when unset.
fn int_or_string(value: &Value) -> String {
    match value {
        Value::Null => "N/A".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn budget_cells(pdb: &Value, now: jiff::Timestamp) -> Vec<Value> {
    vec![
        json!(pdb["metadata"]["name"]),
        json!(int_or_string(&pdb["spec"]["minAvailable"])),
        json!(int_or_string(&pdb["spec"]["maxUnavailable"])),
        json!(pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0)),
        json!(age(pdb, now)),
    ]
}

/// An Event's cells as kube's `printEvent` makes them (the wide form, which the server always
/// sends): times fall back from `lastTimestamp` to `firstTimestamp` to `eventTime`, a series
/// gives the last time and the count (a singleton of the new API counts 1), the source falls back
/// to the reporting controller and instance.
fn event_cells(event: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let unknown = || "<unknown>".to_string();
    let first =
        since(&event["firstTimestamp"], now).or_else(|| since(&event["eventTime"], now)).unwrap_or_else(unknown);
    let mut last = since(&event["lastTimestamp"], now).unwrap_or_else(|| first.clone());
    let mut count = event["count"].as_i64().unwrap_or(0);
    if let Some(series) = event["series"].as_object() {
        last = series.get("lastObservedTime").and_then(|t| since(t, now)).unwrap_or_else(unknown);
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let involved = &event["involvedObject"];
    let kind = text(&involved["kind"]).to_lowercase();
    let target = match involved["name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let first_set = |a: &Value, b: &Value| Some(text(a)).filter(|s| !s.is_empty()).unwrap_or_else(|| text(b));
    let component = first_set(&event["source"]["component"], &event["reportingComponent"]);
    let instance = first_set(&event["source"]["host"], &event["reportingInstance"]);
    let source = if instance.is_empty() { component } else { format!("{component}, {instance}") };
    vec![
        json!(last),
        json!(text(&event["type"])),
        json!(text(&event["reason"])),
        json!(target),
        json!(text(&involved["fieldPath"])),
        json!(source),
        json!(text(&event["message"]).trim()),
        json!(first),
        json!(count),
        json!(event["metadata"]["name"]),
    ]
}

/// A role's name and creation time (kube prints the time itself, not an age).
fn role_cells(role: &Value) -> Vec<Value> {
    vec![json!(role["metadata"]["name"]), json!(role["metadata"]["creationTimestamp"])]
}

/// A binding's name, `Kind/name` of its role, age, and its subjects by kind (`-o wide`); a
/// service account reads `namespace/name`.
fn binding_cells(binding: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let role = &binding["roleRef"];
    let subjects = binding["subjects"].as_array().cloned().unwrap_or_default();
    let of_kind = |kind: &str| {
        let names: Vec<String> = subjects
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| match (kind, s["namespace"].as_str()) {
                ("ServiceAccount", Some(ns)) => format!("{ns}/{}", s["name"].as_str().unwrap_or_default()),
                _ => s["name"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        json!(names.join(", "))
    };
    vec![
        json!(binding["metadata"]["name"]),
        json!(format!("{}/{}", role["kind"].as_str().unwrap_or_default(), role["name"].as_str().unwrap_or_default())),
        json!(age(binding, now)),
        of_kind("User"),
        of_kind("Group"),
        of_kind("ServiceAccount"),
    ]
}

fn row(def: &ResourceDef, object: &Value, include_object: bool, now: jiff::Timestamp) -> Value {
    // Printed from the stored form; embedded as served.
    let stored = def.stored_form(object);
    let cells = match def.kind.as_str() {
        "Pod" => pod_cells(&stored, now),
        "Node" => node_cells(&stored, now),
        "Event" => event_cells(&stored, now),
        "PodDisruptionBudget" => budget_cells(&stored, now),
        "Role" | "ClusterRole" => role_cells(&stored),
        "RoleBinding" | "ClusterRoleBinding" => binding_cells(&stored, now),
        _ => {
            let mut cells = vec![json!(stored["metadata"]["name"])];
            cells.extend(def.printer_columns.iter().map(|c| printer_cell(&stored, c, now)));
            if !def.printer_columns.iter().any(|c| c.json_path == ".metadata.creationTimestamp") {
                cells.push(json!(age(&stored, now)));
            }
            cells
        }
    };
    let embedded = if include_object {
        object.clone()
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
    };
    json!({"cells": cells, "object": embedded})
}

/// A `Table` of `objects`; `with_columns` is false for watch events after the first.
pub fn table(
    def: &ResourceDef,
    objects: &[&Value],
    resource_version: &str,
    include_object: bool,
    with_columns: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = objects.iter().map(|o| row(def, o, include_object, now)).collect();
    let mut table = json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "rows": rows,
    });
    if with_columns {
        table["columnDefinitions"] = Value::Array(columns(def));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_age(42), "42s");
        assert_eq!(human_age(303), "5m3s");
        assert_eq!(human_age(3 * 3600 + 60), "3h1m");
        assert_eq!(human_age(50 * 3600), "2d2h");
        assert_eq!(human_age(30 * 86400), "30d");
    }

    #[test]
    fn pod_rows_show_readiness_and_terminating() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n"},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 2}]}});
        let registry = crate::resources::Registry::default();
        let t = table(&registry.find("", "v1", "pods").unwrap(), &[&pod], "7", false, true);
        assert_eq!(t["rows"][0]["cells"][1], "1/1");
        assert_eq!(t["rows"][0]["cells"][2], "Terminating");
        assert_eq!(t["rows"][0]["cells"][3], 2);
        assert_eq!(t["rows"][0]["cells"][6], "n");
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), t["rows"][0]["cells"].as_array().unwrap().len());
    }

    #[test]
    fn event_rows_print_alike_through_both_apis_as_kube_does() {
        let registry = crate::resources::Registry::default();
        let core = registry.find("", "v1", "events").unwrap();
        let viewed = registry.find("events.k8s.io", "v1", "events").unwrap();
        let now: jiff::Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
        let ago = |s: i64| json!((now - jiff::SignedDuration::from_secs(s)).to_string());
        // As kube-rs's Recorder writes it, the second time: a series, no count, no source.
        let recorded = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "pico-2.17a", "namespace": "demo"}, "eventTime": ago(300),
            "series": {"count": 2, "lastObservedTime": ago(30)},
            "regarding": {"kind": "Node", "name": "pico-2"}, "note": " lost \n", "reason": "NodeLost",
            "type": "Warning", "action": "Evicting", "reportingController": "conferenceli", "reportingInstance": "booth-1"});
        let through_core = (*core.served(&std::sync::Arc::new(viewed.to_storage(recorded.clone())))).clone();
        let expected = [
            json!("30s"),
            json!("Warning"),
            json!("NodeLost"),
            json!("node/pico-2"),
            json!(""),
            json!("conferenceli, booth-1"),
            json!("lost"),
            json!("5m0s"),
            json!(2),
            json!("pico-2.17a"),
        ];
        for (def, event) in [(&viewed, &recorded), (&core, &through_core)] {
            assert_eq!(row(def, event, false, now)["cells"].as_array().unwrap()[..], expected, "{}", def.api_version());
            let t = table(def, &[event], "7", false, true);
            let names: Vec<&Value> = t["columnDefinitions"].as_array().unwrap().iter().map(|c| &c["name"]).collect();
            assert_eq!(
                names,
                [
                    "Last Seen",
                    "Type",
                    "Reason",
                    "Object",
                    "Subobject",
                    "Source",
                    "Message",
                    "First Seen",
                    "Count",
                    "Name"
                ]
            );
        }
        // The old API's way: timestamps, a count, a source; a singleton of the new one counts 1.
        let old = json!({"kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
            "firstTimestamp": ago(7200), "lastTimestamp": ago(60), "count": 5, "source": {"component": "kubelet"}});
        let cells = &row(&core, &old, false, now)["cells"];
        assert_eq!(
            (&cells[0], &cells[4], &cells[5], &cells[7], &cells[8]),
            (&json!("60s"), &json!("spec.containers{c}"), &json!("kubelet"), &json!("120m"), &json!(5))
        );
        let single = json!({"kind": "Event", "metadata": {"name": "s"}, "involvedObject": {"kind": "Namespace"}, "eventTime": ago(10)});
        let cells = &row(&core, &single, false, now)["cells"];
        assert_eq!((&cells[0], &cells[3], &cells[8]), (&json!("10s"), &json!("namespace"), &json!(1)));
    }

    #[test]
    fn budget_rows_print_int_or_percent_and_na() {
        let pdb = json!({"kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"maxUnavailable": "40%"}, "status": {"disruptionsAllowed": 2}});
        let registry = crate::resources::Registry::default();
        let t = table(&registry.find("policy", "v1", "poddisruptionbudgets").unwrap(), &[&pdb], "7", false, true);
        let names: Vec<&Value> = t["columnDefinitions"].as_array().unwrap().iter().map(|c| &c["name"]).collect();
        assert_eq!(names, ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]);
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[..4],
            [json!("web"), json!("N/A"), json!("40%"), json!(2)]
        );
    }

    #[test]
    fn binding_rows_name_the_role_and_subjects() {
        let binding = json!({"kind": "RoleBinding", "metadata": {"name": "b", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "c"}, {"kind": "Group", "name": "g"}]});
        let registry = crate::resources::Registry::default();
        let t = table(
            &registry.find("rbac.authorization.k8s.io", "v1", "rolebindings").unwrap(),
            &[&binding],
            "7",
            false,
            true,
        );
        let cells = &t["rows"][0]["cells"];
        assert_eq!((cells[0].as_str(), cells[1].as_str()), (Some("b"), Some("Role/r")));
        assert_eq!((cells[3].as_str(), cells[4].as_str(), cells[5].as_str()), (Some(""), Some("g"), Some("c/app")));
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), cells.as_array().unwrap().len());
    }
}
