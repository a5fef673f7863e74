//! Odoo's External JSON-2 API (Odoo 19 and later): `POST <url>/json/2/<model>/<method>` with a
//! JSON object of named parameters, `Authorization: bearer <API key>` and `X-Odoo-Database`.
//! Success is a 200 with the method's result as JSON; failure a 4xx/5xx with an error object
//! `{name, message, arguments, context, debug}` (401 for a bad key).
//!
//! May call: `crate::secret`.

use super::{Odoo, OdooError, SearchRead, created_id, describe_odoo_error, records, redact, transport_error};
use crate::secret::Secret;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

/// A JSON-2 client.
pub(crate) struct Json2 {
    http: reqwest::Client,
    base: String,
    database: String,
    api_key: Secret,
}

#[derive(Serialize)]
struct SearchReadBody<'a> {
    domain: &'a Value,
    fields: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    context: Value,
}

#[derive(Serialize)]
struct CreateBody<'a> {
    vals_list: [&'a Value; 1],
    context: Value,
}

impl Json2 {
    pub fn new(http: reqwest::Client, base: String, database: String, api_key: Secret) -> Self {
        Self { http, base, database, api_key }
    }

    /// The URL of a method: `<base>/json/2/<model>/<method>`.
    pub fn url(&self, model: &str, method: &str) -> String {
        format!("{}/json/2/{model}/{method}", self.base)
    }

    async fn call(&self, model: &str, method: &str, body: &impl Serialize) -> Result<Value, OdooError> {
        let mut request = self
            .http
            .post(self.url(model, method))
            .header(reqwest::header::AUTHORIZATION, format!("bearer {}", self.api_key.expose()))
            .json(body);
        if !self.database.is_empty() {
            request = request.header("X-Odoo-Database", &self.database);
        }
        let response = request.send().await.map_err(|e| transport_error(&e, &[&self.api_key]))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transport_error(&e, &[&self.api_key]))?;
        classify(status, &text).map_err(|error| match error {
            OdooError::Authentication(m) => OdooError::Authentication(redact(&m, &[&self.api_key])),
            OdooError::Rejected(m) => OdooError::Rejected(redact(&m, &[&self.api_key])),
            other => other,
        })
    }
}

/// Maps an answer to a result or the kind of failure.
fn classify(status: StatusCode, body: &str) -> Result<Value, OdooError> {
    if matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT) {
        return Err(OdooError::Unreachable(format!("HTTP {status} from the gateway in front of Odoo")));
    }
    let json: Option<Value> = serde_json::from_str(body).ok();
    if status.is_success() {
        return json.ok_or_else(|| OdooError::Protocol(format!("HTTP {status} without a JSON body")));
    }
    let (name, message) = json.as_ref().map(describe_odoo_error).unwrap_or_default();
    let detail = match (name.is_empty(), message.is_empty()) {
        (true, true) => format!("HTTP {status}"),
        (false, true) => format!("HTTP {status} {name}"),
        _ => format!("HTTP {status} {name}: {message}"),
    };
    if status == StatusCode::UNAUTHORIZED || name.ends_with("AccessDenied") {
        Err(OdooError::Authentication(format!("{detail} (check ODOO_API_KEY and ODOO_DB)")))
    } else if status == StatusCode::NOT_FOUND && json.is_none() {
        Err(OdooError::Protocol(format!("{detail}: is ODOO_URL an Odoo 19+ server?")))
    } else {
        Err(OdooError::Rejected(detail))
    }
}

impl Odoo for Json2 {
    fn api(&self) -> &'static str {
        "json-2"
    }

    fn search_read(&self, query: SearchRead) -> BoxFuture<'_, Result<Vec<Value>, OdooError>> {
        Box::pin(async move {
            let body = SearchReadBody {
                domain: &query.domain,
                fields: &query.fields,
                limit: query.limit,
                context: query.context(),
            };
            records(self.call(&query.model, "search_read", &body).await?)
        })
    }

    fn create(&self, model: &str, values: Value) -> BoxFuture<'_, Result<i64, OdooError>> {
        let model = model.to_string();
        Box::pin(async move {
            let body = CreateBody { vals_list: [&values], context: serde_json::json!({}) };
            created_id(&self.call(&model, "create", &body).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_named_parameters() {
        let domain = serde_json::json!([["code", "=", "CH"]]);
        let fields = vec!["id".to_string(), "name".to_string()];
        let body = SearchReadBody { domain: &domain, fields: &fields, limit: Some(1), context: serde_json::json!({}) };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"domain": [["code", "=", "CH"]], "fields": ["id", "name"], "limit": 1, "context": {}})
        );
        let values = serde_json::json!({"name": "x"});
        let body = CreateBody { vals_list: [&values], context: serde_json::json!({}) };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"vals_list": [{"name": "x"}], "context": {}})
        );
    }

    #[test]
    fn answers_are_classified_as_documented() {
        let unauthorized = r#"{"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey", "arguments": ["Invalid apikey", 401], "context": {}, "debug": "Traceback ..."}"#;
        match classify(StatusCode::UNAUTHORIZED, unauthorized) {
            Err(OdooError::Authentication(m)) => {
                assert!(m.contains("Invalid apikey") && !m.contains("Traceback"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let invalid = r#"{"name": "odoo.exceptions.ValidationError", "message": "bad country", "debug": ""}"#;
        assert!(
            matches!(classify(StatusCode::UNPROCESSABLE_ENTITY, invalid), Err(OdooError::Rejected(m)) if m.contains("bad country"))
        );
        assert!(matches!(classify(StatusCode::BAD_GATEWAY, "<html>"), Err(OdooError::Unreachable(_))));
        assert!(matches!(classify(StatusCode::NOT_FOUND, "<html>"), Err(OdooError::Protocol(_))));
        assert_eq!(classify(StatusCode::OK, "[1]"), Ok(serde_json::json!([1])));
        assert!(matches!(classify(StatusCode::OK, "<html>"), Err(OdooError::Protocol(_))));
    }
}
