//! An Odoo test double: a small HTTP server on 127.0.0.1 speaking both external APIs as Odoo
//! documents them — JSON-2 (`POST /json/2/<model>/<method>`, `Authorization: bearer <key>`,
//! `X-Odoo-Database`, named parameters, errors as 4xx/5xx `{name, message, arguments, context,
//! debug}`) and the legacy JSON-RPC (`POST /jsonrpc`, `common.authenticate`,
//! `object.execute_kw`, errors as `{"error": {"code", "message", "data": {...}}}`).
//!
//! It keeps records per model in memory and understands the calls the booth makes
//! (`search_read` with `=`/`ilike` domains and `active_test`, `create`), and it can misbehave on
//! purpose: go away and come back on the same port, answer slowly, or commit a create and never
//! answer it.

#![allow(dead_code)]

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const DB: &str = "booth";
pub const LOGIN: &str = "bot@example.com";
pub const PASSWORD: &str = "rpc-pass-9f3k";
pub const API_KEY: &str = "json2-key-7c1e";
const UID: i64 = 6;

/// Fields `crm.lead` accepts (anything else is refused as Odoo refuses unknown fields).
const CRM_LEAD_FIELDS: [&str; 12] = [
    "name",
    "contact_name",
    "email_from",
    "function",
    "partner_name",
    "country_id",
    "phone",
    "description",
    "campaign_id",
    "source_id",
    "tag_ids",
    "active",
];

pub struct Double {
    records: Mutex<HashMap<String, Vec<Value>>>,
    next_id: AtomicI64,
    delay: Mutex<Duration>,
    lose_create_answers: AtomicU32,
    calls: Mutex<Vec<(String, String)>>,
}

impl Double {
    fn seeded() -> Self {
        let mut records = HashMap::new();
        let countries = [
            (233, "US", "United States"),
            (43, "CH", "Switzerland"),
            (109, "IT", "Italy"),
            (57, "DE", "Germany"),
            (75, "FR", "France"),
            (13, "AT", "Austria"),
            (10, "AR", "Argentina"),
        ];
        records.insert(
            "res.country".to_string(),
            countries
                .iter()
                .map(|(id, code, name)| json!({"id": id, "code": code, "name": name, "active": true}))
                .collect(),
        );
        records.insert("utm.campaign".into(), vec![json!({"id": 7, "name": "KubeCon 2026", "active": true})]);
        records.insert("utm.source".into(), vec![json!({"id": 3, "name": "Booth", "active": true})]);
        records.insert("crm.tag".into(), vec![json!({"id": 11, "name": "conference", "active": true})]);
        records.insert("crm.lead".into(), Vec::new());
        Self {
            records: Mutex::new(records),
            next_id: AtomicI64::new(1000),
            delay: Mutex::new(Duration::ZERO),
            lose_create_answers: AtomicU32::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn matches(record: &Value, domain: &Value, include_archived: bool) -> bool {
        if !include_archived && record.get("active") == Some(&json!(false)) {
            return false;
        }
        domain.as_array().into_iter().flatten().all(|term| {
            let (Some(field), Some(op), Some(value)) =
                (term.get(0).and_then(Value::as_str), term.get(1).and_then(Value::as_str), term.get(2))
            else {
                return false;
            };
            let actual = record.get(field).cloned().unwrap_or(Value::Null);
            match op {
                "=" => &actual == value,
                "ilike" => match (actual.as_str(), value.as_str()) {
                    (Some(a), Some(v)) => a.to_lowercase().contains(&v.to_lowercase()),
                    _ => false,
                },
                _ => false,
            }
        })
    }

    fn search_read(
        &self,
        model: &str,
        domain: &Value,
        fields: &[String],
        limit: Option<usize>,
        archived: bool,
    ) -> Value {
        let records = self.records.lock().unwrap();
        let found: Vec<Value> = records
            .get(model)
            .into_iter()
            .flatten()
            .filter(|r| Self::matches(r, domain, archived))
            .take(limit.unwrap_or(usize::MAX))
            .map(|r| {
                let mut out = serde_json::Map::new();
                out.insert("id".into(), r["id"].clone());
                for field in fields {
                    out.insert(field.clone(), r.get(field).cloned().unwrap_or(json!(false)));
                }
                Value::Object(out)
            })
            .collect();
        Value::Array(found)
    }

    /// Creates the record (committed), or says why not as (exception name, message).
    fn create(&self, model: &str, values: &Value) -> Result<i64, (String, String)> {
        let Some(object) = values.as_object() else {
            return Err(("builtins.TypeError".into(), "values must be a dict".into()));
        };
        if model == "crm.lead" {
            if let Some(field) = object.keys().find(|k| !CRM_LEAD_FIELDS.contains(&k.as_str())) {
                return Err(("builtins.ValueError".into(), format!("Invalid field '{field}' on model 'crm.lead'")));
            }
            if object.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(("odoo.exceptions.ValidationError".into(), "The lead needs a name".into()));
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut record = object.clone();
        record.insert("id".into(), json!(id));
        record.entry("active").or_insert(json!(true));
        self.records.lock().unwrap().entry(model.to_string()).or_default().push(Value::Object(record));
        Ok(id)
    }

    async fn before_call(&self, model: &str, method: &str) {
        self.calls.lock().unwrap().push((model.to_string(), method.to_string()));
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// After a committed create: whether to lose the answer (hang until the client gives up).
    async fn maybe_lose_answer(&self) {
        let lose =
            self.lose_create_answers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if lose {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}

fn json2_error(status: StatusCode, name: &str, message: &str) -> Response {
    let body = json!({"name": name, "message": message, "arguments": [message, status.as_u16()], "context": {},
        "debug": format!("Traceback (most recent call last):\n{name}: {message}\n")});
    (status, Json(body)).into_response()
}

async fn json2(
    State(double): State<Arc<Double>>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, key)| scheme.eq_ignore_ascii_case("bearer") && key == API_KEY);
    if !authorized {
        return json2_error(StatusCode::UNAUTHORIZED, "werkzeug.exceptions.Unauthorized", "Invalid apikey");
    }
    if headers.get("x-odoo-database").is_some_and(|db| db != DB) {
        return json2_error(StatusCode::NOT_FOUND, "werkzeug.exceptions.NotFound", "database not found");
    }
    let Ok(params) = serde_json::from_str::<Value>(&body) else {
        return json2_error(StatusCode::BAD_REQUEST, "werkzeug.exceptions.BadRequest", "body is not JSON");
    };
    double.before_call(&model, &method).await;
    match method.as_str() {
        "search_read" => {
            let fields: Vec<String> = serde_json::from_value(params["fields"].clone()).unwrap_or_default();
            let limit = params["limit"].as_u64().map(|l| l as usize);
            let archived = params["context"]["active_test"] == json!(false);
            Json(double.search_read(&model, &params["domain"], &fields, limit, archived)).into_response()
        }
        "create" => {
            let Some(list) = params["vals_list"].as_array() else {
                return json2_error(StatusCode::UNPROCESSABLE_ENTITY, "builtins.TypeError", "missing vals_list");
            };
            let mut ids = Vec::new();
            for values in list {
                match double.create(&model, values) {
                    Ok(id) => ids.push(id),
                    Err((name, message)) => return json2_error(StatusCode::UNPROCESSABLE_ENTITY, &name, &message),
                }
            }
            double.maybe_lose_answer().await;
            Json(json!(ids)).into_response()
        }
        other => json2_error(StatusCode::NOT_FOUND, "werkzeug.exceptions.NotFound", &format!("no method {other}")),
    }
}

fn rpc_error(id: &Value, name: &str, message: &str) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": 200, "message": "Odoo Server Error",
        "data": {"name": name, "debug": format!("Traceback\n{name}: {message}"), "message": message,
                 "arguments": [message], "context": {}}}}))
}

async fn jsonrpc(State(double): State<Arc<Double>>, Json(request): Json<Value>) -> Json<Value> {
    let id = request["id"].clone();
    let params = &request["params"];
    let args = params["args"].as_array().cloned().unwrap_or_default();
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    match (params["service"].as_str(), params["method"].as_str()) {
        (Some("common"), Some("authenticate")) => {
            double.before_call("res.users", "authenticate").await;
            let ok = arg(0) == json!(DB) && arg(1) == json!(LOGIN) && arg(2) == json!(PASSWORD);
            Json(json!({"jsonrpc": "2.0", "id": id, "result": if ok { json!(UID) } else { json!(false) }}))
        }
        (Some("object"), Some("execute_kw")) => {
            if arg(0) != json!(DB) || arg(1) != json!(UID) || arg(2) != json!(PASSWORD) {
                return rpc_error(&id, "odoo.exceptions.AccessDenied", "Access Denied");
            }
            let model = arg(3).as_str().unwrap_or_default().to_string();
            let method = arg(4).as_str().unwrap_or_default().to_string();
            let positional = arg(5);
            let kwargs = arg(6);
            double.before_call(&model, &method).await;
            match method.as_str() {
                "search_read" => {
                    let fields: Vec<String> = serde_json::from_value(kwargs["fields"].clone()).unwrap_or_default();
                    let limit = kwargs["limit"].as_u64().map(|l| l as usize);
                    let archived = kwargs["context"]["active_test"] == json!(false);
                    let result = double.search_read(&model, &positional[0], &fields, limit, archived);
                    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                }
                "create" => {
                    let values = &positional[0];
                    let list: Vec<Value> = match values {
                        Value::Array(list) => list.clone(),
                        single => vec![single.clone()],
                    };
                    let mut ids = Vec::new();
                    for values in &list {
                        match double.create(&model, values) {
                            Ok(id) => ids.push(id),
                            Err((name, message)) => return rpc_error(&id, &name, &message),
                        }
                    }
                    double.maybe_lose_answer().await;
                    let result = if values.is_array() { json!(ids) } else { json!(ids[0]) };
                    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
                }
                other => rpc_error(&id, "builtins.AttributeError", &format!("no method {other}")),
            }
        }
        _ => rpc_error(&id, "werkzeug.exceptions.NotFound", "unknown service or method"),
    }
}

/// The double, serving on a fixed port it can leave and come back to.
pub struct OdooDouble {
    pub state: Arc<Double>,
    pub addr: SocketAddr,
    running: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl OdooDouble {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut double = Self { state: Arc::new(Double::seeded()), addr, running: None };
        double.serve(listener);
        double
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let router = Router::new()
            .route("/json/2/{model}/{method}", post(json2))
            .route("/jsonrpc", post(jsonrpc))
            .with_state(self.state.clone());
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).with_graceful_shutdown(signal.cancelled_owned()).await;
        });
        self.running = Some((stop, task));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Odoo goes away: the port is closed and open connections are cut.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            stop.cancel();
            task.abort();
            let _ = task.await;
        }
    }

    /// Odoo is back on the same address with the same records.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("rebind the same port");
        self.serve(listener);
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// The next `n` creates are committed, but their answers never arrive.
    pub fn lose_create_answers(&self, n: u32) {
        self.state.lose_create_answers.store(n, Ordering::SeqCst);
    }

    pub fn records(&self, model: &str) -> Vec<Value> {
        self.state.records.lock().unwrap().get(model).cloned().unwrap_or_default()
    }

    pub fn calls(&self, model: &str, method: &str) -> usize {
        self.state.calls.lock().unwrap().iter().filter(|(m, f)| m == model && f == method).count()
    }

    /// Settings that point the app at this double, over JSON-2 (`json2`) or JSON-RPC.
    pub fn app_flags(&self, json2: bool) -> Vec<String> {
        let mut flags = vec!["--odoo-url".to_string(), self.url(), "--odoo-db".into(), DB.into()];
        if json2 {
            flags.extend(["--odoo-api-key".to_string(), API_KEY.to_string()]);
        } else {
            flags.extend(["--odoo-username".into(), LOGIN.into(), "--odoo-password".into(), PASSWORD.into()]);
        }
        flags
    }
}
