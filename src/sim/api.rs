//! The HTTP face of the simulated API: Kubernetes paths, verbs, query parameters, content types
//! and the newline-delimited JSON watch stream, mapped onto the [`Store`].
//!
//! Requests are parsed here into a `Target` and a verb; everything the API decides about
//! objects lives in the store. Besides the Kubernetes paths, `/sim/...` offers the simulation's
//! own controls and statistics.
//!
//! May call: nothing else of the crate.

use super::SimShared;
use super::params::{FieldValidation, ListOptions, Params, VersionMatch, WriteOptions, WriteVerb};
use super::resources::ResourceDef;
use super::store::{
    ApiError, EventType, ListPage, Part, PatchKind, Store, WatchFilter, WatchRecord, WriteMode, Written,
};
use super::table::table;
use super::workload::NodeHealth;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Answers the API's way: a JSON body with the right status code.
fn json_response(code: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = code;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn value_response(code: StatusCode, value: &Value) -> Response {
    json_response(code, serde_json::to_vec(value).unwrap_or_default())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        value_response(code, &self.to_status())
    }
}

/// The resource a request is about.
struct Target {
    def: Arc<ResourceDef>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// Whether the client asked for server-side printing (`kubectl get`).
fn wants_table(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("as=Table"))
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// Resolves `segments` after `/api/v1` or `/apis/<group>/<version>`.
fn resolve(shared: &SimShared, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let registry = &shared.store.registry;
    let not_found = || ApiError::path_not_found(&format!("/{}", rest.join("/")));
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if registry.find(group, version, plural).is_some() => {
            (Some(ns.to_string()), {
                let mut r = vec![*plural];
                r.extend_from_slice(tail);
                r
            })
        }
        other => (None, other.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(not_found()),
    };
    let def = registry.find(group, version, plural).ok_or_else(not_found)?;
    if namespace.is_some() && !def.namespaced {
        return Err(not_found());
    }
    if let Some(sub) = &subresource
        && !(sub == "status" && def.has_status)
    {
        return Err(not_found());
    }
    Ok(Target { def, namespace, name, subresource })
}

/// The single entry point: every request to the simulated API comes through here.
pub(crate) async fn handle(
    State(shared): State<Arc<SimShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let result = match segments.as_slice() {
        [] => Ok(value_response(
            StatusCode::OK,
            &json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version", "/sim/stats"]}),
        )),
        ["version"] => Ok(value_response(StatusCode::OK, &version())),
        ["openapi", "v2"] => {
            let mut response = Response::new(Body::from(super::openapi::v2_protobuf()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
            );
            Ok(response)
        }
        ["openapi", "v3"] => Ok(value_response(StatusCode::OK, &super::openapi::discovery(&shared.store.registry))),
        ["openapi", "v3", "api", version] => super::openapi::group_version(&shared.store.registry, "", version)
            .map(|doc| value_response(StatusCode::OK, &doc))
            .ok_or_else(|| ApiError::path_not_found(&path)),
        ["openapi", "v3", "apis", group, version] => {
            super::openapi::group_version(&shared.store.registry, group, version)
                .map(|doc| value_response(StatusCode::OK, &doc))
                .ok_or_else(|| ApiError::path_not_found(&path))
        }
        ["healthz" | "livez" | "readyz"] => Ok((StatusCode::OK, "ok").into_response()),
        ["sim", rest @ ..] => sim_control(&shared, &method, &uri, rest),
        ["api"] => Ok(value_response(StatusCode::OK, &shared.store.registry.core_versions())),
        ["api", "v1"] => {
            Ok(value_response(StatusCode::OK, &shared.store.registry.resource_list("", "v1").unwrap_or_default()))
        }
        ["apis"] => Ok(value_response(StatusCode::OK, &shared.store.registry.group_list())),
        ["apis", group] => shared
            .store
            .registry
            .group(group)
            .map(|g| value_response(StatusCode::OK, &g))
            .ok_or_else(|| ApiError::path_not_found(&path)),
        ["apis", group, version] => shared
            .store
            .registry
            .resource_list(group, version)
            .map(|l| value_response(StatusCode::OK, &l))
            .ok_or_else(|| ApiError::path_not_found(&path)),
        ["api", "v1", rest @ ..] => resource_request(&shared, "", "v1", rest, &method, &uri, &headers, &body).await,
        ["apis", group, version, rest @ ..] => {
            resource_request(&shared, group, version, rest, &method, &uri, &headers, &body).await
        }
        _ => Err(ApiError::path_not_found(&path)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn version() -> Value {
    json!({"major": "1", "minor": "33", "gitVersion": "v1.33.5+conferenceli-sim", "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/arm64"})
}

#[allow(clippy::too_many_arguments)]
async fn resource_request(
    shared: &Arc<SimShared>,
    group: &str,
    version: &str,
    rest: &[&str],
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let target = resolve(shared, group, version, rest)?;
    let params = Params::from_uri(uri)?;
    let store = &shared.store;
    let def = target.def.clone();
    let namespace = target.namespace.clone().unwrap_or_default();
    let part = if target.subresource.is_some() { Part::Status } else { Part::Main };
    let resource = def.qualified_name();
    let count = |verb: &str| shared.stats.count(verb, &resource);
    let watch_requested = params.flag("watch");
    match (method, &target.name) {
        (&Method::GET, None) if watch_requested => {
            count("watch");
            let options = ListOptions::parse(&params, true)?;
            watch(shared, &target, &params, &options, wants_table(headers)).await
        }
        (&Method::GET, None) => {
            count("list");
            let options = ListOptions::parse(&params, false)?;
            let selectors = params.selectors()?;
            let page = list(store, &def, target.namespace.as_deref(), &selectors, &options).await?;
            Ok(list_response(&def, page, wants_table(headers), params.get("includeObject") == Some("Object")))
        }
        // `GET .../pods/<name>?watch=true`: the old single-object watch, a watch on one name.
        (&Method::GET, Some(_)) if watch_requested => {
            count("watch");
            let options = ListOptions::parse(&params, true)?;
            watch(shared, &target, &params, &options, wants_table(headers)).await
        }
        (&Method::GET, Some(name)) => {
            count("get");
            let object = store.get(&def, &namespace, name)?;
            if wants_table(headers) {
                let rv = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
                return Ok(value_response(
                    StatusCode::OK,
                    &table(&def, &[&object], &rv, params.get("includeObject") == Some("Object"), true),
                ));
            }
            Ok(value_response(StatusCode::OK, &object))
        }
        (&Method::POST, None) => {
            count("create");
            if def.namespaced && target.namespace.is_none() {
                return Err(ApiError::method_not_allowed(format!(
                    "{} are namespaced: create them under /namespaces/<namespace>/",
                    def.plural
                )));
            }
            let mode = write_mode(&WriteOptions::parse(&params, WriteVerb::Create)?, headers);
            let created = store.create_with(&def, &namespace, parse_body(body)?, mode)?;
            Ok(written_response(StatusCode::CREATED, created))
        }
        (&Method::PUT, Some(name)) => {
            count("update");
            let mode = write_mode(&WriteOptions::parse(&params, WriteVerb::Update)?, headers);
            let replaced = store.replace_with(&def, &namespace, name, parse_body(body)?, part, mode)?;
            Ok(written_response(StatusCode::OK, replaced))
        }
        (&Method::PATCH, Some(name)) => {
            count("patch");
            let kind = patch_kind(headers, &def)?;
            let options = WriteOptions::parse(&params, WriteVerb::Patch { apply: kind == PatchKind::Apply })?;
            let patch = if kind == PatchKind::Apply {
                serde_norway::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("the apply patch is not valid YAML or JSON: {e}")))?
            } else {
                parse_body(body)?
            };
            let patched = store.patch_with(&def, &namespace, name, kind, patch, part, write_mode(&options, headers))?;
            Ok(written_response(StatusCode::OK, patched))
        }
        (&Method::DELETE, Some(name)) if part == Part::Main => {
            count("delete");
            let options: Value = if body.is_empty() { json!({}) } else { parse_body(body)? };
            let delete = DeleteRequest::parse(&params, &options, headers)?;
            let (uid, rv) = (delete.uid.as_deref(), delete.resource_version.as_deref());
            let object = store.delete_with(&def, &namespace, name, delete.grace, uid, rv, delete.mode)?;
            Ok(value_response(StatusCode::OK, &object))
        }
        _ => Err(ApiError::method_not_allowed(format!("{method} is not supported on {}", uri.path()))),
    }
}

/// The patch's format, from its `Content-Type`, as kube-apiserver accepts them for `def`.
fn patch_kind(headers: &HeaderMap, def: &ResourceDef) -> Result<PatchKind, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        // Custom resources have no Go types to carry merge keys: kube refuses this for them.
        "application/strategic-merge-patch+json" if def.schema.is_some() => Err(ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: \
                      application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                .into(),
            details: None,
        }),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// A delete's options, from the query and the `DeleteOptions` body (kubectl sends `dryRun` and
/// the grace period in the body; the query wins where both say something).
struct DeleteRequest {
    grace: Option<i64>,
    uid: Option<String>,
    resource_version: Option<String>,
    mode: WriteMode,
}

impl DeleteRequest {
    fn parse(params: &Params, options: &Value, headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut write = WriteOptions::parse(params, WriteVerb::Delete)?;
        if let Some(dry_run) = delete_body_dry_run(options)? {
            write.dry_run |= dry_run;
        }
        let grace = match params.number::<i64>("gracePeriodSeconds")? {
            Some(g) => Some(g),
            None => options["gracePeriodSeconds"].as_i64(),
        };
        let precondition = |path: &str| options.pointer(path).and_then(Value::as_str).map(str::to_string);
        Ok(Self {
            grace,
            uid: precondition("/preconditions/uid"),
            resource_version: precondition("/preconditions/resourceVersion"),
            mode: write_mode(&write, headers),
        })
    }
}

/// The store's part of the write options. Without a `fieldManager`, the writer is named after
/// its User-Agent's product (`kubectl`, `kube-rs`, `OpenAPI-Generator`), as kube-apiserver does.
fn write_mode(options: &WriteOptions, headers: &HeaderMap) -> WriteMode {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).and_then(|ua| ua.split('/').next());
    let manager = options.field_manager.clone().or_else(|| agent.filter(|a| !a.is_empty()).map(str::to_string));
    WriteMode {
        dry_run: options.dry_run,
        strict: options.field_validation == FieldValidation::Strict,
        manager,
        force: options.force,
    }
}

/// `dryRun` of a `DeleteOptions` body: `["All"]`, nothing, or 422 for anything else.
fn delete_body_dry_run(options: &Value) -> Result<Option<bool>, ApiError> {
    let Some(values) = options.get("dryRun").and_then(Value::as_array) else { return Ok(None) };
    let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    if values.iter().all(|v| *v == "All") {
        return Ok(Some(!values.is_empty()));
    }
    let listed: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    let error =
        super::field::FieldError::not_supported("dryRun", format!("[]string{{{}}}", listed.join(", ")), &["All"]);
    Err(ApiError::invalid_options("DeleteOptions", &[error]))
}

/// The written object, with a `Warning` header per warning (unknown fields that were pruned), as
/// kube-apiserver sends them (`299 - "unknown field \"spec.x\""`).
fn written_response(code: StatusCode, written: Written) -> Response {
    let mut response = value_response(code, &written.object);
    for warning in &written.warnings {
        let text = format!("299 - {}", serde_json::to_string(warning).unwrap_or_default());
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// How long a request for a version the server has not reached waits for it (the watch cache's
/// 3 s) before answering 504.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

/// Waits until the store has reached resource version `rv`, at most [`FRESHNESS_WAIT`].
async fn wait_for_version(store: &Store, rv: u64) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + FRESHNESS_WAIT;
    loop {
        let changed = store.changed.notified();
        let current = store.resource_version();
        if current >= rv {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            return Err(ApiError::too_large_resource_version(rv, store.resource_version()));
        }
    }
}

/// A list as its options ask: the newest state (no version, `0`, or not older than a version
/// reached), or exactly the state at a version (`Exact`, or legacy `resourceVersion` with `limit`).
async fn list(
    store: &Store,
    def: &ResourceDef,
    namespace: Option<&str>,
    selectors: &super::selectors::Selectors,
    options: &ListOptions,
) -> Result<ListPage, ApiError> {
    let exact = match (options.resource_version, options.version_match) {
        (Some(rv), VersionMatch::Exact) => Some(rv),
        (Some(rv), VersionMatch::Unset) if rv > 0 && options.limit.is_some() && options.continue_token.is_none() => {
            Some(rv)
        }
        _ => None,
    };
    if let Some(rv) = exact {
        return store.list_exact(def, namespace, selectors, rv);
    }
    if let Some(rv) = options.resource_version.filter(|rv| *rv > 0) {
        wait_for_version(store, rv).await?;
    }
    store.list(def, namespace, selectors, options.limit, options.continue_token.as_deref())
}

fn list_response(def: &ResourceDef, page: ListPage, as_table: bool, include_object: bool) -> Response {
    let rv = page.resource_version.to_string();
    if as_table {
        let objects: Vec<&Value> = page.items.iter().map(|o| o.as_ref()).collect();
        let mut t = table(def, &objects, &rv, include_object, true);
        if let Some(token) = &page.continue_token {
            t["metadata"]["continue"] = json!(token);
        }
        return value_response(StatusCode::OK, &t);
    }
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(token) = &page.continue_token {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(page.remaining);
    }
    // Written item by item: a list of 10,000 pods is never copied into one big Value.
    let mut out = Vec::with_capacity(256 + page.items.len() * 2048);
    out.extend_from_slice(
        format!(r#"{{"kind":"{}List","apiVersion":"{}","metadata":"#, def.kind, def.api_version()).as_bytes(),
    );
    let _ = serde_json::to_writer(&mut out, &metadata);
    out.extend_from_slice(br#","items":["#);
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, item.as_ref());
    }
    out.extend_from_slice(b"]}");
    json_response(StatusCode::OK, out)
}

/// Everything one watch stream needs to produce its next line.
struct WatchStream {
    def: Arc<ResourceDef>,
    filter: WatchFilter,
    initial: std::vec::IntoIter<(EventType, Arc<Value>)>,
    initial_end_bookmark: bool,
    live: broadcast::Receiver<Arc<WatchRecord>>,
    last_rv: u64,
    sent_rv: u64,
    bookmarks: bool,
    bookmark_timer: tokio::time::Interval,
    deadline: tokio::time::Instant,
    as_table: bool,
    columns_sent: bool,
    stop: tokio_util::sync::CancellationToken,
    _open: super::WatchGuard,
}

impl WatchStream {
    fn line(&mut self, event: &str, object: &Value) -> Bytes {
        let object = if self.as_table && event != "BOOKMARK" {
            let rv = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
            let t = table(&self.def, &[object], &rv, false, !self.columns_sent);
            self.columns_sent = true;
            t
        } else {
            object.clone()
        };
        let mut line = serde_json::to_vec(&json!({"type": event, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    fn bookmark(&mut self, initial_events_end: bool) -> Bytes {
        self.sent_rv = self.last_rv;
        let mut metadata = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata});
        self.line("BOOKMARK", &object)
    }

    /// The next line of the stream, or `None` when the watch ends.
    async fn next_line(&mut self) -> Option<Bytes> {
        if let Some((event, object)) = self.initial.next() {
            self.last_rv = self.last_rv.max(Store::object_rv(&object).unwrap_or(0));
            self.sent_rv = self.last_rv;
            return Some(self.line(event.as_str(), &object));
        }
        if self.initial_end_bookmark {
            self.initial_end_bookmark = false;
            return Some(self.bookmark(true));
        }
        loop {
            tokio::select! {
                record = self.live.recv() => match record {
                    Ok(record) => {
                        self.last_rv = record.rv;
                        if let Some(event) = self.filter.event_for(&record) {
                            self.sent_rv = record.rv;
                            return Some(self.line(event.as_str(), &record.object));
                        }
                    }
                    // A watcher that cannot keep up is cut off; it resumes from its last version.
                    Err(_) => return None,
                },
                _ = self.bookmark_timer.tick(), if self.bookmarks => {
                    if self.last_rv > self.sent_rv {
                        return Some(self.bookmark(false));
                    }
                }
                _ = tokio::time::sleep_until(self.deadline) => return None,
                _ = self.stop.cancelled() => return None,
            }
        }
    }
}

/// A watch as its options ask (kube's rules): without `sendInitialEvents`, no version or `0`
/// starts with the current objects as ADDED events and a version resumes after it (410 Gone
/// in the stream when that history is gone); `sendInitialEvents=true` sends the current objects
/// then, with bookmarks allowed, a bookmark marked `k8s.io/initial-events-end`;
/// `sendInitialEvents=false` only sends changes. A version not reached yet is waited for, then 504.
async fn watch(
    shared: &Arc<SimShared>,
    target: &Target,
    params: &Params,
    options: &ListOptions,
    as_table: bool,
) -> Result<Response, ApiError> {
    let mut selectors = params.selectors()?;
    if let Some(name) = &target.name {
        selectors.fields.0.push(super::selectors::FieldRequirement {
            field: "metadata.name".into(),
            value: name.clone(),
            negated: false,
        });
    }
    let filter = WatchFilter { resource: target.def.qualified_name(), namespace: target.namespace.clone(), selectors };
    let requested = options.resource_version.filter(|rv| *rv > 0);
    if let Some(rv) = requested {
        wait_for_version(&shared.store, rv).await?;
    }
    let from: Option<u64> = match options.send_initial_events {
        Some(true) => None,
        Some(false) => Some(requested.unwrap_or_else(|| shared.store.resource_version())),
        None => requested,
    };
    let start = match shared.store.watch(&filter, &target.def, from) {
        Ok(start) => start,
        // The real API answers a too-old version inside the stream, as an ERROR event.
        Err(error) if error.code == 410 => {
            let mut line =
                serde_json::to_vec(&json!({"type": "ERROR", "object": error.to_status()})).unwrap_or_default();
            line.push(b'\n');
            return Ok(json_response(StatusCode::OK, line));
        }
        Err(error) => return Err(error),
    };
    let interval = shared.bookmark_interval;
    let mut stream = WatchStream {
        def: target.def.clone(),
        filter,
        initial: start.initial.into_iter(),
        initial_end_bookmark: options.send_initial_events == Some(true) && options.allow_bookmarks,
        live: start.live,
        last_rv: from.unwrap_or(0).max(start.start_rv),
        sent_rv: from.unwrap_or(0),
        bookmarks: options.allow_bookmarks,
        bookmark_timer: tokio::time::interval_at(tokio::time::Instant::now() + interval, interval),
        deadline: tokio::time::Instant::now() + options.watch_timeout(),
        as_table,
        columns_sent: false,
        stop: shared.stop.clone(),
        _open: super::WatchGuard::open(shared.stats.clone(), target.def.qualified_name()),
    };
    // The initial events of a fresh watch come before the stream's own version.
    if from.is_none_or(|rv| rv == 0) {
        stream.last_rv = start.start_rv;
        stream.sent_rv = 0;
    }
    let body = futures::stream::unfold(stream, |mut s| async move {
        s.next_line().await.map(|line| (Ok::<_, std::convert::Infallible>(line), s))
    });
    let mut response = Response::new(Body::from_stream(body.boxed()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(response)
}

/// `/sim/...`: statistics and the simulation's own controls.
fn sim_control(shared: &Arc<SimShared>, method: &Method, uri: &Uri, rest: &[&str]) -> Result<Response, ApiError> {
    match (method, rest) {
        (&Method::POST, ["restart"]) => {
            let down = Params::from_uri(uri)?.number::<u64>("downMillis")?.unwrap_or(1000);
            if down > 60_000 {
                return Err(ApiError::bad_request("downMillis is at most 60000"));
            }
            if !shared.restart(Duration::from_millis(down)) {
                let message = "a restart is already under way".to_string();
                return Err(ApiError { code: 409, reason: "Conflict", message, details: None });
            }
            Ok(value_response(StatusCode::ACCEPTED, &json!({"message": format!("restarting, down for {down} ms")})))
        }
        (&Method::GET, ["stats"]) => Ok(value_response(StatusCode::OK, &shared.stats.to_json())),
        (&Method::POST, ["compact"]) => {
            shared.store.compact();
            Ok(value_response(
                StatusCode::OK,
                &json!({"message": "history compacted", "resourceVersion": shared.store.resource_version().to_string()}),
            ))
        }
        (&Method::POST, ["nodes", name, health]) => {
            let health: NodeHealth = serde_json::from_value(json!(health)).map_err(|_| {
                ApiError::bad_request(format!("unknown node health {health:?}: use ready, not-ready or unreachable"))
            })?;
            if shared.workload.set_node_health(name, health) {
                Ok(value_response(StatusCode::OK, &json!({"message": format!("node {name} is now {health:?}")})))
            } else {
                Err(ApiError::path_not_found(&format!("/sim/nodes/{name}")))
            }
        }
        _ => Err(ApiError::path_not_found(&format!("/sim/{}", rest.join("/")))),
    }
}
