//! Cross-site request forgery protection for every form (the visitors' contact form, `/config`,
//! the control panel): the signed double-submit cookie pattern.
//!
//! A page with a form sets a random cookie and embeds `HMAC-SHA256(key, cookie)` as a hidden
//! field; a POST is accepted only when the field matches the cookie it came with. Another site
//! can make a browser send the cookie but can neither read it nor compute the field, and the
//! cookie is `SameSite=Strict` and `HttpOnly` on top. The key is per process unless configured,
//! so a restart invalidates open forms: they answer 403 and the visitor reloads.
//!
//! May call: `crate::secret`.

use crate::secret::SigningKey;
use axum::http::{HeaderMap, header};

/// The hidden form field that carries the token.
pub(crate) const FIELD: &str = "csrf_token";
const COOKIE: &str = "conferenceli_csrf";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    #[error("the form's security token is missing; reload the page and submit again")]
    Missing,
    #[error("the form's security token is not valid; reload the page and submit again")]
    Invalid,
}

/// Issues and checks tokens with one key.
#[derive(Clone)]
pub struct Csrf {
    key: SigningKey,
}

/// What a page with a form needs: the token for the hidden field and, for a new visitor, the
/// cookie to set.
pub(crate) struct IssuedToken {
    pub token: String,
    pub set_cookie: Option<String>,
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

impl Csrf {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key: SigningKey::new(key) }
    }

    /// A key of the process's own, for when none is configured.
    pub fn random() -> Self {
        Self::new(rand::random())
    }

    fn sign(&self, cookie: &str) -> String {
        self.key.sign(cookie.as_bytes())
    }

    /// The token for this request's cookie, or a new cookie and its token. `secure` adds the
    /// `Secure` attribute (the page is served over HTTPS, e.g. through the tunnel).
    pub(crate) fn issue(&self, headers: &HeaderMap, secure: bool) -> IssuedToken {
        match cookie_value(headers, COOKIE).filter(|c| c.len() == 32 && c.chars().all(|ch| ch.is_ascii_hexdigit())) {
            Some(cookie) => IssuedToken { token: self.sign(&cookie), set_cookie: None },
            None => {
                let cookie = hex::encode(rand::random::<[u8; 16]>());
                let secure = if secure { "; Secure" } else { "" };
                IssuedToken {
                    token: self.sign(&cookie),
                    set_cookie: Some(format!("{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict{secure}")),
                }
            }
        }
    }

    /// Checks a submitted token against the request's cookie, in constant time.
    pub fn verify(&self, headers: &HeaderMap, submitted: Option<&str>) -> Result<(), CsrfError> {
        let submitted = submitted.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
        let cookie = cookie_value(headers, COOKIE).ok_or(CsrfError::Missing)?;
        if self.key.verifies(cookie.as_bytes(), submitted) { Ok(()) } else { Err(CsrfError::Invalid) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).unwrap());
        headers
    }

    #[test]
    fn a_token_is_valid_only_with_its_cookie_and_key() {
        let csrf = Csrf::random();
        let issued = csrf.issue(&HeaderMap::new(), true);
        let cookie = issued.set_cookie.expect("a new visitor gets a cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Secure"));
        let headers = with_cookie(&cookie);
        assert_eq!(csrf.verify(&headers, Some(&issued.token)), Ok(()));
        assert_eq!(csrf.issue(&headers, false).token, issued.token, "same cookie, same token");
        assert_eq!(csrf.verify(&headers, Some("00")), Err(CsrfError::Invalid));
        assert_eq!(csrf.verify(&headers, None), Err(CsrfError::Missing));
        assert_eq!(csrf.verify(&HeaderMap::new(), Some(&issued.token)), Err(CsrfError::Missing));
        assert_eq!(Csrf::random().verify(&headers, Some(&issued.token)), Err(CsrfError::Invalid));
    }
}
