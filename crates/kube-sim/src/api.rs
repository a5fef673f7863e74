//! The HTTP face of the simulated API: the routes (Kubernetes paths, verbs, query parameters,
//! content types) and their handlers, mapped onto the [`Store`], and the newline-delimited JSON
//! watch stream.
//!
//! Paths are routed by a table ([`router`]); the resource a path names is resolved by the
//! `Target` extractor, its query by `Params`; everything the API decides about objects lives in
//! the store. Besides the Kubernetes paths, `/sim/...` offers the simulation's own controls and
//! statistics.
//!
//! Every request passes `crate::auth`'s layer first (authentication and RBAC, with a token
//! file); the reviews a client asks about itself have routes of their own (`crate::reviews`).
//!
//! May call: `crate::auth`, `crate::config`, `crate::error`, `crate::eviction`, `crate::field`,
//! `crate::openapi`, `crate::params`, `crate::resources`, `crate::reviews`, `crate::selectors`,
//! `crate::store`, `crate::table`, `crate::watch`.

use crate::SimShared;
use crate::config::NodeHealth;
use crate::error::ApiError;
use crate::params::{FieldValidation, ListOptions, Params, VersionMatch, WriteOptions, WriteVerb};
use crate::resources::ResourceDef;
use crate::store::{Deletion, ListPage, Part, PatchKind, Store, Write, WriteMode, Written};
use crate::table::table;
use crate::watch::{EventType, WatchFilter, WatchRecord};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        let mut response = value_response(code, &self.to_status());
        if let Some(seconds) = self.details.as_ref().map(|d| d.retry_after_seconds).filter(|s| *s > 0) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The resource a request is about.
struct Target {
    def: Arc<ResourceDef>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    /// The request's path, for errors.
    path: String,
}

impl Target {
    fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    /// The object's name, for the verbs that need one (405 on a collection).
    fn named(&self, method: &str) -> Result<&str, ApiError> {
        self.name
            .as_deref()
            .ok_or_else(|| ApiError::method_not_allowed(format!("{method} is not supported on {}", self.path)))
    }

    /// The store's write for this target with the request's options. Without a `fieldManager`,
    /// the writer is named after its User-Agent's product (`kubectl`, `kube-rs`,
    /// `OpenAPI-Generator`), as kube-apiserver does.
    fn write(&self, options: WriteOptions, headers: &HeaderMap) -> Write<'_> {
        let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).and_then(|ua| ua.split('/').next());
        let manager = options.field_manager.or_else(|| agent.filter(|a| !a.is_empty()).map(str::to_string));
        let mode = WriteMode {
            dry_run: options.dry_run,
            strict: options.field_validation == FieldValidation::Strict,
            manager,
            force: options.force,
        };
        let part = if self.subresource.as_deref() == Some("status") { Part::Status } else { Part::Main };
        Write { def: &self.def, namespace: self.namespace(), part, mode }
    }
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
fn resolve(store: &Store, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let registry = &store.registry;
    let path = format!("/{}", rest.join("/"));
    let not_found = || ApiError::path_not_found(&path);
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
        && !def.serves(sub)
    {
        return Err(not_found());
    }
    Ok(Target { def, namespace, name, subresource, path })
}

/// The routes of the simulated API: discovery, OpenAPI, health, the resources by verb, and the
/// simulation's own controls under `/sim`.
pub(crate) fn router(shared: Arc<SimShared>) -> Router {
    // Every resource path (`/api/v1/...`, `/apis/<group>/<version>/...`) takes the same verbs;
    // which object and subresource it names is the `Target` extractor's business.
    let resources = || get(read).post(create).put(replace).patch(patch).delete(delete);
    Router::new()
        .route("/", get(paths))
        .route("/version", get(version))
        .route("/healthz", get(healthy))
        .route("/livez", get(healthy))
        .route("/readyz", get(healthy))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3))
        .route("/openapi/v3/api/{version}", get(openapi_core))
        .route("/openapi/v3/apis/{group}/{version}", get(openapi_group))
        .route("/api", get(core_versions))
        .route("/api/v1", get(core_resources))
        .route("/apis", get(groups))
        .route("/apis/{group}", get(group))
        .route("/apis/{group}/{version}", get(group_resources))
        .route("/api/v1/namespaces/{namespace}/pods/{name}/eviction", post(evict))
        .route("/api/v1/{*rest}", resources())
        .route("/apis/{group}/{version}/{*rest}", resources())
        .route("/sim/stats", get(stats))
        .route("/sim/compact", post(compact))
        .route("/sim/restart", post(restart))
        .route("/sim/nodes/{name}/{health}", post(node_health))
        .merge(crate::reviews::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // Authentication and RBAC before any route, the fallbacks included (`crate::auth`).
        .layer(axum::middleware::from_fn_with_state(shared.clone(), crate::auth::guard))
        .with_state(shared)
}

impl FromRequestParts<Arc<SimShared>> for Target {
    type Rejection = ApiError;

    /// The resource a path under `/api/v1` or `/apis/<group>/<version>` names.
    async fn from_request_parts(parts: &mut Parts, shared: &Arc<SimShared>) -> Result<Self, ApiError> {
        let store = &shared.store;
        let path = parts.uri.path();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["api", version, rest @ ..] => resolve(store, "", version, rest),
            ["apis", group, version, rest @ ..] => resolve(store, group, version, rest),
            _ => Err(ApiError::path_not_found(path)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Params::from_uri(&parts.uri)
    }
}

async fn paths() -> Response {
    let paths = [
        "/api",
        "/api/v1",
        "/apis",
        "/healthz",
        "/livez",
        "/openapi/v2",
        "/openapi/v3",
        "/readyz",
        "/version",
        "/sim/stats",
    ];
    value_response(StatusCode::OK, &json!({ "paths": paths }))
}

async fn version() -> Response {
    value_response(
        StatusCode::OK,
        &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.5+kube-sim", "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/arm64"}),
    )
}

async fn healthy() -> Response {
    (StatusCode::OK, "ok").into_response()
}

async fn openapi_v2() -> Response {
    let mut response = Response::new(Body::from(crate::openapi::v2_protobuf()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
    );
    response
}

async fn openapi_v3(State(shared): State<Arc<SimShared>>) -> Response {
    value_response(StatusCode::OK, &crate::openapi::discovery(&shared.store.registry))
}

async fn openapi_core(
    State(shared): State<Arc<SimShared>>,
    uri: Uri,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    openapi_document(&shared, &uri, "", &version)
}

async fn openapi_group(
    State(shared): State<Arc<SimShared>>,
    uri: Uri,
    Path((group, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    openapi_document(&shared, &uri, &group, &version)
}

fn openapi_document(shared: &SimShared, uri: &Uri, group: &str, version: &str) -> Result<Response, ApiError> {
    crate::openapi::group_version(&shared.store.registry, group, version)
        .map(|doc| value_response(StatusCode::OK, &doc))
        .ok_or_else(|| ApiError::path_not_found(uri.path()))
}

async fn core_versions(State(shared): State<Arc<SimShared>>) -> Response {
    value_response(StatusCode::OK, &shared.store.registry.core_versions())
}

async fn core_resources(State(shared): State<Arc<SimShared>>) -> Response {
    value_response(StatusCode::OK, &shared.store.registry.resource_list("", "v1").unwrap_or_default())
}

async fn groups(State(shared): State<Arc<SimShared>>) -> Response {
    value_response(StatusCode::OK, &shared.store.registry.group_list())
}

async fn group(
    State(shared): State<Arc<SimShared>>,
    uri: Uri,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    let found = shared.store.registry.group(&group);
    found.map(|g| value_response(StatusCode::OK, &g)).ok_or_else(|| ApiError::path_not_found(uri.path()))
}

async fn group_resources(
    State(shared): State<Arc<SimShared>>,
    uri: Uri,
    Path((group, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = shared.store.registry.resource_list(&group, &version);
    found.map(|l| value_response(StatusCode::OK, &l)).ok_or_else(|| ApiError::path_not_found(uri.path()))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::path_not_found(uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not supported on {}", uri.path()))
}

/// GET: a watch (`watch=true`, on a collection or, the old way, on one name), a list, or one
/// object (a table of them when kubectl asks for one).
async fn read(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (def, as_table) = (&target.def, wants_table(&headers));
    if params.flag("watch") {
        shared.stats.count("watch", &def.qualified_name());
        let options = ListOptions::parse(&params, true)?;
        return watch(&shared, &target, &params, &options, as_table).await;
    }
    let include_object = params.get("includeObject") == Some("Object");
    let Some(name) = &target.name else {
        shared.stats.count("list", &def.qualified_name());
        let options = ListOptions::parse(&params, false)?;
        let selectors = params.selectors(def.fields)?;
        let page = list(&shared.store, def, target.namespace.as_deref(), &selectors, &options).await?;
        return Ok(list_response(def, page, as_table, include_object));
    };
    shared.stats.count("get", &def.qualified_name());
    let object = shared.store.get(def, target.namespace(), name)?;
    if as_table {
        let rv = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        return Ok(value_response(StatusCode::OK, &table(def, &[&object], &rv, include_object, true)));
    }
    Ok(value_response(StatusCode::OK, &object))
}

/// POST on a collection: create.
async fn create(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let def = &target.def;
    if target.name.is_some() {
        return Err(ApiError::method_not_allowed(format!("POST is not supported on {}", target.path)));
    }
    shared.stats.count("create", &def.qualified_name());
    if def.namespaced && target.namespace.is_none() {
        return Err(ApiError::method_not_allowed(format!(
            "{} are namespaced: create them under /namespaces/<namespace>/",
            def.plural
        )));
    }
    let write = target.write(WriteOptions::parse(&params, WriteVerb::Create)?, &headers);
    let created = shared.store.create(&write, parse_body(&body)?)?;
    Ok(written_response(StatusCode::CREATED, created))
}

/// PUT on an object or its status: replace.
async fn replace(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = target.named("PUT")?;
    shared.stats.count("update", &target.def.qualified_name());
    let write = target.write(WriteOptions::parse(&params, WriteVerb::Update)?, &headers);
    let replaced = shared.store.replace(&write, name, parse_body(&body)?)?;
    Ok(written_response(StatusCode::OK, replaced))
}

/// PATCH on an object or its status, in the format its `Content-Type` names.
async fn patch(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = target.named("PATCH")?;
    shared.stats.count("patch", &target.def.qualified_name());
    let kind = patch_kind(&headers, &target.def)?;
    let options = WriteOptions::parse(&params, WriteVerb::Patch { apply: kind == PatchKind::Apply })?;
    let patch = if kind == PatchKind::Apply {
        serde_norway::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the apply patch is not valid YAML or JSON: {e}")))?
    } else {
        parse_body(&body)?
    };
    let patched = shared.store.patch(&target.write(options, &headers), name, kind, patch)?;
    Ok(written_response(StatusCode::OK, patched))
}

/// DELETE on an object, with its `DeleteOptions` from the query and the body.
async fn delete(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = target.named("DELETE")?;
    if target.subresource.is_some() {
        return Err(ApiError::method_not_allowed(format!("DELETE is not supported on {}", target.path)));
    }
    shared.stats.count("delete", &target.def.qualified_name());
    let options: Value = if body.is_empty() { json!({}) } else { parse_body(&body)? };
    let request = DeleteRequest::parse(&params, &options)?;
    let write = target.write(request.write, &headers);
    let object = shared.store.delete(&write, name, &request.deletion)?;
    Ok(value_response(StatusCode::OK, &object))
}

/// POST on a pod's `eviction` subresource (verb `create`, subresource `eviction`, as an
/// authorizer sees it), a `policy/v1` Eviction: the pod is deleted as its `deleteOptions` say
/// unless its disruption budget forbids it (see `crate::eviction`); 201 with a `Status`.
async fn evict(
    State(shared): State<Arc<SimShared>>,
    target: Target,
    params: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = target.named("POST")?;
    shared.stats.count("create", "pods/eviction");
    let options = WriteOptions::parse(&params, WriteVerb::Create)?;
    let strict = options.field_validation == FieldValidation::Strict;
    let warn = options.field_validation == FieldValidation::Warn;
    let body = parse_body(&body)?;
    let unknown = crate::eviction::unknown_fields(target.namespace(), name, &body)?;
    let warnings: Vec<String> = unknown.iter().map(|field| format!("unknown field {field:?}")).collect();
    if strict && !warnings.is_empty() {
        return Err(ApiError::bad_request(format!("strict decoding error: {}", warnings.join(", "))));
    }
    let request = DeleteRequest::from_body(&body["deleteOptions"], options)?;
    let eviction = crate::eviction::Eviction {
        pods: &target.def,
        namespace: target.namespace(),
        name,
        deletion: request.deletion,
        dry_run: request.write.dry_run,
    };
    crate::eviction::evict(&shared.store, &eviction).await?;
    let success = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    let warnings = if warn { warnings } else { Vec::new() };
    Ok(written_response(StatusCode::CREATED, Written { object: Arc::new(success), warnings }))
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
    write: WriteOptions,
    deletion: Deletion,
}

impl DeleteRequest {
    fn parse(params: &Params, options: &Value) -> Result<Self, ApiError> {
        let mut request = Self::from_body(options, WriteOptions::parse(params, WriteVerb::Delete)?)?;
        if let Some(grace) = params.number::<i64>("gracePeriodSeconds")? {
            request.deletion.grace_seconds = Some(grace);
        }
        Ok(request)
    }

    /// The `DeleteOptions` of a body alone (an Eviction's), its `dryRun` joined to the request's.
    fn from_body(options: &Value, mut write: WriteOptions) -> Result<Self, ApiError> {
        if let Some(dry_run) = delete_body_dry_run(options)? {
            write.dry_run |= dry_run;
        }
        let precondition = |path: &str| options.pointer(path).and_then(Value::as_str).map(str::to_string);
        let deletion = Deletion {
            grace_seconds: options["gracePeriodSeconds"].as_i64(),
            uid: precondition("/preconditions/uid"),
            resource_version: precondition("/preconditions/resourceVersion"),
        };
        Ok(Self { write, deletion })
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
        crate::field::FieldError::not_supported("dryRun", format!("[]string{{{}}}", listed.join(", ")), &["All"]);
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
    selectors: &crate::selectors::Selectors,
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
    _open: crate::WatchGuard,
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
                            let object = self.def.served(&record.object);
                            return Some(self.line(event.as_str(), &object));
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
    let mut selectors = params.selectors(target.def.fields)?;
    if let Some(name) = &target.name {
        selectors.fields.0.push(crate::selectors::FieldRequirement {
            field: crate::selectors::METADATA_NAME,
            value: name.clone(),
            negated: false,
        });
    }
    // A view of another resource's storage watches that storage's changes.
    let filter = WatchFilter { resource: target.def.storage_name(), namespace: target.namespace.clone(), selectors };
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
        _open: crate::WatchGuard::open(shared.stats.clone(), target.def.qualified_name()),
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

/// `POST /sim/restart?downMillis=N`: the API server restarts (see [`SimShared::restart`]).
async fn restart(State(shared): State<Arc<SimShared>>, params: Params) -> Result<Response, ApiError> {
    let down = params.number::<u64>("downMillis")?.unwrap_or(1000);
    if down > 60_000 {
        return Err(ApiError::bad_request("downMillis is at most 60000"));
    }
    if !shared.restart(Duration::from_millis(down)) {
        let message = "a restart is already under way".to_string();
        return Err(ApiError { code: 409, reason: "Conflict", message, details: None });
    }
    Ok(value_response(StatusCode::ACCEPTED, &json!({"message": format!("restarting, down for {down} ms")})))
}

/// `GET /sim/stats`: open watches per resource, requests per verb and resource.
async fn stats(State(shared): State<Arc<SimShared>>) -> Response {
    value_response(StatusCode::OK, &shared.stats.to_json())
}

/// `POST /sim/compact`: the watch history is forgotten (410 Gone for older versions).
async fn compact(State(shared): State<Arc<SimShared>>) -> Response {
    shared.store.compact();
    let rv = shared.store.resource_version().to_string();
    value_response(StatusCode::OK, &json!({"message": "history compacted", "resourceVersion": rv}))
}

/// `POST /sim/nodes/<name>/<ready|not-ready|unreachable>`: a node's kubelet changes its health.
async fn node_health(
    State(shared): State<Arc<SimShared>>,
    Path((name, health)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let health: NodeHealth = serde_json::from_value(json!(health)).map_err(|_| {
        ApiError::bad_request(format!("unknown node health {health:?}: use ready, not-ready or unreachable"))
    })?;
    if shared.controllers.set_node_health(&name, health) {
        Ok(value_response(StatusCode::OK, &json!({"message": format!("node {name} is now {health:?}")})))
    } else {
        Err(ApiError::path_not_found(&format!("/sim/nodes/{name}")))
    }
}
