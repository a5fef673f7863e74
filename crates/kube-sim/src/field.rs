//! Field errors as kube-apiserver words them (apimachinery's `field.Error`): a path, a type, the
//! offending value and a detail, rendered as `spec.x: Unsupported value: "y": supported values:
//! "a", "b"` and carried in a `Status`'s `details.causes`.
//!
//! It may call nothing else of the crate.
//!
//! May call: nothing else of the crate.

use serde_json::{Value, json};

/// The kinds of field errors the simulated API reports, with their `Status` cause reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    NotSupported,
    Invalid,
    TypeInvalid,
    Forbidden,
    TooLong,
    TooMany,
    Duplicate,
}

impl FieldErrorKind {
    /// The `reason` of the `Status` cause (apimachinery's `field.ErrorType`).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Invalid => "FieldValueInvalid",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Duplicate => "FieldValueDuplicate",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::NotSupported => "Unsupported value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Duplicate => "Duplicate value",
        }
    }
}

/// One field error.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    /// The offending value, already written as kube prints it (`"x"`, `5`, `[]string{"x"}`).
    pub value: Option<String>,
    pub detail: String,
}

/// A value as Go's `%#v`/`%q` prints it in field errors: strings quoted, numbers bare.
pub(crate) fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".into(),
        other => other.to_string(),
    }
}

impl FieldError {
    pub(crate) fn required(field: &str, detail: &str) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Required, value: None, detail: detail.into() }
    }

    pub(crate) fn forbidden(field: &str, detail: &str) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Forbidden, value: None, detail: detail.into() }
    }

    /// `Unsupported value: "x": supported values: "a", "b"`
    pub(crate) fn not_supported(field: &str, value: String, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self { field: field.into(), kind: FieldErrorKind::NotSupported, value: Some(value), detail }
    }

    pub fn invalid(field: &str, value: String, detail: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Invalid, value: Some(value), detail: detail.into() }
    }

    pub(crate) fn type_invalid(field: &str, value: String, detail: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::TypeInvalid, value: Some(value), detail: detail.into() }
    }

    pub fn too_long(field: &str, max: usize) -> Self {
        let detail = format!("may not be more than {max} bytes");
        Self { field: field.into(), kind: FieldErrorKind::TooLong, value: None, detail }
    }

    pub fn too_many(field: &str, actual: usize, max: usize) -> Self {
        let detail = format!("must have at most {max} items");
        Self { field: field.into(), kind: FieldErrorKind::TooMany, value: Some(actual.to_string()), detail }
    }

    pub fn duplicate(field: &str, value: String) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Duplicate, value: Some(value), detail: String::new() }
    }

    /// The text after the path: `Unsupported value: "x": supported values: "a"`.
    pub fn body(&self) -> String {
        let mut text = self.kind.label().to_string();
        if let Some(value) = &self.value {
            text.push_str(": ");
            text.push_str(value);
        }
        if !self.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&self.detail);
        }
        text
    }

    /// The `Status` cause for this error.
    pub(crate) fn cause(&self) -> Value {
        json!({"reason": self.kind.reason(), "message": self.body(), "field": self.field})
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// The list as kube joins it in an Invalid message: one error bare, several in `[a, b]`.
pub fn join(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!("[{}]", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_like_apimachinery() {
        let e = FieldError::not_supported("spec.voucherType", go_value(&json!("x")), &["none", "appuio", "servala"]);
        assert_eq!(
            e.to_string(),
            r#"spec.voucherType: Unsupported value: "x": supported values: "none", "appuio", "servala""#
        );
        assert_eq!(e.cause()["reason"], "FieldValueNotSupported");
        assert_eq!(e.cause()["field"], "spec.voucherType");
        let r = FieldError::required("spec.code", "");
        assert_eq!(r.to_string(), "spec.code: Required value");
        assert_eq!(join(&[r.clone(), r]), "[spec.code: Required value, spec.code: Required value]");
        let t = FieldError::type_invalid(
            "spec.n",
            go_value(&json!("string")),
            "spec.n in body must be of type integer: \"string\"",
        );
        assert_eq!(
            t.to_string(),
            r#"spec.n: Invalid value: "string": spec.n in body must be of type integer: "string""#
        );
    }
}
