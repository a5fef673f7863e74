//! Query parameters as kube-apiserver reads and validates them: booleans, numbers, the list and
//! watch options (`watch`, `resourceVersion`, `resourceVersionMatch`, `sendInitialEvents`,
//! `allowWatchBookmarks`, `timeoutSeconds`, `limit`, `continue`) and the write options (`dryRun`,
//! `fieldManager`, `fieldValidation`, `force`), each refusal answered with the `Status` kube sends.
//!
//! Pure parsing, on the field errors, selectors and `Status` errors.
//!
//! May call: `crate::error`, `crate::field`, `crate::selectors`.

use crate::error::ApiError;
use crate::field::{FieldError, go_value};
use crate::selectors::{FieldSelector, LabelSelector, SelectableField, Selectors};
use axum::http::Uri;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// kube-apiserver's `--min-request-timeout` (1800 s): a watch without a client timeout lasts a
/// random time between this and twice this, so that watches do not all end together.
pub(crate) const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1800);

/// A boolean query parameter the way apimachinery converts it (`Convert_Slice_string_To_bool`):
/// absent, `false` (any case) and `0` are false; anything else, even an empty value, is true.
/// This is deliberately not `strconv.ParseBool`: kube-apiserver never answers 400 for a boolean.
pub(crate) fn query_bool(value: Option<&str>) -> Option<bool> {
    value.map(|v| !(v == "0" || v.eq_ignore_ascii_case("false")))
}

/// Query parameters, percent-decoded (the first of repeated keys wins, as in Go's `url.Values`
/// conversion, except `dryRun`, which is a list).
pub(crate) struct Params {
    values: HashMap<String, String>,
    dry_run: Vec<String>,
}

impl Params {
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self, ApiError> {
        Self::parse(uri.query().unwrap_or(""))
    }

    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        let mut values = HashMap::new();
        let mut dry_run = Vec::new();
        for (key, value) in pairs {
            if key == "dryRun" {
                dry_run.push(value.clone());
            }
            values.entry(key).or_insert(value);
        }
        Ok(Self { values, dry_run })
    }

    /// A parameter that is present, even if empty.
    fn raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A parameter with a non-empty value.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.raw(key).filter(|v| !v.is_empty())
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        query_bool(self.raw(key)).unwrap_or(false)
    }

    /// A number as Go's `strconv` reads it; anything else is 400 BadRequest.
    pub(crate) fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "strconv.ParseInt: parsing {v:?}: invalid syntax (query parameter {key})"
                    ))
                })
            })
            .transpose()
    }

    /// The label and field selectors, for a resource whose field selectors may name `fields`.
    pub(crate) fn selectors(&self, fields: &[SelectableField]) -> Result<Selectors, ApiError> {
        let labels = LabelSelector::parse(self.get("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse labelSelector: {e}")))?;
        let fields = FieldSelector::parse(self.get("fieldSelector").unwrap_or(""), fields)
            .map_err(|e| ApiError::bad_request(format!("unable to parse fieldSelector: {e}")))?;
        Ok(Selectors { labels, fields })
    }
}

/// How a list or watch wants its resource version honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionMatch {
    /// No `resourceVersionMatch`: the legacy meaning of `resourceVersion` alone.
    Unset,
    NotOlderThan,
    Exact,
}

/// A GET on a collection, after kube's `ValidateListOptions`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListOptions {
    pub watch: bool,
    /// `None` when absent or empty; `Some(0)` for `"0"` ("any version").
    pub resource_version: Option<u64>,
    pub(crate) version_match: VersionMatch,
    pub(crate) send_initial_events: Option<bool>,
    pub(crate) allow_bookmarks: bool,
    pub(crate) timeout_seconds: Option<u64>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl ListOptions {
    /// Reads and validates the list/watch options; invalid combinations are 422 Invalid for
    /// `ListOptions.meta.k8s.io`, unparsable values 400 BadRequest, as kube-apiserver answers.
    pub(crate) fn parse(params: &Params, watch: bool) -> Result<Self, ApiError> {
        let rv_text = params.get("resourceVersion");
        let resource_version = match rv_text {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version {text:?}: must be an unsigned integer"))
            })?),
        };
        let match_text = params.get("resourceVersionMatch");
        let send_initial_events = query_bool(params.raw("sendInitialEvents"));
        let continue_token = params.get("continue").map(str::to_string);
        let version_match = match match_text {
            None => VersionMatch::Unset,
            Some("NotOlderThan") => VersionMatch::NotOlderThan,
            Some("Exact") => VersionMatch::Exact,
            Some(_) => VersionMatch::Unset,
        };
        let mut options = Self {
            watch,
            resource_version,
            version_match,
            send_initial_events,
            allow_bookmarks: params.flag("allowWatchBookmarks"),
            timeout_seconds: None,
            limit: None,
            continue_token,
        };
        let errors = if watch { options.watch_errors(match_text) } else { options.list_errors(match_text) };
        if !errors.is_empty() {
            return Err(ApiError::invalid_options("ListOptions", &errors));
        }
        options.timeout_seconds = params.number("timeoutSeconds")?;
        options.limit = params.number::<i64>("limit")?.filter(|l| *l > 0).map(|l| l as usize);
        Ok(options)
    }

    /// What `ValidateListOptions` refuses of a watch's options; `match_text` is the
    /// `resourceVersionMatch` as sent.
    fn watch_errors(&self, match_text: Option<&str>) -> Vec<FieldError> {
        const FIELD: &str = "resourceVersionMatch";
        let mut errors = Vec::new();
        if self.send_initial_events.is_some() && self.version_match != VersionMatch::NotOlderThan {
            errors.push(FieldError::forbidden(
                FIELD,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if let Some(text) = match_text {
            if self.send_initial_events.is_none() {
                errors.push(FieldError::forbidden(
                    FIELD,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if self.version_match != VersionMatch::NotOlderThan {
                errors.push(FieldError::not_supported(FIELD, go_value(&json!(text)), &["NotOlderThan"]));
            }
            if self.continue_token.is_some() {
                errors
                    .push(FieldError::forbidden(FIELD, "resourceVersionMatch is forbidden when continue is provided"));
            }
        }
        errors
    }

    /// What `ValidateListOptions` refuses of a list's options; `match_text` is the
    /// `resourceVersionMatch` as sent.
    fn list_errors(&self, match_text: Option<&str>) -> Vec<FieldError> {
        const FIELD: &str = "resourceVersionMatch";
        let mut errors = Vec::new();
        if let Some(text) = match_text {
            if self.resource_version.is_none() {
                errors.push(FieldError::forbidden(
                    FIELD,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if self.continue_token.is_some() {
                errors
                    .push(FieldError::forbidden(FIELD, "resourceVersionMatch is forbidden when continue is provided"));
            }
            if self.version_match == VersionMatch::Unset {
                errors.push(FieldError::not_supported(FIELD, go_value(&json!(text)), &["Exact", "NotOlderThan", ""]));
            }
            if self.version_match == VersionMatch::Exact && self.resource_version == Some(0) {
                errors.push(FieldError::forbidden(
                    FIELD,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if self.send_initial_events.is_some() {
            errors.push(FieldError::forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
        }
        errors
    }

    /// How long a watch may stay open: the client's `timeoutSeconds`, or with none (or 0) the
    /// server's own, between [`MIN_REQUEST_TIMEOUT`] and twice that, picked at random.
    pub(crate) fn watch_timeout(&self) -> Duration {
        match self.timeout_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds),
            _ => MIN_REQUEST_TIMEOUT.mul_f64(1.0 + rand::random::<f64>()),
        }
    }
}

/// How unknown or duplicate fields in a body are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// The options of a create, update, patch or delete.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WriteOptions {
    pub dry_run: bool,
    pub(crate) field_manager: Option<String>,
    pub(crate) field_validation: FieldValidation,
    pub force: bool,
}

/// Which request the write options belong to (the `kind` of their Invalid `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteVerb {
    Create,
    Update,
    Patch { apply: bool },
    Delete,
}

impl WriteVerb {
    fn options_kind(self) -> &'static str {
        match self {
            Self::Create => "CreateOptions",
            Self::Update => "UpdateOptions",
            Self::Patch { .. } => "PatchOptions",
            Self::Delete => "DeleteOptions",
        }
    }
}

impl WriteOptions {
    /// Reads and validates the write options as kube's `ValidateCreateOptions` and friends do:
    /// `dryRun` only `All`, `fieldManager` at most 128 printable characters and required for
    /// apply, `force` only on apply, `fieldValidation` one of `Ignore`, `Warn`, `Strict`.
    pub(crate) fn parse(params: &Params, verb: WriteVerb) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let dry_run: Vec<&str> = params.dry_run.iter().map(String::as_str).filter(|v| !v.is_empty()).collect();
        if dry_run.iter().any(|v| *v != "All") {
            let listed: Vec<String> = dry_run.iter().map(|v| format!("{v:?}")).collect();
            errors.push(FieldError::not_supported("dryRun", format!("[]string{{{}}}", listed.join(", ")), &["All"]));
        }
        let field_manager = params.get("fieldManager").map(str::to_string);
        if verb != WriteVerb::Delete {
            match &field_manager {
                Some(manager) if manager.chars().count() > 128 => {
                    errors.push(FieldError::too_long("fieldManager", 128));
                }
                Some(manager) if manager.chars().any(char::is_control) => errors.push(FieldError::invalid(
                    "fieldManager",
                    go_value(&json!(manager)),
                    "must be made of printable characters",
                )),
                None if verb == (WriteVerb::Patch { apply: true }) => {
                    errors.push(FieldError::required("fieldManager", "is required for apply patch"));
                }
                _ => {}
            }
        }
        let force = query_bool(params.raw("force"));
        if force.is_some() && !matches!(verb, WriteVerb::Patch { apply: true }) {
            errors.push(FieldError::forbidden("force", "may not be specified for non-apply patch"));
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid_options(verb.options_kind(), &errors));
        }
        let field_validation = match params.get("fieldValidation") {
            None | Some("Warn") => FieldValidation::Warn,
            Some("Ignore") => FieldValidation::Ignore,
            Some("Strict") => FieldValidation::Strict,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got {other:?}"
                )));
            }
        };
        Ok(Self { dry_run: !dry_run.is_empty(), field_manager, field_validation, force: force.unwrap_or(false) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(query: &str, watch: bool) -> Result<ListOptions, ApiError> {
        ListOptions::parse(&Params::parse(query).unwrap(), watch)
    }

    fn causes(error: ApiError) -> Vec<String> {
        error
            .details
            .unwrap()
            .causes
            .iter()
            .map(|c| format!("{}: {}", c["field"].as_str().unwrap(), c["message"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn booleans_are_false_only_when_absent_false_or_zero() {
        for yes in ["1", "t", "T", "true", "True", "TRUE", "yes", ""] {
            assert_eq!(query_bool(Some(yes)), Some(true), "{yes:?}");
        }
        for no in ["0", "false", "False", "FALSE", "fAlSe"] {
            assert_eq!(query_bool(Some(no)), Some(false), "{no:?}");
        }
        assert_eq!(query_bool(None), None);
        assert!(Params::parse("watch=True").unwrap().flag("watch"));
        assert!(!Params::parse("watch=0").unwrap().flag("watch"));
        assert!(!Params::parse("").unwrap().flag("watch"));
    }

    #[test]
    fn watch_timeout_zero_or_absent_is_the_servers_own() {
        for query in ["", "timeoutSeconds=0"] {
            let timeout = list(query, true).unwrap().watch_timeout();
            assert!(timeout >= MIN_REQUEST_TIMEOUT && timeout <= MIN_REQUEST_TIMEOUT * 2, "{query}: {timeout:?}");
        }
        assert_eq!(list("timeoutSeconds=7", true).unwrap().watch_timeout(), Duration::from_secs(7));
        assert_eq!(list("timeoutSeconds=soon", true).unwrap_err().code, 400);
    }

    #[test]
    fn list_rules_for_resource_version_match() {
        assert_eq!(
            list("resourceVersion=5&resourceVersionMatch=Exact", false).unwrap().version_match,
            VersionMatch::Exact
        );
        assert_eq!(
            list("resourceVersion=0&resourceVersionMatch=NotOlderThan", false).unwrap().resource_version,
            Some(0)
        );
        let e = list("resourceVersionMatch=Exact", false).unwrap_err();
        assert_eq!((e.code, e.reason), (422, "Invalid"));
        assert_eq!(
            causes(e.clone()),
            ["resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"]
        );
        assert!(
            e.message.starts_with(r#"ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden"#),
            "{}",
            e.message
        );
        assert_eq!(
            causes(list("resourceVersion=0&resourceVersionMatch=Exact", false).unwrap_err()),
            [r#"resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0""#]
        );
        assert_eq!(
            causes(list("resourceVersion=1&resourceVersionMatch=Newest", false).unwrap_err()),
            [r#"resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", """#]
        );
        assert_eq!(
            causes(list("resourceVersion=1&resourceVersionMatch=Exact&continue=abc", false).unwrap_err()),
            ["resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"]
        );
        assert_eq!(
            causes(list("sendInitialEvents=true", false).unwrap_err()),
            ["sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"]
        );
        assert_eq!(list("resourceVersion=abc", false).unwrap_err().code, 400);
    }

    #[test]
    fn watch_rules_for_send_initial_events() {
        let ok =
            list("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", true).unwrap();
        assert_eq!((ok.send_initial_events, ok.allow_bookmarks), (Some(true), true));
        assert_eq!(
            causes(list("resourceVersionMatch=NotOlderThan", true).unwrap_err()),
            [
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
            ]
        );
        assert_eq!(
            causes(list("sendInitialEvents=true", true).unwrap_err()),
            [
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            ]
        );
        assert_eq!(
            causes(list("sendInitialEvents=true&resourceVersionMatch=Exact", true).unwrap_err()),
            [
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                r#"resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan""#
            ]
        );
    }

    #[test]
    fn write_options_are_validated() {
        let write = |query: &str, verb| WriteOptions::parse(&Params::parse(query).unwrap(), verb);
        assert!(write("dryRun=All", WriteVerb::Create).unwrap().dry_run);
        assert!(!write("", WriteVerb::Create).unwrap().dry_run);
        let e = write("dryRun=Yes", WriteVerb::Create).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with(r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: supported values: "All""#), "{}", e.message);
        assert_eq!(
            causes(write("", WriteVerb::Patch { apply: true }).unwrap_err()),
            ["fieldManager: Required value: is required for apply patch"]
        );
        assert_eq!(
            causes(write(&format!("fieldManager={}", "m".repeat(129)), WriteVerb::Update).unwrap_err()),
            ["fieldManager: Too long: may not be more than 128 bytes"]
        );
        assert_eq!(causes(write("fieldManager=a%0Ab", WriteVerb::Update).unwrap_err()).len(), 1);
        assert_eq!(
            causes(write("force=true", WriteVerb::Patch { apply: false }).unwrap_err()),
            ["force: Forbidden: may not be specified for non-apply patch"]
        );
        let apply = write("fieldManager=kubectl&force=true", WriteVerb::Patch { apply: true }).unwrap();
        assert!(apply.force && apply.field_manager.as_deref() == Some("kubectl"));
        assert_eq!(
            write("fieldValidation=Strict", WriteVerb::Create).unwrap().field_validation,
            FieldValidation::Strict
        );
        assert_eq!(write("fieldValidation=Loose", WriteVerb::Create).unwrap_err().code, 400);
    }
}
