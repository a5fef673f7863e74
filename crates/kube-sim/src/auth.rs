//! Authentication as kube-apiserver's static token file does it (`--token-auth-file`), and the
//! middleware that authenticates and authorises every request before it reaches a route.
//!
//! The file is kube's CSV: `token,user,uid` and an optional fourth column of comma-separated
//! groups (quoted: `"group1,group2"`); extra columns are ignored, lines with an empty token are
//! skipped, a token listed twice means its last line. A request names itself with
//! `Authorization: Bearer <token>`. With a token file, a request without a known token is 401
//! `Unauthorized` (kube-apiserver with `--anonymous-auth=false`: this simulation has no
//! anonymous user), and every other request is authorised by RBAC (`crate::rbac`) or refused
//! with kube's 403. Without one (the default, `conferenceli demo`), everything is allowed, as
//! kube-apiserver's `AlwaysAllow` authorizer does.
//!
//! May call: `crate::error`, `crate::rbac`.

use crate::SimShared;
use crate::error::ApiError;
use crate::rbac::{self, Attributes, UserInfo};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::path::Path;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The users of a static token file, by token.
#[derive(Clone, Default)]
pub struct TokenFile {
    users: Vec<(String, UserInfo)>,
}

/// Never prints a token: the users' names only.
impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.users.iter().map(|(_, user)| user.name.as_str()).collect();
        f.debug_struct("TokenFile").field("users", &names).finish()
    }
}

/// Why a token file cannot be used, in kube-apiserver's words where it has them.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the token file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("token file '{path}' must have at least 3 columns (token, user name, user uid), found {found}")]
    Columns { path: String, found: usize },
    #[error("token file '{path}': {message}")]
    Csv { path: String, message: String },
}

impl TokenFile {
    /// Reads the file at `path`.
    pub fn read(path: &Path) -> Result<Self, TokenFileError> {
        let display = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| TokenFileError::Read { path: display.clone(), source })?;
        Self::parse(&text, &display)
    }

    /// Parses the file's text (`path` names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<Self, TokenFileError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut file = Self::default();
        for (number, record) in reader.records().enumerate() {
            let record = record.map_err(|e| TokenFileError::Csv { path: path.into(), message: e.to_string() })?;
            if record.len() < 3 {
                return Err(TokenFileError::Columns { path: path.into(), found: record.len() });
            }
            if record[0].is_empty() {
                tracing::warn!(path, record = number + 1, "empty token in the token file: line skipped");
                continue;
            }
            let groups = record.get(3).map(|g| g.split(',').map(str::to_string).collect()).unwrap_or_default();
            file = file.with(&record[0], &record[1], &record[2], groups);
        }
        Ok(file)
    }

    /// Adds a user (a later line of the file: it wins over an earlier one with the same token).
    pub fn with(mut self, token: &str, user: &str, uid: &str, groups: Vec<String>) -> Self {
        let info = UserInfo { name: user.into(), uid: uid.into(), groups };
        self.users.retain(|(t, _)| t != token);
        self.users.push((token.into(), info));
        self
    }

    /// The user a token names. Every token is compared, in constant time, so the answer's
    /// timing tells nothing of how close a guess came.
    fn user(&self, token: &str) -> Option<&UserInfo> {
        let mut found = None;
        for (known, user) in &self.users {
            if bool::from(known.as_bytes().ct_eq(token.as_bytes())) {
                found = Some(user);
            }
        }
        found
    }

    /// The user of a request's `Authorization: Bearer <token>`, as authenticated.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Option<UserInfo> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
        let mut parts = value.splitn(3, ' ');
        let (scheme, token) = (parts.next()?, parts.next()?);
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        self.user(token).cloned().map(UserInfo::authenticated)
    }
}

/// 401 as kube-apiserver answers it.
fn unauthorized() -> ApiError {
    ApiError { code: 401, reason: "Unauthorized", message: "Unauthorized".into(), details: None }
}

/// The layer over every route: with a token file, authenticates the request (401), authorises
/// it by RBAC (403), and hands the user on to the handlers (the reviews answer about them).
pub(crate) async fn guard(State(shared): State<Arc<SimShared>>, mut request: Request, next: Next) -> Response {
    let Some(tokens) = &shared.tokens else { return next.run(request).await };
    let Some(user) = tokens.authenticate(request.headers()) else { return unauthorized().into_response() };
    let uri = request.uri();
    let attributes = Attributes::of_request(request.method().as_str(), uri.path(), uri.query());
    let decision = rbac::authorize(&shared.store, &user, &attributes);
    if !decision.allowed {
        return rbac::forbidden(&user, &attributes, &decision.reason).into_response();
    }
    request.extensions_mut().insert(user);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        headers
    }

    #[test]
    fn the_token_file_is_kube_apiservers_csv() {
        let text = "admin-token,admin,1,\"system:masters,ops\"\nbooth-token,system:serviceaccount:c:booth,2\n,ghost,3\n\nalice,alice,4,,extra\nalice,alice-again,5\n";
        let file = TokenFile::parse(text, "tokens.csv").unwrap();
        let admin = file.authenticate(&bearer("admin-token")).unwrap();
        assert_eq!(admin.name, "admin");
        assert_eq!(admin.groups, ["system:masters", "ops", "system:authenticated"]);
        let booth = file.authenticate(&bearer("booth-token")).unwrap();
        assert!(booth.groups.contains(&"system:serviceaccounts:c".to_string()));
        assert_eq!(file.authenticate(&bearer("alice")).unwrap().name, "alice-again", "the last line wins");
        assert!(file.authenticate(&bearer("")).is_none() && file.authenticate(&bearer("nope")).is_none());
        assert!(file.authenticate(&HeaderMap::new()).is_none());
        let mut basic = HeaderMap::new();
        basic.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic admin-token"));
        assert!(file.authenticate(&basic).is_none());
        let debug = format!("{file:?}");
        assert!(!debug.contains("admin-token") && !debug.contains("booth-token"), "{debug}");
        let short = TokenFile::parse("t,u\n", "f.csv").unwrap_err();
        assert_eq!(
            short.to_string(),
            "token file 'f.csv' must have at least 3 columns (token, user name, user uid), found 2"
        );
    }
}
