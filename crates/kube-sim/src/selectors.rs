//! Label and field selectors as the Kubernetes API parses them.
//!
//! Pure parsing and matching, no I/O: the HTTP layer parses the `labelSelector` and `fieldSelector`
//! query parameters with [`LabelSelector::parse`] and [`FieldSelector::parse`] (a parse error becomes
//! a 400 `BadRequest` Status) and the store asks [`Selectors::matches`] for every object it lists or
//! streams.
//!
//! Which fields a field selector may name depends on the resource, as kube's field label
//! conversions decide: each resource has a table of [`SelectableField`]s, whose values are read
//! from the object as stored (so a resource served as a view of another's storage names its own
//! labels for the stored fields, as `events.k8s.io` names `regarding.kind` what is stored as
//! `involvedObject.kind`).
//!
//! May call: nothing else of the crate.

use serde_json::Value;
use std::collections::BTreeSet;

/// A selector string that could not be parsed; the message is what the API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `labelSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<LabelRequirement>);

/// A field a `fieldSelector` may name, and where its value is read in the stored object: the
/// first of `paths` that is not empty (kube's `ToSelectableFields` computes some, as an Event's
/// `source`: its `source.component`, else its `reportingComponent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectableField {
    pub(crate) label: &'static str,
    pub(crate) paths: &'static [&'static str],
}

impl SelectableField {
    /// The field a selector names `label`, read at `paths`.
    pub(crate) const fn at(label: &'static str, paths: &'static [&'static str]) -> Self {
        Self { label, paths }
    }
}

/// `metadata.name`, which every resource's field selectors may name.
pub(crate) const METADATA_NAME: SelectableField = SelectableField::at("metadata.name", &["metadata.name"]);
/// `metadata.namespace`, which every resource's field selectors may name.
pub(crate) const METADATA_NAMESPACE: SelectableField =
    SelectableField::at("metadata.namespace", &["metadata.namespace"]);

/// The fields of resources without a table of their own: the metadata and the pods' fields (as
/// the real API server allows for pods).
pub const DEFAULT_FIELDS: &[SelectableField] = &[
    METADATA_NAME,
    METADATA_NAMESPACE,
    SelectableField::at("spec.nodeName", &["spec.nodeName"]),
    SelectableField::at("status.phase", &["status.phase"]),
];

/// One requirement of a field selector: `field=value` or `field!=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: SelectableField,
    pub value: String,
    pub(crate) negated: bool,
}

/// A parsed `fieldSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<FieldRequirement>);

/// Both selectors of a list or watch request.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

/// Splits on commas that are not inside parentheses (`a in (x,y),b` is two requirements).
fn split_top_level(input: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SelectorError(format!("unexpected ')' in selector {input:?}")));
                }
            }
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SelectorError(format!("unclosed '(' in selector {input:?}")));
    }
    parts.push(&input[start..]);
    Ok(parts)
}

/// Label keys: an optional DNS-subdomain prefix and a name of alphanumerics, '-', '_' and '.'.
fn validate_label_key(key: &str) -> Result<(), SelectorError> {
    let name = key.rsplit_once('/').map_or(key, |(_, name)| name);
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid { Ok(()) } else { Err(SelectorError(format!("invalid label key {key:?}"))) }
}

fn validate_label_value(value: &str) -> Result<(), SelectorError> {
    let valid = value.len() <= 63 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid { Ok(()) } else { Err(SelectorError(format!("invalid label value {value:?}"))) }
}

fn parse_value_set(key: &str, rest: &str) -> Result<BTreeSet<String>, SelectorError> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| SelectorError(format!("expected a parenthesised value list after {key:?}")))?;
    let values: BTreeSet<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    for value in &values {
        validate_label_value(value)?;
    }
    Ok(values)
}

fn parse_label_requirement(raw: &str) -> Result<LabelRequirement, SelectorError> {
    let term = raw.trim();
    if term.is_empty() {
        return Err(SelectorError("empty requirement in label selector".into()));
    }
    if let Some(key) = term.strip_prefix('!') {
        let key = key.trim();
        validate_label_key(key)?;
        return Ok(LabelRequirement::DoesNotExist(key.to_string()));
    }
    for (op, negated) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = term.split_once(op) {
            let (key, value) = (key.trim(), value.trim());
            validate_label_key(key)?;
            validate_label_value(value)?;
            return Ok(if negated {
                LabelRequirement::NotEquals(key.into(), value.into())
            } else {
                LabelRequirement::Equals(key.into(), value.into())
            });
        }
    }
    let mut words = term.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default().trim();
    let rest = words.next().unwrap_or_default().trim();
    validate_label_key(key)?;
    if rest.is_empty() {
        return Ok(LabelRequirement::Exists(key.to_string()));
    }
    if let Some(set) = rest.strip_prefix("notin") {
        return Ok(LabelRequirement::NotIn(key.into(), parse_value_set(key, set)?));
    }
    if let Some(set) = rest.strip_prefix("in") {
        return Ok(LabelRequirement::In(key.into(), parse_value_set(key, set)?));
    }
    Err(SelectorError(format!("unable to parse requirement {term:?}")))
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/labels")?.get(key)?.as_str()
}

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        if input.trim().is_empty() {
            return Ok(Self::default());
        }
        split_top_level(input)?.into_iter().map(parse_label_requirement).collect::<Result<_, _>>().map(Self)
    }

    /// A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`) as kube's
    /// `LabelSelectorAsSelector` reads it: `None` for a null one (it selects nothing), no
    /// requirements for `{}` (it selects everything).
    pub fn from_object(selector: &Value) -> Result<Option<Self>, SelectorError> {
        if selector.is_null() {
            return Ok(None);
        }
        let mut requirements = Vec::new();
        for (key, value) in selector["matchLabels"].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default();
            validate_label_key(key)?;
            validate_label_value(value)?;
            requirements.push(LabelRequirement::Equals(key.clone(), value.into()));
        }
        for expression in selector["matchExpressions"].as_array().into_iter().flatten() {
            let key = expression["key"].as_str().unwrap_or_default().to_string();
            validate_label_key(&key)?;
            let values: BTreeSet<String> = expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect();
            for value in &values {
                validate_label_value(value)?;
            }
            let operator = expression["operator"].as_str().unwrap_or_default();
            let requirement = match operator {
                "In" | "NotIn" if values.is_empty() => {
                    return Err(SelectorError("for 'in', 'notin' operators, values set can't be empty".into()));
                }
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Err(SelectorError("values set must be empty for exists and does not exist".into()));
                }
                "In" => LabelRequirement::In(key, values),
                "NotIn" => LabelRequirement::NotIn(key, values),
                "Exists" => LabelRequirement::Exists(key),
                "DoesNotExist" => LabelRequirement::DoesNotExist(key),
                other => return Err(SelectorError(format!("{other:?} is not a valid label selector operator"))),
            };
            requirements.push(requirement);
        }
        Ok(Some(Self(requirements)))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(k, v) => label(object, k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(object, k) != Some(v.as_str()),
            LabelRequirement::In(k, set) => label(object, k).is_some_and(|v| set.contains(v)),
            LabelRequirement::NotIn(k, set) => label(object, k).is_none_or(|v| !set.contains(v)),
            LabelRequirement::Exists(k) => label(object, k).is_some(),
            LabelRequirement::DoesNotExist(k) => label(object, k).is_none(),
        })
    }
}

/// The terms of a field selector, `(field, value, negated)`, as `fields.ParseSelector` reads
/// them (`=`, `==`, `!=`, comma-separated), whichever fields they name.
fn field_terms(input: &str) -> Result<Vec<(&str, &str, bool)>, SelectorError> {
    if input.trim().is_empty() {
        return Ok(Vec::new());
    }
    input
        .split(',')
        .map(|term| {
            let term = term.trim();
            let (field, value, negated) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(SelectorError(format!("invalid field selector requirement {term:?}")));
            };
            Ok((field.trim(), value.trim(), negated))
        })
        .collect()
}

/// The value of a selectable field; absent fields compare as the empty string, as in Kubernetes.
fn field_value<'a>(object: &'a Value, field: &SelectableField) -> &'a str {
    let read = |path: &str| object.pointer(&format!("/{}", path.replace('.', "/"))).and_then(Value::as_str);
    field.paths.iter().filter_map(|path| read(path)).find(|value| !value.is_empty()).unwrap_or("")
}

impl FieldSelector {
    /// Parses a `fieldSelector` for a resource whose field selectors may name `fields`.
    pub fn parse(input: &str, fields: &[SelectableField]) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (field, value, negated) in field_terms(input)? {
            let Some(field) = fields.iter().find(|f| f.label == field).copied() else {
                return Err(SelectorError(format!("field label not supported: {field}")));
            };
            requirements.push(FieldRequirement { field, value: value.into(), negated });
        }
        Ok(Self(requirements))
    }

    /// The name a selector pins (`metadata.name=x`, whatever other fields it names), as
    /// `RequiresExactMatch("metadata.name")` reads it for authorisation; `None` when it pins none
    /// or does not parse.
    pub(crate) fn exact_name(input: &str) -> Option<String> {
        let terms = field_terms(input).ok()?;
        terms
            .into_iter()
            .find(|(field, _, negated)| *field == METADATA_NAME.label && !negated)
            .map(|(_, v, _)| v.into())
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|r| (field_value(object, &r.field) == r.value) != r.negated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_operators_match_as_kubernetes_documents() {
        let p = pod(json!({"app": "web", "tier": "front"}));
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web,db)", true),
            ("app in (db)", false),
            ("app notin (db, cache)", true),
            ("missing notin (x)", true),
            ("missing in (x)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app in (web,db),tier=back", false),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
            assert_eq!(parsed.matches(&p), expected, "{selector}");
        }
    }

    #[test]
    fn label_selector_objects_read_as_kube_reads_them() {
        let web = pod(json!({"app": "web", "tier": "front"}));
        let read = |selector: Value| LabelSelector::from_object(&selector);
        assert_eq!(read(Value::Null), Ok(None), "null selects nothing");
        assert!(read(json!({})).unwrap().unwrap().matches(&pod(json!({}))), "{{}} selects everything");
        let selector = read(json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}))
        .unwrap()
        .unwrap();
        assert!(selector.matches(&web));
        assert!(!selector.matches(&pod(json!({"app": "web", "tier": "front", "canary": "1"}))));
        assert!(!selector.matches(&pod(json!({"app": "db", "tier": "front"}))));
        assert!(read(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})).is_err());
        assert!(read(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})).is_err());
        assert_eq!(
            read(json!({"matchExpressions": [{"key": "a", "operator": "Near"}]})).unwrap_err().0,
            r#""Near" is not a valid label selector operator"#
        );
    }

    #[test]
    fn malformed_label_selectors_are_rejected() {
        for bad in ["app in (web", "app in web", "=x", "a b c", "app=(x", "app=web,", "bad key=x", "a=b=c"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn field_selectors_cover_the_pod_fields() {
        let p = pod(json!({}));
        let matching = ["metadata.name=p", "metadata.namespace==ns", "spec.nodeName=n1", "status.phase!=Pending"];
        for selector in matching {
            assert!(FieldSelector::parse(selector, DEFAULT_FIELDS).unwrap().matches(&p), "{selector}");
        }
        assert!(!FieldSelector::parse("spec.nodeName=n2", DEFAULT_FIELDS).unwrap().matches(&p));
    }

    #[test]
    fn unknown_fields_and_operators_are_rejected() {
        assert_eq!(
            FieldSelector::parse("spec.foo=bar", DEFAULT_FIELDS).unwrap_err().to_string(),
            "field label not supported: spec.foo"
        );
        assert!(FieldSelector::parse("metadata.name", DEFAULT_FIELDS).is_err());
    }
}
