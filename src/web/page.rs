//! An HTML page as both listeners answer it: rendered once, never cached (every page is
//! per visitor or per staff member), with the CSRF cookie its form needs when one was issued.
//! A page is the body of a successful answer and of a refusal that shows a form again.
//!
//! May call: nothing else of the crate.

use super::error::PrivateError;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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

    /// Renders an askama template (a failure answers 500 through [`PrivateError`]).
    pub(crate) fn render(template: &impl Template) -> Result<Self, PrivateError> {
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
