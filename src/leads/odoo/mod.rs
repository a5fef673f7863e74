//! The Odoo side of lead capture: one small [`Odoo`] trait with the two calls the booth needs
//! (`search_read` and `create`), and two implementations on reqwest: `json2::Json2` (Odoo 19+,
//! `POST /json/2/<model>/<method>` with an API key) and `jsonrpc::JsonRpc` (the legacy
//! `/jsonrpc` endpoint, `common.authenticate` + `object.execute_kw`, Odoo 16 to 21).
//!
//! Payloads are built with serde; every call has a timeout; errors say whether Odoo could not
//! be reached, refused our credentials, or refused the data, and never contain a secret.
//!
//! May call: `crate::http`, `crate::secret`.

pub mod json2;
pub mod jsonrpc;

use crate::secret::Secret;
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Why a call to Odoo failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdooError {
    /// No answer: connection refused, DNS, TLS, timeout, or a gateway saying Odoo is down.
    /// The call may or may not have been executed.
    #[error("Odoo is unreachable: {0}")]
    Unreachable(String),
    /// Odoo refused the API key or the username/password.
    #[error("Odoo refused the credentials: {0}")]
    Authentication(String),
    /// Odoo answered and refused the call (access rights, validation, unknown field, ...).
    #[error("Odoo rejected the request: {0}")]
    Rejected(String),
    /// Odoo answered something this client does not understand.
    #[error("unexpected answer from Odoo: {0}")]
    Protocol(String),
}

impl OdooError {
    /// A short machine-readable reason for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            OdooError::Unreachable(_) => "Unreachable",
            OdooError::Authentication(_) => "AuthenticationFailed",
            OdooError::Rejected(_) => "Rejected",
            OdooError::Protocol(_) => "ProtocolError",
        }
    }
}

/// A `search_read` call.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRead {
    pub model: String,
    /// An Odoo domain, e.g. `[["name", "=", "KubeCon"]]`.
    pub domain: Value,
    pub fields: Vec<String>,
    pub limit: Option<u32>,
    /// Also find archived records (`active_test: false`).
    pub include_archived: bool,
}

impl SearchRead {
    pub fn new(model: &str, domain: Value, fields: &[&str]) -> Self {
        Self {
            model: model.into(),
            domain,
            fields: fields.iter().map(|f| (*f).to_string()).collect(),
            limit: None,
            include_archived: false,
        }
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn include_archived(mut self) -> Self {
        self.include_archived = true;
        self
    }

    /// The `context` of the call.
    fn context(&self) -> Value {
        if self.include_archived { serde_json::json!({"active_test": false}) } else { serde_json::json!({}) }
    }
}

/// The calls the booth makes to Odoo.
pub trait Odoo: Send + Sync {
    /// Which API this client speaks (`json-2` or `json-rpc`), for logs and the settings page.
    fn api(&self) -> &'static str;
    fn search_read(&self, query: SearchRead) -> BoxFuture<'_, Result<Vec<Value>, OdooError>>;
    /// Creates one record and returns its id.
    fn create(&self, model: &str, values: Value) -> BoxFuture<'_, Result<i64, OdooError>>;
}

/// The id of the record of `model` whose `field` equals `value`, `None` when Odoo has none.
pub(crate) async fn find_id(odoo: &dyn Odoo, model: &str, field: &str, value: &str) -> Result<Option<i64>, OdooError> {
    let query = SearchRead::new(model, serde_json::json!([[field, "=", value]]), &["id"]).limit(1);
    let found = odoo.search_read(query).await?;
    Ok(found.first().and_then(|r| r.get("id")).and_then(Value::as_i64))
}

/// How to reach Odoo.
#[derive(Debug, Clone)]
pub struct OdooSettings {
    /// Base URL, e.g. `https://example.odoo.com`.
    pub url: String,
    pub database: String,
    pub username: String,
    pub password: Option<Secret>,
    /// With a key the JSON-2 API is used, otherwise the legacy JSON-RPC one.
    pub api_key: Option<Secret>,
    pub timeout: Duration,
}

/// Why an Odoo client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OdooSetupError {
    #[error("cannot build the HTTP client for Odoo: {0}")]
    Client(String),
}

/// The client the settings ask for: JSON-2 with an API key, JSON-RPC otherwise.
pub fn connect(settings: &OdooSettings) -> Result<Arc<dyn Odoo>, OdooSetupError> {
    let http = http_client(settings.timeout)?;
    let base = settings.url.trim_end_matches('/').to_string();
    Ok(match &settings.api_key {
        Some(key) => Arc::new(json2::Json2::new(http, base, settings.database.clone(), key.clone())),
        None => Arc::new(jsonrpc::JsonRpc::new(
            http,
            base,
            settings.database.clone(),
            settings.username.clone(),
            settings.password.clone().unwrap_or_else(|| Secret::new("")),
        )),
    })
}

/// A reqwest client with a total timeout per call (TLS: rustls with `ring`).
fn http_client(timeout: Duration) -> Result<reqwest::Client, OdooSetupError> {
    crate::http::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("conferenceli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OdooSetupError::Client(e.to_string()))
}

/// Describes a transport failure without the URL's query or any secret: "timed out",
/// "connection refused", ...
fn transport_error(error: &reqwest::Error, secrets: &[&Secret]) -> OdooError {
    let kind = if error.is_timeout() {
        "the call timed out".to_string()
    } else if error.is_connect() {
        format!("cannot connect ({})", crate::http::root_cause(error))
    } else {
        crate::http::root_cause(error)
    };
    OdooError::Unreachable(redact(&kind, secrets))
}

/// Replaces every occurrence of a secret in a message that came from elsewhere.
fn redact(message: &str, secrets: &[&Secret]) -> String {
    secrets
        .iter()
        .filter(|s| !s.expose().is_empty())
        .fold(message.to_string(), |text, secret| text.replace(secret.expose(), "***"))
}

/// Odoo's error objects (JSON-2 body, JSON-RPC `error.data`) as `name: message`, without the
/// traceback.
fn describe_odoo_error(error: &Value) -> (String, String) {
    let name = error.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    (name, message)
}

/// The id of a created record: Odoo answers a number, or a list of one for `create` of a list.
fn created_id(answer: &Value) -> Result<i64, OdooError> {
    match answer {
        Value::Number(n) => n.as_i64(),
        Value::Array(ids) if ids.len() == 1 => ids[0].as_i64(),
        _ => None,
    }
    .ok_or_else(|| OdooError::Protocol(format!("expected the id of the created record, got {answer}")))
}

fn records(answer: Value) -> Result<Vec<Value>, OdooError> {
    match answer {
        Value::Array(records) => Ok(records),
        other => Err(OdooError::Protocol(format!("expected a list of records, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_from_messages() {
        let key = Secret::new("hunter2");
        assert_eq!(redact("bad key hunter2 given", &[&key, &Secret::new("")]), "bad key *** given");
    }

    #[test]
    fn created_ids_come_as_a_number_or_a_list_of_one() {
        assert_eq!(created_id(&serde_json::json!(42)), Ok(42));
        assert_eq!(created_id(&serde_json::json!([42])), Ok(42));
        assert!(matches!(created_id(&serde_json::json!([1, 2])), Err(OdooError::Protocol(_))));
        assert!(matches!(created_id(&serde_json::json!(false)), Err(OdooError::Protocol(_))));
    }
}
