//! The simulated API's object store: every object of every type, one global resource version, the
//! history of changes that watches replay, and the API semantics that sit on storage (optimistic
//! concurrency, generation, graceful deletion, finalizers, status subresources, patches).
//!
//! All writes go through one mutex, and every write appends a [`WatchRecord`] to the history and
//! broadcasts it while that mutex is held, so a watch that reads the history and subscribes under
//! the same lock sees every change exactly once and in resource-version order.
//!
//! Objects are kept per storage, in the shape of the resource that owns it. A resource served as
//! a view of another's storage (`events.k8s.io` Events of the core Events) is converted where
//! objects come out of the storage (`current`, reads, lists, watches) and go in (`commit`), so a
//! write through a view works in the view's shape from end to end (its patches, `managedFields`
//! and answers) and is stored, versioned, recorded and watched as the owner's object.
//!
//! May call: `crate::apply`, `crate::error`, `crate::field`, `crate::merge`, `crate::object`,
//! `crate::resources`, `crate::schema`, `crate::selectors`, `crate::watch`.

use crate::apply;
use crate::error::{ApiError, Details};
use crate::field::{self, FieldError};
use crate::resources::{Registry, ResourceDef};
use crate::schema;
use crate::selectors::Selectors;
use crate::watch::{EventType, WatchFilter, WatchRecord, WatchStart};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

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
    /// Strategic merge patch (built-in types only; see `crate::merge`).
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
pub struct WriteMode {
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

/// Where and how a write goes: the resource type, the namespace, the part of the object and the
/// request's write options. What each verb needs besides (the object, the patch, the delete
/// options) is an argument of its own.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    pub def: &'a ResourceDef,
    /// Ignored for cluster-scoped resources.
    pub namespace: &'a str,
    pub part: Part,
    pub mode: WriteMode,
}

impl<'a> Write<'a> {
    /// A write of the main resource with the default options (what the simulation's own
    /// controllers and a plain client send).
    pub fn to(def: &'a ResourceDef, namespace: &'a str) -> Self {
        Self { def, namespace, part: Part::Main, mode: WriteMode::default() }
    }

    /// The same write to the `/status` subresource.
    pub fn status(self) -> Self {
        Self { part: Part::Status, ..self }
    }
}

/// A delete's options (`DeleteOptions`): the grace period and the preconditions.
#[derive(Debug, Clone, Default)]
pub struct Deletion {
    pub grace_seconds: Option<i64>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
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
            ..Details::default()
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
    crate::object::rfc3339(jiff::Timestamp::now())
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

/// The rule a new object's name breaks, if any: RBAC objects need only be a path segment
/// (`system:discovery` is a ClusterRole's name), everything else a DNS subdomain.
fn name_rule_broken(def: &ResourceDef, name: &str) -> Option<&'static str> {
    if def.group == crate::resources::RBAC_GROUP {
        return match name {
            "" => Some("name or generateName is required"),
            "." | ".." => Some("may not be '.' or '..'"),
            n if n.contains('/') => Some("may not contain '/'"),
            n if n.contains('%') => Some("may not contain '%'"),
            _ => None,
        };
    }
    (!is_dns_subdomain(name)).then_some(SUBDOMAIN_RULE)
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

/// A PUT or PATCH may not rename the object, and a `resourceVersion` it names must be the
/// stored one (optimistic concurrency).
fn check_identity(def: &ResourceDef, name: &str, existing: &Value, desired: &Value) -> Result<(), ApiError> {
    if let Some(name_in_body) = meta(desired)["name"].as_str().filter(|n| *n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name_in_body}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(rv) = meta(desired)["resourceVersion"].as_str().filter(|rv| !rv.is_empty())
        && Some(rv) != meta(existing)["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(def, name));
    }
    Ok(())
}

/// What a write may not touch comes from `existing`: everything but status on `/status`, the
/// status on the main resource of a type with a status subresource.
fn keep_untouched_part(def: &ResourceDef, existing: &Value, mut desired: Value, part: Part) -> Value {
    let keep_status = |desired: &mut Value, status: Option<Value>| match status {
        Some(status) => desired["status"] = status,
        None => {
            desired.as_object_mut().map(|o| o.remove("status"));
        }
    };
    match part {
        Part::Status => {
            let status = desired.get("status").cloned();
            desired = existing.clone();
            keep_status(&mut desired, status);
        }
        Part::Main if def.has_status => keep_status(&mut desired, existing.get("status").cloned()),
        Part::Main => {}
    }
    desired
}

/// The metadata a write cannot change is carried over from `existing`; `generation` goes up
/// when the spec changed; the stored `resourceVersion` stays until a commit gives the new one
/// (so a dry run answers with it).
fn carry_metadata(existing: &Value, desired: &mut Value, part: Part) {
    let old_meta = meta(existing);
    let generation = old_meta["generation"].as_i64().unwrap_or(1);
    let bump = part == Part::Main && spec_part(existing) != spec_part(desired);
    let m = meta_mut(desired);
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
    ] {
        match old_meta.get(field) {
            Some(value) => m.insert(field.into(), value.clone()),
            None => m.remove(field),
        };
    }
    m.insert("generation".into(), json!(if bump { generation + 1 } else { generation }));
}

/// `managedFields`: a request that changes them sets them (`[{}]` clears them), as kube lets
/// clients reset ownership; otherwise, when `record`, the writer's changes are recorded.
fn record_managed_fields(write: &Write, existing: &Value, desired: &mut Value, record: bool) {
    let old = meta(existing).get("managedFields");
    let requested = meta(desired).get("managedFields").cloned();
    let reset = write.part == Part::Main && requested.is_some() && requested.as_ref() != old;
    if reset {
        let clears = requested
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(|e| e.as_object().is_none_or(|o| o.is_empty())));
        if clears {
            meta_mut(desired).remove("managedFields");
        }
    } else if record {
        match old {
            Some(fields) => meta_mut(desired).insert("managedFields".into(), fields.clone()),
            None => meta_mut(desired).remove("managedFields"),
        };
        let (api_version, now) = (write.def.api_version(), now_rfc3339());
        let writer = write.mode.writer(&api_version, write.part, &now);
        apply::record_update(Some(existing), desired, &writer, write.def.has_status);
    }
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

    /// Stores `object` (or removes it, for `Deleted`) under a new resource version and records it;
    /// it comes and is answered in `def`'s shape, and is stored in its storage's.
    fn commit(
        &self,
        inner: &mut Inner,
        def: &ResourceDef,
        key: ObjectKey,
        object: Value,
        event: EventType,
    ) -> Arc<Value> {
        inner.rv += 1;
        let rv = inner.rv;
        let mut object = def.to_storage(object);
        meta_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let object = Arc::new(object);
        let storage = def.storage_name();
        let objects = inner.objects.entry(storage.clone()).or_default();
        let previous = if event == EventType::Deleted {
            objects.remove(&key)
        } else {
            objects.insert(key.clone(), object.clone())
        };
        let at = std::time::Instant::now();
        let record = Arc::new(WatchRecord {
            rv,
            at,
            resource: storage,
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
        def.served(&object)
    }

    /// The stored objects of `def`'s storage, in the storage's shape.
    fn stored<'a>(inner: &'a Inner, def: &ResourceDef) -> Option<&'a BTreeMap<ObjectKey, Arc<Value>>> {
        inner.objects.get(&def.storage_name())
    }

    /// The object at `key` as `def` serves it.
    fn current(inner: &Inner, def: &ResourceDef, key: &ObjectKey) -> Option<Arc<Value>> {
        Self::stored(inner, def).and_then(|m| m.get(key)).map(|stored| def.served(stored))
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
        let Some(objects) = Self::stored(&inner, def) else {
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
            items.push(def.served(object));
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
        let mut objects: BTreeMap<ObjectKey, Arc<Value>> = Self::stored(&inner, def).cloned().unwrap_or_default();
        let storage = def.storage_name();
        for record in inner.history.iter().rev().take_while(|r| r.rv > at) {
            if record.resource != storage {
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
            .map(|(_, object)| def.served(object))
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

    /// Creates an object as the API does: names generated, uid, timestamps and generation set; a
    /// custom resource is admitted against its schema, and its `status` is dropped when it has a
    /// status subresource (kube sets status only through `/status`); a type whose strategy
    /// resets the status on create (a PodDisruptionBudget) starts from its initial one.
    pub fn create(&self, write: &Write, object: Value) -> Result<Written, ApiError> {
        self.create_inner(write, object, true)
    }

    /// Creates; `record` says whether the writer's fields are recorded as an `Update` (an apply
    /// that creates has recorded its own already).
    fn create_inner(&self, write: &Write, mut object: Value, record: bool) -> Result<Written, ApiError> {
        let (def, namespace, mode) = (write.def, write.namespace, &write.mode);
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
        if let Some(rule) = name_rule_broken(def, &name) {
            let error = FieldError::invalid("metadata.name", field::go_value(&json!(name)), rule);
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
        if let Some(status) = &def.initial_status {
            object["status"] = status.clone();
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
    /// `record` says whether the writer's changes are recorded in `managedFields` (an apply has
    /// recorded its own already).
    fn write_over(
        &self,
        inner: &mut Inner,
        write: &Write,
        key: ObjectKey,
        existing: &Value,
        desired: Value,
        record: bool,
    ) -> Result<Written, ApiError> {
        let def = write.def;
        Self::check_kind(def, &desired)?;
        check_identity(def, &key.1, existing, &desired)?;
        let mut desired = keep_untouched_part(def, existing, desired, write.part);
        desired["kind"] = Value::String(def.kind.clone());
        desired["apiVersion"] = Value::String(def.api_version());
        let warnings = Self::admit(inner, def, &key, &mut desired, &write.mode)?;
        carry_metadata(existing, &mut desired, write.part);
        if write.part == Part::Main && def.kind == "CustomResourceDefinition" && !write.mode.dry_run {
            self.registry.register_crd(&desired);
        }
        record_managed_fields(write, existing, &mut desired, record);
        // Removing the last finalizer of an object being deleted completes the deletion.
        let deleting = meta(&desired).get("deletionTimestamp").is_some();
        let event = if deleting && !finalizers_empty(existing) && finalizers_empty(&desired) {
            EventType::Deleted
        } else if *existing == desired {
            return Ok(Written { object: Arc::new(desired), warnings });
        } else {
            EventType::Modified
        };
        Ok(Written { object: self.finish(inner, def, key, desired, event, &write.mode), warnings })
    }

    /// PUT: replaces an object (or its status).
    pub fn replace(&self, write: &Write, name: &str, desired: Value) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        let key = Self::key(write.def, write.namespace, name);
        let existing = Self::current(&inner, write.def, &key).ok_or_else(|| ApiError::not_found(write.def, name))?;
        self.write_over(&mut inner, write, key, &existing, desired, true)
    }

    /// PATCH: JSON merge patch, strategic merge patch, JSON patch, or server-side apply (which
    /// creates the object when it is missing).
    pub fn patch(&self, write: &Write, name: &str, kind: PatchKind, patch: Value) -> Result<Written, ApiError> {
        let (def, namespace, part, mode) = (write.def, write.namespace, write.part, &write.mode);
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
                return self.create_inner(write, object, false);
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
                desired = crate::merge::strategic_merge(&desired, &patch).map_err(|e| ApiError {
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
        self.write_over(&mut inner, write, key, &existing, desired, record)
    }

    /// DELETE: pods on a node and objects with finalizers are marked (`deletionTimestamp`) and go
    /// later; everything else goes now. Returns the object as it is after the call.
    pub fn delete(&self, write: &Write, name: &str, options: &Deletion) -> Result<Arc<Value>, ApiError> {
        let (def, namespace, mode) = (write.def, write.namespace, &write.mode);
        let (precondition_uid, precondition_rv) = (options.uid.as_deref(), options.resource_version.as_deref());
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
            options
                .grace_seconds
                .or_else(|| meta(&existing)["deletionGracePeriodSeconds"].as_i64())
                .or_else(|| existing["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(30)
                .max(0)
        } else {
            0
        };
        if grace == 0 && finalizers_empty(&existing) {
            let object = (*existing).clone();
            return Ok(self.finish(&mut inner, def, key, object, EventType::Deleted, mode));
        }
        let already = meta(&existing).get("deletionTimestamp").is_some();
        let previous_grace = meta(&existing)["deletionGracePeriodSeconds"].as_i64();
        if already && previous_grace.is_some_and(|g| g <= grace) {
            // A second delete may shorten the grace period, never lengthen it.
            return Ok(existing);
        }
        let mut object = (*existing).clone();
        let deadline = crate::object::rfc3339(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace));
        let m = meta_mut(&mut object);
        m.insert("deletionTimestamp".into(), Value::String(deadline));
        m.insert("deletionGracePeriodSeconds".into(), json!(grace));
        Ok(self.finish(&mut inner, def, key, object, EventType::Modified, mode))
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
        let inner = self.lock();
        Self::stored(&inner, def).map(|m| m.values().map(|o| def.served(o)).collect()).unwrap_or_default()
    }

    /// Starts a watch. `from` is the client's resource version: `None` (or 0) starts with the
    /// current objects as ADDED events; a version older than the retained history is 410 Gone.
    /// The initial events are in `def`'s shape; the live records, like the history, are in its
    /// storage's (the filter matches them there), for the watcher to convert.
    pub fn watch(&self, filter: &WatchFilter, def: &ResourceDef, from: Option<u64>) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let live = self.feed.subscribe();
        let initial = match from.filter(|rv| *rv > 0) {
            None => Self::stored(&inner, def)
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|((ns, _), _)| filter.namespace.as_ref().is_none_or(|want| want == ns || !def.namespaced))
                .filter(|(_, object)| filter.selectors.matches(object))
                .map(|(_, object)| (EventType::Added, def.served(object)))
                .collect(),
            Some(rv) if rv < inner.floor => {
                return Err(ApiError::expired(format!("too old resource version: {rv} ({})", inner.floor)));
            }
            Some(rv) => inner
                .history
                .iter()
                .filter(|record| record.rv > rv)
                .filter_map(|record| filter.event_for(record).map(|event| (event, def.served(&record.object))))
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
        let a = store.create(&Write::to(&def, "ns"), pod("a")).unwrap().object;
        let b = store.create(&Write::to(&def, "ns"), pod("b")).unwrap().object;
        assert_eq!(a["metadata"]["namespace"], "ns");
        assert_eq!(a["metadata"]["generation"], 1);
        assert!(a["metadata"]["uid"].as_str().unwrap().len() == 36);
        assert!(Store::object_rv(&b).unwrap() > Store::object_rv(&a).unwrap());
        assert_eq!(store.create(&Write::to(&def, "ns"), pod("a")).unwrap_err().reason, "AlreadyExists");
    }

    #[test]
    fn stale_resource_version_conflicts_and_spec_changes_bump_generation() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        let created = store.create(&Write::to(&def, "ns"), pod("a")).unwrap().object;
        let mut changed = (*created).clone();
        changed["spec"]["containers"][0]["image"] = json!("j");
        let updated = store.replace(&Write::to(&def, "ns"), "a", changed.clone()).unwrap().object;
        assert_eq!(updated["metadata"]["generation"], 2);
        let err = store.replace(&Write::to(&def, "ns"), "a", changed).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "Conflict"));
    }

    #[test]
    fn status_writes_touch_only_status() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        store.create(&Write::to(&def, "ns"), pod("a")).unwrap();
        let status = json!({"status": {"phase": "Running"}, "spec": {"x": 1}});
        let patched = store.patch(&Write::to(&def, "ns").status(), "a", PatchKind::Merge, status).unwrap().object;
        assert_eq!(patched["status"]["phase"], "Running");
        assert!(patched["spec"].get("x").is_none());
        let ignored = store
            .patch(&Write::to(&def, "ns"), "a", PatchKind::Merge, json!({"status": {"phase": "Failed"}}))
            .unwrap()
            .object;
        assert_eq!(ignored["status"]["phase"], "Running");
    }

    #[test]
    fn paging_returns_every_object_once_with_the_first_pages_version() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = pods(&store);
        for i in 0..7 {
            store.create(&Write::to(&def, "ns"), pod(&format!("p{i}"))).unwrap();
        }
        let first = store.list(&def, Some("ns"), &Selectors::default(), Some(3), None).unwrap();
        assert_eq!((first.items.len(), first.remaining), (3, 4));
        store.create(&Write::to(&def, "ns"), pod("zz")).unwrap();
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
        let created = store.create(&Write::to(&def, "ns"), pod("a")).unwrap().object;
        let rv = Store::object_rv(&created).unwrap();
        store.create(&Write::to(&def, "ns"), pod("b")).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(rv)).map(|w| w.initial.len()).ok(), Some(1));
        store.compact();
        assert_eq!(store.watch(&filter, &def, Some(rv)).err().unwrap().code, 410);
    }

    #[test]
    fn changes_older_than_the_retention_are_forgotten() {
        let store = Store::new(100, Duration::from_millis(50));
        let def = pods(&store);
        let filter = WatchFilter { resource: def.qualified_name(), namespace: None, selectors: Selectors::default() };
        let created = store.create(&Write::to(&def, "ns"), pod("a")).unwrap().object;
        let rv = Store::object_rv(&created).unwrap();
        store.create(&Write::to(&def, "ns"), pod("b")).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(rv)).map(|w| w.initial.len()).ok(), Some(1), "young enough");
        std::thread::sleep(Duration::from_millis(60));
        let latest = store.create(&Write::to(&def, "ns"), pod("c")).unwrap().object;
        assert_eq!(store.watch(&filter, &def, Some(rv)).err().unwrap().code, 410, "b's change is gone");
        let latest = Store::object_rv(&latest).unwrap();
        assert_eq!(store.watch(&filter, &def, Some(latest - 1)).map(|w| w.initial.len()).ok(), Some(1));
    }

    #[test]
    fn a_view_shares_its_storage_converted_both_ways() {
        let store = Store::new(100, Duration::from_secs(300));
        let core = store.registry.find("", "v1", "events").unwrap();
        let viewed = store.registry.find("events.k8s.io", "v1", "events").unwrap();
        let filter = |def: &ResourceDef| WatchFilter {
            resource: def.storage_name(),
            namespace: Some("ns".into()),
            selectors: Selectors::default(),
        };
        let start = store.watch(&filter(&core), &core, Some(store.resource_version())).unwrap();
        let mut live = start.live;
        let event = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reportingController": "me"});
        let created = store.create(&Write::to(&viewed, "ns"), event).unwrap().object;
        assert_eq!(
            (created["apiVersion"].as_str(), created["note"].as_str()),
            (Some("events.k8s.io/v1"), Some("hello"))
        );
        let record = live.try_recv().expect("recorded in the core storage");
        assert_eq!((record.resource.as_str(), record.object["message"].as_str()), ("events", Some("hello")));

        let read = store.get(&core, "ns", "e").unwrap();
        assert_eq!(read["apiVersion"], "v1");
        assert_eq!(read["involvedObject"]["name"], "p");
        assert_eq!(read["reportingComponent"], "me");
        assert_eq!(read["metadata"]["uid"], created["metadata"]["uid"]);
        assert_eq!(read["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);

        let patch = json!({"message": "changed", "count": 2});
        let patched = store.patch(&Write::to(&core, "ns"), "e", PatchKind::Merge, patch).unwrap().object;
        let listed = store.list(&viewed, Some("ns"), &Selectors::default(), None, None).unwrap();
        assert_eq!(listed.items.len(), 1);
        let item = &listed.items[0];
        assert_eq!((item["note"].as_str(), item["deprecatedCount"].as_i64()), (Some("changed"), Some(2)));
        assert_eq!(item["metadata"]["resourceVersion"], patched["metadata"]["resourceVersion"]);
        let at_creation = Store::object_rv(&created).unwrap();
        let then = store.list_exact(&viewed, Some("ns"), &Selectors::default(), at_creation).unwrap();
        assert_eq!(then.items[0]["note"], "hello", "the history is the one storage's too");
        assert_eq!(store.all(&viewed)[0]["note"], "changed");

        let gone = store.delete(&Write::to(&viewed, "ns"), "e", &Deletion::default()).unwrap();
        assert_eq!(gone["apiVersion"], "events.k8s.io/v1");
        assert_eq!(store.get(&core, "ns", "e").unwrap_err().code, 404);
        assert_eq!(store.get(&viewed, "ns", "e").unwrap_err().reason, "NotFound");
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let store = Store::new(100, Duration::from_secs(300));
        let def = store.registry.find("", "v1", "configmaps").unwrap();
        store.create(&Write::to(&def, "ns"), json!({"metadata": {"name": "c", "finalizers": ["x/y"]}})).unwrap();
        let marked = store.delete(&Write::to(&def, "ns"), "c", &Deletion::default()).unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        store.patch(&Write::to(&def, "ns"), "c", PatchKind::Merge, json!({"metadata": {"finalizers": null}})).unwrap();
        assert_eq!(store.get(&def, "ns", "c").unwrap_err().code, 404);
    }
}
