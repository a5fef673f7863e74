//! Odoo's legacy external RPC API in its JSON flavour (Odoo 16 to 21): `POST <url>/jsonrpc` with
//! a JSON-RPC 2.0 `call` whose params name a service, a method and positional args — the same
//! API as `/xmlrpc/2`, without XML. `common.authenticate(db, login, password, {})` returns the
//! user id (or `false`); `object.execute_kw(db, uid, password, model, method, args, kwargs)` runs
//! a model method. Errors come as `{"error": {"code", "message", "data": {"name", "message",
//! "debug", ...}}}`.
//!
//! May call: `crate::secret`.

use super::{Odoo, OdooError, SearchRead, created_id, describe_odoo_error, records, redact, transport_error};
use crate::secret::Secret;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

/// A JSON-RPC client; authenticates once and keeps the user id until Odoo refuses it.
pub(crate) struct JsonRpc {
    http: reqwest::Client,
    base: String,
    database: String,
    username: String,
    password: Secret,
    uid: Mutex<Option<i64>>,
    next_id: AtomicU64,
}

/// A JSON-RPC 2.0 request as Odoo's `/jsonrpc` route expects it.
#[derive(Serialize)]
pub(crate) struct RpcRequest<'a> {
    pub jsonrpc: &'static str,
    pub method: &'static str,
    pub params: RpcParams<'a>,
    pub id: u64,
}

#[derive(Serialize)]
pub struct RpcParams<'a> {
    pub service: &'static str,
    pub method: &'static str,
    pub args: Vec<&'a Value>,
}

impl JsonRpc {
    pub fn new(http: reqwest::Client, base: String, database: String, username: String, password: Secret) -> Self {
        Self { http, base, database, username, password, uid: Mutex::new(None), next_id: AtomicU64::new(1) }
    }

    fn secrets(&self) -> [&Secret; 1] {
        [&self.password]
    }

    async fn rpc(&self, service: &'static str, method: &'static str, args: Vec<&Value>) -> Result<Value, OdooError> {
        let request = RpcRequest {
            jsonrpc: "2.0",
            method: "call",
            params: RpcParams { service, method, args },
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
        };
        let response = self
            .http
            .post(format!("{}/jsonrpc", self.base))
            .json(&request)
            .send()
            .await
            .map_err(|e| transport_error(&e, &self.secrets()))?;
        let status = response.status();
        if matches!(status.as_u16(), 502..=504) {
            return Err(OdooError::Unreachable(format!("HTTP {status} from the gateway in front of Odoo")));
        }
        let text = response.text().await.map_err(|e| transport_error(&e, &self.secrets()))?;
        let answer: Value = serde_json::from_str(&text).map_err(|_| {
            OdooError::Protocol(format!("HTTP {status} without a JSON-RPC answer: is ODOO_URL an Odoo server?"))
        })?;
        interpret(answer).map_err(|error| match error {
            OdooError::Authentication(m) => OdooError::Authentication(redact(&m, &self.secrets())),
            OdooError::Rejected(m) => OdooError::Rejected(redact(&m, &self.secrets())),
            other => other,
        })
    }

    /// The user id, authenticating first when needed.
    async fn uid(&self) -> Result<i64, OdooError> {
        let mut uid = self.uid.lock().await;
        if let Some(uid) = *uid {
            return Ok(uid);
        }
        let (db, login, password) = (json!(self.database), json!(self.username), json!(self.password.expose()));
        let answer = self.rpc("common", "authenticate", vec![&db, &login, &password, &json!({})]).await?;
        let id = answer.as_i64().ok_or_else(|| {
            OdooError::Authentication(format!(
                "user {:?} could not log in to database {:?} (check ODOO_USERNAME, ODOO_PASSWORD and ODOO_DB)",
                self.username, self.database
            ))
        })?;
        *uid = Some(id);
        Ok(id)
    }

    async fn execute_kw(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Result<Value, OdooError> {
        let uid = self.uid().await?;
        let (db, uid_value, password) = (json!(self.database), json!(uid), json!(self.password.expose()));
        let (model, method) = (json!(model), json!(method));
        let result =
            self.rpc("object", "execute_kw", vec![&db, &uid_value, &password, &model, &method, &args, &kwargs]).await;
        if let Err(OdooError::Authentication(_)) = &result {
            // The password changed since we logged in: log in again next time.
            *self.uid.lock().await = None;
        }
        result
    }
}

/// The result of a JSON-RPC answer, or the kind of failure its `error` describes.
fn interpret(mut answer: Value) -> Result<Value, OdooError> {
    if let Some(error) = answer.get("error") {
        let data = error.get("data").cloned().unwrap_or(Value::Null);
        let (name, message) = describe_odoo_error(&data);
        let message = if message.is_empty() {
            error.get("message").and_then(Value::as_str).unwrap_or("unknown error").to_string()
        } else {
            message
        };
        let detail = if name.is_empty() { message } else { format!("{name}: {message}") };
        return Err(if name.ends_with("AccessDenied") {
            OdooError::Authentication(format!("{detail} (check ODOO_USERNAME, ODOO_PASSWORD and ODOO_DB)"))
        } else {
            OdooError::Rejected(detail)
        });
    }
    answer
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| OdooError::Protocol("a JSON-RPC answer without result or error".into()))
}

impl Odoo for JsonRpc {
    fn api(&self) -> &'static str {
        "json-rpc"
    }

    fn search_read(&self, query: SearchRead) -> BoxFuture<'_, Result<Vec<Value>, OdooError>> {
        Box::pin(async move {
            let mut kwargs = json!({"fields": query.fields, "context": query.context()});
            if let Some(limit) = query.limit {
                kwargs["limit"] = json!(limit);
            }
            records(self.execute_kw(&query.model, "search_read", json!([query.domain]), kwargs).await?)
        })
    }

    fn create(&self, model: &str, values: Value) -> BoxFuture<'_, Result<i64, OdooError>> {
        let model = model.to_string();
        Box::pin(async move { created_id(&self.execute_kw(&model, "create", json!([values]), json!({})).await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_json_rpc_layout() {
        let (db, uid, pw) = (json!("db"), json!(2), json!("pw"));
        let request = RpcRequest {
            jsonrpc: "2.0",
            method: "call",
            params: RpcParams { service: "object", method: "execute_kw", args: vec![&db, &uid, &pw] },
            id: 7,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"jsonrpc": "2.0", "method": "call", "params": {"service": "object", "method": "execute_kw", "args": ["db", 2, "pw"]}, "id": 7})
        );
    }

    #[test]
    fn answers_are_interpreted() {
        assert_eq!(interpret(json!({"jsonrpc": "2.0", "id": 1, "result": 5})), Ok(json!(5)));
        let denied = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
            "data": {"name": "odoo.exceptions.AccessDenied", "message": "Access Denied", "debug": "Traceback"}}});
        assert!(
            matches!(interpret(denied), Err(OdooError::Authentication(m)) if m.contains("Access Denied") && !m.contains("Traceback"))
        );
        let invalid = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
            "data": {"name": "builtins.ValueError", "message": "Invalid field 'foo' on model 'crm.lead'"}}});
        assert!(matches!(interpret(invalid), Err(OdooError::Rejected(m)) if m.contains("Invalid field")));
        assert!(matches!(interpret(json!({"jsonrpc": "2.0"})), Err(OdooError::Protocol(_))));
    }
}
