//! The answers both listeners build their bodies from: an HTML page, rendered once, never cached
//! (every page is per visitor or per staff member), with the CSRF cookie its form needs when one
//! was issued; a visitor's page of a title and a message, in their language; and the JSON
//! `{"message"}` the staff's scripts read (`jq .message`). A page is the body of a successful
//! answer and of a refusal that shows a form again.
//!
//! A leaf of `web`: the handlers and `web::error` build their answers from it, and it names no
//! other file of `web`, so errors never need a handler.
//!
//! May call: `crate::visitor`.

use crate::visitor::i18n::{Lang, Text};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use serde::Serialize;

/// A rendered page and the `Set-Cookie` value that goes with it.
#[derive(Debug)]
pub(crate) struct Page {
    html: String,
    set_cookie: Option<String>,
}

impl Page {
    /// A page of already rendered HTML.
    pub(crate) fn new(html: String) -> Self {
        Self { html, set_cookie: None }
    }

    /// Renders an askama template (a staff page: `?` turns a failure into `web::error`'s 500).
    pub(crate) fn render(template: &impl Template) -> Result<Self, askama::Error> {
        Ok(Self::new(template.render()?))
    }

    /// The page with the CSRF cookie, when a new one was issued.
    pub(crate) fn with_cookie(self, set_cookie: Option<String>) -> Self {
        Self { set_cookie, ..self }
    }

    /// The answer with `status`.
    pub(crate) fn with_status(self, status: StatusCode) -> Response {
        let mut response = (status, [(header::CACHE_CONTROL, "no-store")], Html(self.html)).into_response();
        if let Some(cookie) = self.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        self.with_status(StatusCode::OK)
    }
}

/// A visitor's page; a template that fails shows a short apology with the intended status
/// rather than nothing.
pub(crate) fn render(template: &impl Template) -> Page {
    match template.render() {
        Ok(html) => Page::new(html),
        Err(error) => {
            tracing::error!(%error, "rendering a form page failed");
            Page::new("<!doctype html><title>Error</title><p>This page could not be shown.</p>".into())
        }
    }
}

#[derive(Template)]
#[template(path = "form_problem.html")]
struct ProblemPage {
    t: Lang,
    title: String,
    message: String,
}

/// A visitor's page of a title and a message with `status` (a refusal, or a press that worked).
pub(crate) fn problem(status: StatusCode, t: Lang, title: Text, message: impl Into<String>) -> Response {
    render(&ProblemPage { t, title: t.t(title).into(), message: message.into() }).with_status(status)
}

/// The staff's JSON answers: `{"message"}`, and the night mode's answers say the mode in force.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Message {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub night_mode: Option<bool>,
}

/// A JSON `{"message"}` answer with `status`.
pub(crate) fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(Message { message: text.into(), night_mode: None })).into_response()
}
