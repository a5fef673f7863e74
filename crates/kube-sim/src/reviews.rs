//! The reviews a client asks about itself, answered in their `status` and never stored:
//! `authorization.k8s.io/v1` `SelfSubjectAccessReview` ("may I?", `kubectl auth can-i`) and
//! `SelfSubjectRulesReview` ("what may I?", `kubectl auth can-i --list`), and
//! `authentication.k8s.io/v1` `SelfSubjectReview` ("who am I?", `kubectl auth whoami`).
//!
//! They are decided by the same RBAC evaluation that guards every request (`crate::rbac`), for
//! the user the middleware authenticated (`crate::auth`). Without a token file everything is
//! allowed, so a review says so: allowed, `*` rules, and the user `system:anonymous`.
//!
//! kubectl's typed clients post them in protobuf (`crate::protobuf` reads them); the answer is
//! JSON, which they accept.
//!
//! May call: `crate::error`, `crate::field`, `crate::protobuf`, `crate::rbac`, `crate::resources`.

use crate::SimShared;
use crate::error::ApiError;
use crate::field::FieldError;
use crate::protobuf::{self, Kind, Message};
use crate::rbac::{self, Attributes, Decision, UserInfo};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use k8s_openapi::api::authentication::v1 as authn;
use k8s_openapi::api::authorization::v1 as authz;
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The reviews' routes; the resource paths' generic handlers would store them.
pub(crate) fn routes() -> Router<Arc<SimShared>> {
    Router::new()
        .route("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", post(access_review))
        .route("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", post(rules_review))
        .route("/apis/authentication.k8s.io/v1/selfsubjectreviews", post(who_am_i))
}

/// The user a request was authenticated as; `None` without a token file.
type Requester = Option<Extension<UserInfo>>;

/// `SelfSubjectAccessReview` in protobuf (`k8s.io/api/authorization/v1/generated.proto`).
const ACCESS_REVIEW: Message = &[(
    2,
    "spec",
    Kind::Message(&[
        (
            1,
            "resourceAttributes",
            Kind::Message(&[
                (1, "namespace", Kind::String),
                (2, "verb", Kind::String),
                (3, "group", Kind::String),
                (4, "version", Kind::String),
                (5, "resource", Kind::String),
                (6, "subresource", Kind::String),
                (7, "name", Kind::String),
            ]),
        ),
        (2, "nonResourceAttributes", Kind::Message(&[(1, "path", Kind::String), (2, "verb", Kind::String)])),
    ]),
)];
/// `SelfSubjectRulesReview` in protobuf.
const RULES_REVIEW: Message = &[(2, "spec", Kind::Message(&[(1, "namespace", Kind::String)]))];
/// `SelfSubjectReview` in protobuf: nothing to read but its type.
const SELF_REVIEW: Message = &[];

/// The request's object, from JSON or (as kubectl's typed clients send it) protobuf.
fn decode<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes, kind: &str, fields: Message) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let value = match content_type.split(';').next().unwrap_or_default().trim() {
        protobuf::MEDIA_TYPE => protobuf::decode(body, fields).map_err(|e| ApiError::bad_request(e.to_string()))?,
        "application/json" | "" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not a valid {kind}: {e}")))?,
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the request body is not a valid {kind}: {e}")))
}

fn created(value: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// 422 for a review's spec, as kube words it.
fn invalid(shared: &SimShared, group: &str, plural: &str, errors: &[FieldError]) -> ApiError {
    match shared.store.registry.find(group, "v1", plural) {
        Some(def) => ApiError::invalid(&def, "", errors),
        None => ApiError::bad_request(crate::field::join(errors)),
    }
}

/// What a `SelfSubjectAccessReview` asks, after kube's validation of its spec.
fn asked(shared: &SimShared, spec: &authz::SelfSubjectAccessReviewSpec) -> Result<Attributes, ApiError> {
    let invalid = |error| invalid(shared, "authorization.k8s.io", "selfsubjectaccessreviews", &[error]);
    match (&spec.resource_attributes, &spec.non_resource_attributes) {
        (Some(r), None) => Ok(Attributes {
            resource_request: true,
            verb: r.verb.clone().unwrap_or_default(),
            group: r.group.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            resource: r.resource.clone().unwrap_or_default(),
            subresource: r.subresource.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
            path: String::new(),
        }),
        (None, Some(n)) => Ok(Attributes {
            resource_request: false,
            verb: n.verb.clone().unwrap_or_default(),
            path: n.path.clone().unwrap_or_default(),
            ..Attributes::default()
        }),
        (Some(_), Some(n)) => Err(invalid(FieldError::invalid(
            "spec.nonResourceAttributes",
            format!(
                "&authorization.NonResourceAttributes{{Path:{:?}, Verb:{:?}}}",
                n.path.as_deref().unwrap_or_default(),
                n.verb.as_deref().unwrap_or_default()
            ),
            "cannot be specified in combination with resourceAttributes",
        ))),
        (None, None) => Err(invalid(FieldError::required(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ))),
    }
}

/// `POST .../selfsubjectaccessreviews`: whether the requester may do what the spec says.
async fn access_review(
    State(shared): State<Arc<SimShared>>,
    user: Requester,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut review: authz::SelfSubjectAccessReview = decode(&headers, &body, "SelfSubjectAccessReview", ACCESS_REVIEW)?;
    let attributes = asked(&shared, &review.spec)?;
    let Decision { allowed, reason } = match &user {
        Some(Extension(user)) => rbac::authorize(&shared.store, user, &attributes),
        None => Decision { allowed: true, reason: String::new() },
    };
    review.status = Some(authz::SubjectAccessReviewStatus {
        allowed,
        reason: (!reason.is_empty()).then_some(reason),
        ..Default::default()
    });
    Ok(created(review))
}

fn strings(list: &Option<Vec<String>>) -> Option<Vec<String>> {
    list.clone().filter(|l| !l.is_empty())
}

fn resource_rule(rule: &PolicyRule) -> authz::ResourceRule {
    authz::ResourceRule {
        verbs: rule.verbs.clone(),
        api_groups: strings(&rule.api_groups),
        resources: strings(&rule.resources),
        resource_names: strings(&rule.resource_names),
    }
}

fn non_resource_rule(rule: &PolicyRule) -> authz::NonResourceRule {
    authz::NonResourceRule { verbs: rule.verbs.clone(), non_resource_urls: strings(&rule.non_resource_urls) }
}

/// `POST .../selfsubjectrulesreviews`: everything the requester may do in `spec.namespace`.
async fn rules_review(
    State(shared): State<Arc<SimShared>>,
    user: Requester,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut review: authz::SelfSubjectRulesReview = decode(&headers, &body, "SelfSubjectRulesReview", RULES_REVIEW)?;
    let namespace = review.spec.namespace.clone().unwrap_or_default();
    let rules = match &user {
        Some(Extension(user)) => rbac::rules_for(&shared.store, user, &namespace),
        None => rbac::Rules {
            resource: vec![rbac::everything()],
            non_resource: vec![rbac::every_url()],
            ..Default::default()
        },
    };
    review.status = Some(authz::SubjectRulesReviewStatus {
        resource_rules: rules.resource.iter().map(resource_rule).collect(),
        non_resource_rules: rules.non_resource.iter().map(non_resource_rule).collect(),
        incomplete: false,
        evaluation_error: rules.evaluation_error,
    });
    Ok(created(review))
}

/// `POST .../selfsubjectreviews`: who the requester is.
async fn who_am_i(user: Requester, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let mut review: authn::SelfSubjectReview = if body.is_empty() {
        authn::SelfSubjectReview::default()
    } else {
        decode(&headers, &body, "SelfSubjectReview", SELF_REVIEW)?
    };
    let user = match user {
        Some(Extension(user)) => user,
        None => UserInfo {
            name: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
        },
    };
    review.status = Some(authn::SelfSubjectReviewStatus {
        user_info: Some(authn::UserInfo {
            username: Some(user.name),
            uid: (!user.uid.is_empty()).then_some(user.uid),
            groups: Some(user.groups),
            extra: None,
        }),
    });
    Ok(created(review))
}
