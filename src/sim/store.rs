//! The simulated API's object store: every object of every type, one global resource version, the
//! history of changes that watches replay, and the API semantics that sit on storage (optimistic
//! concurrency, generation, graceful deletion, finalizers, status subresources, patches).
//!
//! All writes go through one mutex, and every write appends a [`WatchRecord`] to the history and
//! broadcasts it while that mutex is held, so a watch that reads the history and subscribes under
//! the same lock sees every change exactly once and in resource-version order.
//!
//! May call: nothing else of the crate.

use super::apply;
use super::field::{self, FieldError};
use super::resources::{Registry, ResourceDef};
use super::schema;
use super::selectors::Selectors;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// An API error, answered as a Kubernetes `Status` object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed: most errors have none, and results stay small.
    pub details: Option<Box<Details>>,
}

/// A `Status`'s `details`: what the error is about and, for Invalid, each field's cause.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Details {
    pub name: String,
    pub group: String,
    /// The resource (`pods`) for NotFound/AlreadyExists/Conflict, the kind (`Booth`) for Invalid.
    pub kind: String,
    pub causes: Vec<Value>,
}

impl Details {
    fn of(def: &ResourceDef, name: &str) -> Option<Box<Self>> {
        Some(Box::new(Self {
            name: name.into(),
            group: def.group.clone(),
            kind: def.plural.clone(),
            causes: Vec::new(),
        }))
    }
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self { code: 400, reason: "BadRequest", message: message.into(), details: None }
    }

    /// 422 Invalid for an object, as `Kind.group "name" is invalid: <field errors>`.
    pub fn invalid(def: &ResourceDef, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if def.group.is_empty() { def.kind.clone() } else { format!("{}.{}", def.kind, def.group) };
        Self::invalid_kind(&qualified, &def.group, &def.kind, name, errors)
    }

    /// 422 Invalid for the options of a request (`ListOptions.meta.k8s.io "" is invalid: ...`).
    pub(crate) fn invalid_options(kind: &str, errors: &[FieldError]) -> Self {
        Self::invalid_kind(&format!("{kind}.meta.k8s.io"), "meta.k8s.io", kind, "", errors)
    }

    fn invalid_kind(qualified: &str, group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        Self {
            code: 422,
            reason: "Invalid",
            message: format!("{qualified} {name:?} is invalid: {}", field::join(errors)),
            details: Some(Box::new(Details {
                name: name.into(),
                group: group.into(),
                kind: kind.into(),
                causes: errors.iter().map(FieldError::cause).collect(),
            })),
        }
    }

    pub(crate) fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{} {name:?} not found", def.qualified_name()),
            details: Details::of(def, name),
        }
    }

    pub(crate) fn path_not_found(path: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("the server could not find the requested resource ({path})"),
            details: None,
        }
    }

    pub(crate) fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} {name:?} already exists", def.qualified_name()),
            details: Details::of(def, name),
        }
    }

    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        Self::conflict_because(
            def,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict: `Operation cannot be fulfilled on <resource> "<name>": <why>`.
    pub(crate) fn conflict_because(def: &ResourceDef, name: &str, why: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict",
            message: format!("Operation cannot be fulfilled on {} {name:?}: {why}", def.qualified_name()),
            details: Details::of(def, name),
        }
    }

    pub(crate) fn expired(message: impl Into<String>) -> Self {
        Self { code: 410, reason: "Expired", message: message.into(), details: None }
    }

    /// 504 for a resource version the server has not reached yet (kube's "Too large resource
    /// version", after waiting for it a while).
    pub(crate) fn too_large_resource_version(requested: u64, current: u64) -> Self {
        Self {
            code: 504,
            reason: "Timeout",
            message: format!("Timeout: Too large resource version: {requested}, current: {current}"),
            details: Some(Box::new(Details {
                causes: vec![json!({"reason": "ResourceVersionTooLarge", "message": "Too large resource version"})],
                ..Details::default()
            })),
        }
    }

    pub(crate) fn method_not_allowed(message: impl Into<String>) -> Self {
        Self { code: 405, reason: "MethodNotAllowed", message: message.into(), details: None }
    }

    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!("the body of the request was in an unknown format: {content_type}"),
            details: None,
        }
    }

    /// The `Status` object for this error.
    pub(crate) fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(details) = &self.details {
            let mut d = Map::new();
            for (key, value) in [("name", &details.name), ("group", &details.group), ("kind", &details.kind)] {
                if !value.is_empty() {
                    d.insert(key.into(), Value::String(value.clone()));
                }
            }
            if !details.causes.is_empty() {
                d.insert("causes".into(), Value::Array(details.causes.clone()));
            }
            status["details"] = Value::Object(d);
        }
        status
    }
}

/// The type of a change as watch events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change in the history: the object after it and, for modifications and deletions, before
/// it (so that a watch with a selector can tell "stopped matching" from "changed", and a list
/// can be answered exactly at an older version).
#[derive(Debug)]
pub struct WatchRecord {
    pub rv: u64,
    /// When the change was made: the history forgets changes older than its retention.
    pub at: std::time::Instant,
    pub resource: String,
    pub namespace: String,
    pub event: EventType,
    pub object: Arc<Value>,
    pub previous: Option<Arc<Value>>,
}

/// What a watch is interested in.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    pub resource: String,
    pub namespace: Option<String>,
    pub selectors: Selectors,
}

impl WatchFilter {
    /// The event this watch sees for a record, if any: an object that starts matching the
    /// selectors is ADDED for it, one that stops matching is DELETED, as the real API does.
    pub(crate) fn event_for(&self, record: &WatchRecord) -> Option<EventType> {
        if record.resource != self.resource || self.namespace.as_ref().is_some_and(|ns| *ns != record.namespace) {
            return None;
        }
        let now = self.selectors.matches(&record.object);
        let before = record.previous.as_ref().map(|p| self.selectors.matches(p));
        match (record.event, before, now) {
            (EventType::Modified, Some(false), true) => Some(EventType::Added),
            (EventType::Modified, Some(true), false) => Some(EventType::Deleted),
            (EventType::Modified, Some(false), false) => None,
            (event, _, true) => Some(event),
            (_, _, false) => None,
        }
    }
}

/// The start of a watch: what to send first, and the live feed after it.
pub struct WatchStart {
    pub initial: Vec<(EventType, Arc<Value>)>,
    pub(crate) start_rv: u64,
    pub live: broadcast::Receiver<Arc<WatchRecord>>,
}

/// A page of a list.
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub(crate) remaining: usize,
}

/// How the body of a PATCH is to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    /// Strategic merge patch (built-in types only; see `super::merge`).
    Strategic,
    Json,
    Apply,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// How a write is carried out, from the request's `dryRun`, `fieldValidation`, `fieldManager`
/// and `force`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WriteMode {
    /// Checked and answered as if stored, but nothing is stored (`dryRun=All`).
    pub dry_run: bool,
    /// Unknown fields are refused (400) rather than pruned with a warning (`fieldValidation=Strict`).
    pub strict: bool,
    /// Who writes, for `managedFields` (`fieldManager`, else the User-Agent's product).
    pub manager: Option<String>,
    /// An apply takes over fields other managers own (`force=true`).
    pub force: bool,
}

impl WriteMode {
    fn writer<'a>(&'a self, api_version: &'a str, part: Part, now: &'a str) -> apply::Writer<'a> {
        apply::Writer {
            manager: self.manager.as_deref().unwrap_or("unknown"),
            api_version,
            subresource: if part == Part::Status { "status" } else { "" },
            now,
        }
    }
}

/// A write's result: the object as stored (or as it would be, for a dry run) and the warnings
/// for the client (`Warning` headers), such as the unknown fields that were pruned.
#[derive(Debug)]
pub struct Written {
    pub object: Arc<Value>,
    pub warnings: Vec<String>,
}

/// 409 Conflict for an apply that would change fields other managers own, as kube words it.
fn apply_conflict(def: &ResourceDef, name: &str, conflicts: &[apply::Conflict]) -> ApiError {
    let count = conflicts.len();
    let lines: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict with {:?} using {}: {}", c.manager, c.api_version, c.field))
        .collect();
    let plural = if count == 1 { "" } else { "s" };
    let causes = conflicts
        .iter()
        .map(|c| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {:?} using {}", c.manager, c.api_version), "field": c.field})
        })
        .collect();
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!("Apply failed with {count} conflict{plural}: {}", lines.join("; ")),
        details: Some(Box::new(Details {
            name: name.into(),
            group: def.group.clone(),
            kind: def.plural.clone(),
            causes,
        })),
    }
}

/// At most this many pruned-field paths are remembered for [`Store::pruned_fields`].
const PRUNED_LOG_LIMIT: usize = 1000;

type ObjectKey = (String, String);

struct Inner {
    rv: u64,
    objects: HashMap<String, BTreeMap<ObjectKey, Arc<Value>>>,
    history: VecDeque<Arc<WatchRecord>>,
    history_limit: usize,
    history_retention: Duration,
    /// Watches may start from any resource version at or above this one.
    floor: u64,
    /// `<resource> <namespace>/<name>: <path>` of every unknown field pruned from a write.
    pruned: Vec<String>,
}

/// The store shared by the HTTP layer and the workload simulation.
pub struct Store {
    inner: Mutex<Inner>,
    feed: broadcast::Sender<Arc<WatchRecord>>,
    pub registry: Registry,
    /// Woken on every change; the workload simulation waits on it.
    pub changed: Notify,
}

pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

fn random_suffix(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn new_uid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode(bytes);
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// apimachinery's words for a name that is not a DNS subdomain.
const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or \
     '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
     '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn meta(object: &Value) -> &Value {
    &object["metadata"]
}

fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"].as_object_mut().expect("metadata is an object")
}

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(object: &Value) -> Map<String, Value> {
    object
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn finalizers_empty(object: &Value) -> bool {
    meta(object)["finalizers"].as_array().is_none_or(|f| f.is_empty())
}

fn parse_rv(value: &Value) -> Option<u64> {
    value.as_str().and_then(|s| s.parse().ok())
}

/// Continue tokens are opaque to clients: hex of "rv|namespace|name".
fn encode_continue(rv: u64, key: &ObjectKey) -> String {
    hex::encode(format!("{rv}|{}|{}", key.0, key.1))
}

fn decode_continue(token: &str) -> Result<(u64, ObjectKey), ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid continue token {token:?}"));
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, '|');
    let rv = parts.next().and_then(|s| s.parse().ok()).ok_or_else(invalid)?;
    let ns = parts.next().ok_or_else(invalid)?.to_string();
    let name = parts.next().ok_or_else(invalid)?.to_string();
    Ok((rv, (ns, name)))
}

impl Store {
    /// A store whose history keeps at most `history_limit` changes, none older than
    /// `history_retention` (the API server's etcd compaction interval).
    pub fn new(history_limit: usize, history_retention: Duration) -> Self {
        let (feed, _) = broadcast::channel(history_limit.clamp(1024, 65536));
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: HashMap::new(),
                history: VecDeque::new(),
                history_limit,
                history_retention,
                floor: 1,
                pruned: Vec::new(),
            }),
            feed,
            registry: Registry::default(),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Forgets the change history, so that watches from any older version get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.floor = inner.rv;
    }

    #[cfg(any(test, feature = "test-support"))]
    /// The unknown fields pruned from writes so far (`pods ns/name: spec.colour`): a client that
    /// writes fields its CRD does not declare loses them on a real cluster, so tests check this.
    pub fn pruned_fields(&self) -> Vec<String> {
        self.lock().pruned.clone()
    }

    /// Prunes, defaults and validates a custom resource against its CRD's schema (built-in
    /// types pass as they are); returns the warnings for the pruned fields.
    fn admit(
        inner: &mut Inner,
        def: &ResourceDef,
        key: &ObjectKey,
        object: &mut Value,
        mode: &WriteMode,
    ) -> Result<Vec<String>, ApiError> {
        let Some(schema) = &def.schema else { return Ok(Vec::new()) };
        let admitted = schema::admit(object, schema).map_err(|errors| ApiError::invalid(def, &key.1, &errors))?;
        let warnings: Vec<String> = admitted.pruned.iter().map(|path| format!("unknown field {path:?}")).collect();
        if mode.strict && !warnings.is_empty() {
            return Err(ApiError::bad_request(format!("strict decoding error: {}", warnings.join(", "))));
        }
        if !mode.dry_run {
            for path in admitted.pruned {
                if inner.pruned.len() < PRUNED_LOG_LIMIT {
                    inner.pruned.push(format!("{} {}/{}: {path}", def.qualified_name(), key.0, key.1));
                }
            }
        }
        Ok(warnings)
    }

    /// Commits a write, or for a dry run answers with what would have been stored.
    fn finish(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        key: ObjectKey,
        object: Value,
        event: EventType,
        mode: &WriteMode,
    ) -> Arc<Value> {
        if mode.dry_run {
            return Arc::new(object);
        }
        self.commit(inner, def, key, object, event)
    }

    fn key(def: &ResourceDef, namespace: &str, name: &str) -> ObjectKey {
        (if def.namespaced { namespace.to_string() } else { String::new() }, name.to_string())
    }

    /// Stores `object` (or removes it, for `Deleted`) under a new resource version and records it.
    fn commit(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        key: ObjectKey,
        mut object: Value,
        event: EventType,
    ) -> Arc<Value> {
        inner.rv += 1;
        let rv = inner.rv;
        meta_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let object = Arc::new(object);
        let objects = inner.objects.entry(def.qualified_name()).or_default();
        let previous = if event == EventType::Deleted {
            objects.remove(&key)
        } else {
            objects.insert(key.clone(), object.clone())
        };
        let at = std::time::Instant::now();
        let record = Arc::new(WatchRecord {
            rv,
            at,
            resource: def.qualified_name(),
            namespace: key.0,
            event,
            object: object.clone(),
            previous: if event == EventType::Added { None } else { previous },
        });
        inner.history.push_back(record.clone());
        // Like etcd's periodic compaction: a long demo holds minutes of history, not days.
        let retention = inner.history_retention;
        let too_old = |r: &Arc<WatchRecord>| at.duration_since(r.at) > retention;
        while inner.history.len() > inner.history_limit || inner.history.front().is_some_and(too_old) {
            if let Some(dropped) = inner.history.pop_front() {
                inner.floor = dropped.rv;
            }
        }
        let _ = self.feed.send(record);
        self.changed.notify_waiters();
        object
    }

    fn current(inner: &Inner, def: &ResourceDef, key: &ObjectKey) -> Option<Arc<Value>> {
        inner.objects.get(&def.qualified_name()).and_then(|m| m.get(key)).cloned()
    }

    pub fn get(&self, def: &ResourceDef, namespace: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        let inner = self.lock();
        Self::current(&inner, def, &Self::key(def, namespace, name)).ok_or_else(|| ApiError::not_found(def, name))
    }

    /// Lists matching objects in name order, `limit` at a time.
    pub fn list(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        selectors: &Selectors,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<ListPage, ApiError> {
        let (list_rv, after) = match continue_token {
            Some(token) => {
                let (rv, key) = decode_continue(token)?;
                (Some(rv), Some(key))
            }
            None => (None, None),
        };
        let inner = self.lock();
        let resource_version = list_rv.unwrap_or(inner.rv);
        let Some(objects) = inner.objects.get(&def.qualified_name()) else {
            return Ok(ListPage { items: Vec::new(), resource_version, continue_token: None, remaining: 0 });
        };
        let range = match &after {
            Some(key) => objects.range((std::ops::Bound::Excluded(key.clone()), std::ops::Bound::Unbounded)),
            None => objects.range::<ObjectKey, _>(..),
        };
        let mut matching = range
            .filter(|((ns, _), _)| namespace.is_none_or(|want| !def.namespaced || want == ns))
            .filter(|(_, object)| selectors.matches(object));
        let limit = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut last_key = None;
        for (key, object) in matching.by_ref() {
            items.push(object.clone());
            last_key = Some(key.clone());
            if items.len() == limit {
                break;
            }
        }
        let remaining = matching.count();
        let continue_token = match (remaining, last_key) {
            (0, _) | (_, None) => None,
            (_, Some(key)) => Some(encode_continue(resource_version, &key)),
        };
        Ok(ListPage { items, resource_version, continue_token, remaining })
    }

    /// Lists the objects exactly as they were at resource version `at` (`resourceVersionMatch=
    /// Exact`), rebuilt by undoing the retained history: 410 Expired when that history is
    /// gone, 504 for a version not reached yet.
    pub(crate) fn list_exact(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        selectors: &Selectors,
        at: u64,
    ) -> Result<ListPage, ApiError> {
        let inner = self.lock();
        if at > inner.rv {
            return Err(ApiError::too_large_resource_version(at, inner.rv));
        }
        if at < inner.floor {
            return Err(ApiError::expired(format!(
                "The resourceVersion for the provided list is too old: {at} (oldest kept: {})",
                inner.floor
            )));
        }
        let mut objects: BTreeMap<ObjectKey, Arc<Value>> =
            inner.objects.get(&def.qualified_name()).cloned().unwrap_or_default();
        for record in inner.history.iter().rev().take_while(|r| r.rv > at) {
            if record.resource != def.qualified_name() {
                continue;
            }
            let key = (record.namespace.clone(), meta(&record.object)["name"].as_str().unwrap_or_default().to_string());
            match &record.previous {
                Some(previous) => objects.insert(key, previous.clone()),
                None => objects.remove(&key),
            };
        }
        let items = objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|want| !def.namespaced || want == ns))
            .filter(|(_, object)| selectors.matches(object))
            .map(|(_, object)| object.clone())
            .collect();
        Ok(ListPage { items, resource_version: at, continue_token: None, remaining: 0 })
    }

    fn check_kind(def: &ResourceDef, object: &Value) -> Result<(), ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        if let Some(kind) = object.get("kind").and_then(Value::as_str).filter(|k| *k != def.kind) {
            return Err(ApiError::bad_request(format!("the kind {kind:?} does not match the resource {:?}", def.kind)));
        }
        if let Some(api_version) = object.get("apiVersion").and_then(Value::as_str).filter(|v| *v != def.api_version())
        {
            return Err(ApiError::bad_request(format!(
                "the apiVersion {api_version:?} does not match the resource's {:?}",
                def.api_version()
            )));
        }
        Ok(())
    }

    /// Creates an object as the API does: names generated, uid, timestamps and generation set.
    pub fn create(&self, def: &ResourceDef, namespace: &str, object: Value) -> Result<Arc<Value>, ApiError> {
        self.create_with(def, namespace, object, WriteMode::default()).map(|w| w.object)
    }

    /// [`Store::create`] with the request's write mode; a custom resource is admitted against
    /// its schema, and its `status` is dropped when it has a status subresource (kube sets
    /// status only through `/status`).
    pub(crate) fn create_with(
        &self,
        def: &ResourceDef,
        namespace: &str,
        object: Value,
        mode: WriteMode,
    ) -> Result<Written, ApiError> {
        self.create_inner(def, namespace, object, &mode, true)
    }

    /// Creates; `record` says whether the writer's fields are recorded as an `Update` (an apply
    /// that creates has recorded its own already).
    fn create_inner(
        &self,
        def: &ResourceDef,
        namespace: &str,
        mut object: Value,
        mode: &WriteMode,
        record: bool,
    ) -> Result<Written, ApiError> {
        Self::check_kind(def, &object)?;
        let mut inner = self.lock();
        let generate = meta(&object)["generateName"].as_str().map(str::to_string);
        let name = match (meta(&object)["name"].as_str(), generate) {
            (Some(name), _) if !name.is_empty() => name.to_string(),
            (_, Some(prefix)) => loop {
                let candidate = format!("{prefix}{}", random_suffix(5));
                if Self::current(&inner, def, &Self::key(def, namespace, &candidate)).is_none() {
                    break candidate;
                }
            },
            _ => {
                let error = FieldError::required("metadata.name", "name or generateName is required");
                return Err(ApiError::invalid(def, "", &[error]));
            }
        };
        if !is_dns_subdomain(&name) {
            let error = FieldError::invalid("metadata.name", field::go_value(&json!(name)), SUBDOMAIN_RULE);
            return Err(ApiError::invalid(def, &name, &[error]));
        }
        if def.namespaced {
            match meta(&object)["namespace"].as_str() {
                Some(ns) if !ns.is_empty() && ns != namespace => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
        }
        let key = Self::key(def, namespace, &name);
        if def.schema.is_some() && def.has_status {
            object.as_object_mut().map(|o| o.remove("status"));
        }
        let warnings = Self::admit(&mut inner, def, &key, &mut object, mode)?;
        if Self::current(&inner, def, &key).is_some() {
            return Err(ApiError::already_exists(def, &name));
        }
        object["kind"] = Value::String(def.kind.clone());
        object["apiVersion"] = Value::String(def.api_version());
        let m = meta_mut(&mut object);
        m.insert("name".into(), Value::String(name));
        if def.namespaced {
            m.insert("namespace".into(), Value::String(namespace.to_string()));
        } else {
            m.remove("namespace");
        }
        m.insert("uid".into(), Value::String(new_uid()));
        m.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        m.insert("generation".into(), json!(1));
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
        m.remove("resourceVersion");
        if def.kind == "CustomResourceDefinition" && !mode.dry_run {
            self.registry.register_crd(&object);
        }
        if record {
            let (api_version, now) = (def.api_version(), now_rfc3339());
            apply::record_update(None, &mut object, &mode.writer(&api_version, Part::Main, &now), def.has_status);
        }
        Ok(Written { object: self.finish(&mut inner, def, key, object, EventType::Added, mode), warnings })
    }

    /// Writes `desired` over `existing` as PUT and PATCH do: identity fields kept, the part the
    /// request may not touch (status on the main resource, everything but status on `/status`)
    /// taken from `existing`, `resourceVersion` checked, `generation` bumped on spec changes.
    #[allow(clippy::too_many_arguments)]
    fn write_over(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        key: ObjectKey,
        existing: &Value,
        mut desired: Value,
        part: Part,
        mode: &WriteMode,
        record: bool,
    ) -> Result<Written, ApiError> {
        Self::check_kind(def, &desired)?;
        let name = &key.1;
        if let Some(name_in_body) = meta(&desired)["name"].as_str().filter(|n| *n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name_in_body}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(rv) = meta(&desired)["resourceVersion"].as_str().filter(|rv| !rv.is_empty())
            && Some(rv) != meta(existing)["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(def, name));
        }
        match part {
            Part::Status => {
                let status = desired.get("status").cloned();
                desired = existing.clone();
                match status {
                    Some(status) => desired["status"] = status,
                    None => {
                        desired.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            }
            Part::Main if def.has_status => match existing.get("status") {
                Some(status) => desired["status"] = status.clone(),
                None => {
                    desired.as_object_mut().map(|o| o.remove("status"));
                }
            },
            Part::Main => {}
        }
        desired["kind"] = Value::String(def.kind.clone());
        desired["apiVersion"] = Value::String(def.api_version());
        let warnings = Self::admit(inner, def, &key, &mut desired, mode)?;
        let old_meta = meta(existing).clone();
        let generation = old_meta["generation"].as_i64().unwrap_or(1);
        let bump = part == Part::Main && spec_part(existing) != spec_part(&desired);
        let m = meta_mut(&mut desired);
        for field in
            ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"]
        {
            match old_meta.get(field) {
                Some(value) => m.insert(field.into(), value.clone()),
                None => m.remove(field),
            };
        }
        m.insert("generation".into(), json!(if bump { generation + 1 } else { generation }));
        // The stored version until a commit gives the new one (so a dry run answers with it).
        match old_meta.get("resourceVersion") {
            Some(rv) => m.insert("resourceVersion".into(), rv.clone()),
            None => m.remove("resourceVersion"),
        };
        if part == Part::Main && def.kind == "CustomResourceDefinition" && !mode.dry_run {
            self.registry.register_crd(&desired);
        }
        // managedFields: a request that changes them sets them (`[{}]` clears them), as kube
        // lets clients reset ownership; otherwise the writer's changes are recorded.
        let requested = meta(&desired).get("managedFields").cloned();
        let reset = part == Part::Main && requested.is_some() && requested.as_ref() != old_meta.get("managedFields");
        let m = meta_mut(&mut desired);
        if reset {
            if requested
                .as_ref()
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().all(|e| e.as_object().is_none_or(|o| o.is_empty())))
            {
                m.remove("managedFields");
            }
        } else if record {
            match old_meta.get("managedFields") {
                Some(fields) => m.insert("managedFields".into(), fields.clone()),
                None => m.remove("managedFields"),
            };
            let (api_version, now) = (def.api_version(), now_rfc3339());
            apply::record_update(Some(existing), &mut desired, &mode.writer(&api_version, part, &now), def.has_status);
        }
        // Removing the last finalizer of an object being deleted completes the deletion.
        let deleting = meta(&desired).get("deletionTimestamp").is_some();
        let event = if deleting && !finalizers_empty(existing) && finalizers_empty(&desired) {
            EventType::Deleted
        } else if *existing == desired {
            return Ok(Written { object: Arc::new(desired), warnings });
        } else {
            EventType::Modified
        };
        Ok(Written { object: self.finish(inner, def, key, desired, event, mode), warnings })
    }

    #[cfg(any(test, feature = "test-support"))]
    /// PUT: replaces an object (or its status).
    pub fn replace(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        desired: Value,
        part: Part,
    ) -> Result<Arc<Value>, ApiError> {
        self.replace_with(def, namespace, name, desired, part, WriteMode::default()).map(|w| w.object)
    }

    /// [`Store::replace`] with the request's write mode.
    pub(crate) fn replace_with(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        desired: Value,
        part: Part,
        mode: WriteMode,
    ) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        let key = Self::key(def, namespace, name);
        let existing = Self::current(&inner, def, &key).ok_or_else(|| ApiError::not_found(def, name))?;
        self.write_over(&mut inner, def, key, &existing, desired, part, &mode, true)
    }

    #[cfg(any(test, feature = "test-support"))]
    /// PATCH: JSON merge patch, strategic merge patch, JSON patch, or server-side apply (as merge).
    pub fn patch(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        kind: PatchKind,
        patch: Value,
        part: Part,
    ) -> Result<Arc<Value>, ApiError> {
        self.patch_with(def, namespace, name, kind, patch, part, WriteMode::default()).map(|w| w.object)
    }

    /// [`Store::patch`] with the request's write mode.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn patch_with(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        kind: PatchKind,
        patch: Value,
        part: Part,
        mode: WriteMode,
    ) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        let key = Self::key(def, namespace, name);
        let (api_version, now) = (def.api_version(), now_rfc3339());
        let writer = mode.writer(&api_version, part, &now);
        let skip_status = def.has_status && part == Part::Main;
        let Some(existing) = Self::current(&inner, def, &key) else {
            if kind == PatchKind::Apply && part == Part::Main {
                drop(inner);
                let mut object = apply::apply(&json!({}), &patch, &writer, true, skip_status)
                    .map_err(|conflicts| apply_conflict(def, name, &conflicts))?;
                meta_mut(&mut object).insert("name".into(), Value::String(name.into()));
                return self.create_inner(def, namespace, object, &mode, false);
            }
            return Err(ApiError::not_found(def, name));
        };
        let mut desired = (*existing).clone();
        match kind {
            PatchKind::Apply => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("an apply patch must be an object"));
                }
                desired = apply::apply(&existing, &patch, &writer, mode.force, skip_status)
                    .map_err(|conflicts| apply_conflict(def, name, &conflicts))?;
            }
            PatchKind::Merge => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                json_patch::merge(&mut desired, &patch);
            }
            PatchKind::Strategic => {
                desired = super::merge::strategic_merge(&desired, &patch).map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!("the strategic merge patch could not be applied: {e}"),
                    details: None,
                })?;
            }
            PatchKind::Json => {
                let operations: json_patch::Patch = serde_json::from_value(patch)
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(&mut desired, &operations).map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!("the JSON patch could not be applied: {e}"),
                    details: None,
                })?;
            }
        }
        // A patch that does not name a resourceVersion is unconditional.
        if meta(&desired)["resourceVersion"] == meta(&existing)["resourceVersion"] {
            meta_mut(&mut desired).remove("resourceVersion");
        }
        let record = kind != PatchKind::Apply;
        self.write_over(&mut inner, def, key, &existing, desired, part, &mode, record)
    }

    /// DELETE: pods on a node and objects with finalizers are marked (`deletionTimestamp`) and go
    /// later; everything else goes now. Returns the object as it is after the call.
    pub fn delete(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        grace_seconds: Option<i64>,
        precondition_uid: Option<&str>,
        precondition_rv: Option<&str>,
    ) -> Result<Arc<Value>, ApiError> {
        self.delete_with(def, namespace, name, grace_seconds, precondition_uid, precondition_rv, WriteMode::default())
    }

    /// [`Store::delete`] with the request's write mode (a dry run deletes nothing).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn delete_with(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        grace_seconds: Option<i64>,
        precondition_uid: Option<&str>,
        precondition_rv: Option<&str>,
        mode: WriteMode,
    ) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let key = Self::key(def, namespace, name);
        let existing = Self::current(&inner, def, &key).ok_or_else(|| ApiError::not_found(def, name))?;
        if precondition_uid.is_some_and(|uid| Some(uid) != meta(&existing)["uid"].as_str()) {
            let why = format!(
                "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                precondition_uid.unwrap_or_default(),
                meta(&existing)["uid"].as_str().unwrap_or_default()
            );
            return Err(ApiError::conflict_because(def, name, &why));
        }
        if precondition_rv.is_some_and(|rv| Some(rv) != meta(&existing)["resourceVersion"].as_str()) {
            return Err(ApiError::conflict(def, name));
        }
        let grace = if def.kind == "Pod" && existing["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty()) {
            grace_seconds
                .or_else(|| meta(&existing)["deletionGracePeriodSeconds"].as_i64())
                .or_else(|| existing["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(30)
                .max(0)
        } else {
            0
        };
        if grace == 0 && finalizers_empty(&existing) {
            let object = (*existing).clone();
            return Ok(self.finish(&mut inner, def, key, object, EventType::Deleted, &mode));
        }
        let already = meta(&existing).get("deletionTimestamp").is_some();
        let previous_grace = meta(&existing)["deletionGracePeriodSeconds"].as_i64();
        if already && previous_grace.is_some_and(|g| g <= grace) {
            // A second delete may shorten the grace period, never lengthen it.
            return Ok(existing);
        }
        let mut object = (*existing).clone();
        let deadline = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
        let deadline = deadline.round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default();
        let m = meta_mut(&mut object);
        m.insert("deletionTimestamp".into(), Value::String(deadline));
        m.insert("deletionGracePeriodSeconds".into(), json!(grace));
        Ok(self.finish(&mut inner, def, key, object, EventType::Modified, &mode))
    }

    /// Removes an object for good (the simulated kubelet finishing a graceful deletion).
    pub fn remove(&self, def: &ResourceDef, namespace: &str, name: &str, expected_uid: &str) -> bool {
        let mut inner = self.lock();
        let key = Self::key(def, namespace, name);
        match Self::current(&inner, def, &key) {
            Some(existing) if meta(&existing)["uid"].as_str() == Some(expected_uid) => {
                let object = (*existing).clone();
                self.commit(&mut inner, def, key, object, EventType::Deleted);
                true
            }
            _ => false,
        }
    }

    /// Changes an object in place, bypassing the API's rules (the simulation's own controllers).
    /// Returns `None` when the object is gone or its uid changed.
    pub fn mutate(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        expected_uid: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Arc<Value>> {
        let mut inner = self.lock();
        let key = Self::key(def, namespace, name);
        let existing = Self::current(&inner, def, &key).filter(|e| meta(e)["uid"].as_str() == Some(expected_uid))?;
        let mut object = (*existing).clone();
        change(&mut object);
        if object == *existing {
            return Some(existing);
        }
        Some(self.commit(&mut inner, def, key, object, EventType::Modified))
    }

    /// Every object of one type (the simulation's controllers read through this).
    pub fn all(&self, def: &ResourceDef) -> Vec<Arc<Value>> {
        self.lock().objects.get(&def.qualified_name()).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Starts a watch. `from` is the client's resource version: `None` (or 0) starts with the
    /// current objects as ADDED events; a version older than the retained history is 410 Gone.
    pub fn watch(&self, filter: &WatchFilter, def: &ResourceDef, from: Option<u64>) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let live = self.feed.subscribe();
        let initial = match from.filter(|rv| *rv > 0) {
            None => inner
                .objects
                .get(&def.qualified_name())
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|((ns, _), _)| filter.namespace.as_ref().is_none_or(|want| want == ns || !def.namespaced))
                .filter(|(_, object)| filter.selectors.matches(object))
                .map(|(_, object)| (EventType::Added, object.clone()))
                .collect(),
            Some(rv) if rv < inner.floor => {
                return Err(ApiError::expired(format!("too old resource version: {rv} ({})", inner.floor)));
            }
            Some(rv) => inner
                .history
                .iter()
                .filter(|record| record.rv > rv)
                .filter_map(|record| filter.event_for(record).map(|event| (event, record.object.clone())))
                .collect(),
        };
        Ok(WatchStart { initial, start_rv: inner.rv, live })
    }

    /// Reads an object's resource version (for the HTTP layer's bookmarks and lists).
    pub(crate) fn object_rv(object: &Value) -> Option<u64> {
        parse_rv(&meta(object)["resourceVersion"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(store: &Store) -> Arc<ResourceDef> {
        store.registry.find("", "v1", "pods").unwrap()
    }

    fn pod(name: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    }

    #[test]
    fn create_sets_identity_and_versions_increase() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        let a = store.create(&def, "ns", pod("a")).unwrap();
        let b = store.create(&def, "ns", pod("b")).unwrap();
        assert_eq!(a["metadata"]["namespace"], "ns");
        assert_eq!(a["metadata"]["generation"], 1);
        assert!(a["metadata"]["uid"].as_str().unwrap().len() == 36);
        assert!(Store::object_rv(&b).unwrap() > Store::object_rv(&a).unwrap());
        assert_eq!(store.create(&def, "ns", pod("a")).unwrap_err().reason, "AlreadyExists");
    }

    #[test]
    fn stale_resource_version_conflicts_and_spec_changes_bump_generation() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        let created = store.create(&def, "ns", pod("a")).unwrap();
        let mut changed = (*created).clone();
        changed["spec"]["containers"][0]["image"] = json!("j");
        let updated = store.replace(&def, "ns", "a", changed.clone(), Part::Main).unwrap();
        assert_eq!(updated["metadata"]["generation"], 2);
        let err = store.replace(&def, "ns", "a", changed, Part::Main).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "Conflict"));
    }

    #[test]
    fn status_writes_touch_only_status() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        store.create(&def, "ns", pod("a")).unwrap();
        let patched = store
            .patch(
                &def,
                "ns",
                "a",
                PatchKind::Merge,
                json!({"status": {"phase": "Running"}, "spec": {"x": 1}}),
                Part::Status,
            )
            .unwrap();
        assert_eq!(patched["status"]["phase"], "Running");
        assert!(patched["spec"].get("x").is_none());
        let ignored =
            store.patch(&def, "ns", "a", PatchKind::Merge, json!({"status": {"phase": "Failed"}}), Part::Main).unwrap();
        assert_eq!(ignored["status"]["phase"], "Running");
    }

    #[test]
    fn paging_returns_every_object_once_with_the_first_pages_version() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        for i in 0..7 {
            store.create(&def, "ns", pod(&format!("p{i}"))).unwrap();
        }
        let first = store.list(&def, Some("ns"), &Selectors::default(), Some(3), None).unwrap();
        assert_eq!((first.items.len(), first.remaining), (3, 4));
        store.create(&def, "ns", pod("zz")).unwrap();
        let second =
            store.list(&def, Some("ns"), &Selectors::default(), Some(3), first.continue_token.as_deref()).unwrap();
        assert_eq!(second.resource_version, first.resource_version);
        let third =
            store.list(&def, Some("ns"), &Selectors::default(), Some(3), second.continue_token.as_deref()).unwrap();
        assert!(third.continue_token.is_none());
        assert_eq!(first.items.len() + second.items.len() + third.items.len(), 8);
        assert_eq!(store.list(&def, None, &Selectors::default(), None, Some("zz")).err().unwrap().code, 400);
    }

    #[test]
    fn watch_from_compacted_history_is_gone() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        let filter = WatchFilter { resource: def.qualified_name(), namespace: None, selectors: Selectors::default() };
        let created = store.create(&def, "ns", pod("a")).unwrap();
        let rv = Store::object_rv(&created).unwrap();
        store.create(&def, "ns", pod("b")).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(rv)).map(|w| w.initial.len()).ok(), Some(1));
        store.compact();
        assert_eq!(store.watch(&filter, &def, Some(rv)).err().unwrap().code, 410);
    }

    #[test]
    fn changes_older_than_the_retention_are_forgotten() {
        let store = Store::new(100, Duration::from_millis(50));
        let def = pods(&store);
        let filter = WatchFilter { resource: def.qualified_name(), namespace: None, selectors: Selectors::default() };
        let created = store.create(&def, "ns", pod("a")).unwrap();
        let rv = Store::object_rv(&created).unwrap();
        store.create(&def, "ns", pod("b")).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(rv)).map(|w| w.initial.len()).ok(), Some(1), "young enough");
        std::thread::sleep(Duration::from_millis(60));
        let latest = store.create(&def, "ns", pod("c")).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(rv)).err().unwrap().code, 410, "b's change is gone");
        let latest = Store::object_rv(&latest).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(latest - 1)).map(|w| w.initial.len()).ok(), Some(1));
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = store.registry.find("", "v1", "configmaps").unwrap();
        store.create(&def, "ns", json!({"metadata": {"name": "c", "finalizers": ["x/y"]}})).unwrap();
        let marked = store.delete(&def, "ns", "c", None, None, None).unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        store.patch(&def, "ns", "c", PatchKind::Merge, json!({"metadata": {"finalizers": null}}), Part::Main).unwrap();
        assert_eq!(store.get(&def, "ns", "c").unwrap_err().code, 404);
    }
}
