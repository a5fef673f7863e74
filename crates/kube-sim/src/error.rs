//! The API's errors, answered as Kubernetes `Status` objects with kube-apiserver's reasons,
//! messages and causes.
//!
//! May call: `crate::field`, `crate::resources`.

use crate::field::{self, FieldError};
use crate::resources::ResourceDef;
use serde_json::{Map, Value, json};

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
    /// When the client may try again (`retryAfterSeconds`, and the `Retry-After` header); 0: not said.
    pub retry_after_seconds: u32,
}

impl Details {
    fn of(def: &ResourceDef, name: &str) -> Option<Box<Self>> {
        Some(Box::new(Self {
            name: name.into(),
            group: def.group.clone(),
            kind: def.plural.clone(),
            ..Self::default()
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
                ..Details::default()
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

    /// 429 TooManyRequests (`errors.NewTooManyRequests`) with its causes, `retry_after_seconds`
    /// 0 when the server suggests no wait.
    pub(crate) fn too_many_requests(message: &str, causes: Vec<Value>, retry_after_seconds: u32) -> Self {
        Self {
            code: 429,
            reason: "TooManyRequests",
            message: message.into(),
            details: Some(Box::new(Details { causes, retry_after_seconds, ..Details::default() })),
        }
    }

    /// 403 Forbidden: `<resource>.<group> "<name>" is forbidden: <why>`, the resource named
    /// as the code that refuses names it (kube's eviction says `poddisruptionbudget`).
    pub(crate) fn forbidden(resource: &str, group: &str, name: &str, why: &str) -> Self {
        let qualified = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
        Self {
            code: 403,
            reason: "Forbidden",
            message: format!("{qualified} {name:?} is forbidden: {why}"),
            details: Some(Box::new(Details {
                name: name.into(),
                group: group.into(),
                kind: resource.into(),
                ..Details::default()
            })),
        }
    }

    /// A failure a handler answers with a `Status` of its own making: a code and a message, no
    /// reason (kube's eviction does this for a pod under two disruption budgets).
    pub(crate) fn failure(code: u16, message: impl Into<String>) -> Self {
        Self { code, reason: "", message: message.into(), details: None }
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
            "message": self.message, "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
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
            if details.retry_after_seconds > 0 {
                d.insert("retryAfterSeconds".into(), json!(details.retry_after_seconds));
            }
            status["details"] = Value::Object(d);
        }
        status
    }
}
