//! A secret setting (passwords, API keys, webhook keys): the one leaf type every feature that
//! holds a credential shares, so that none of them depends on the command line to get it; and
//! the one signer (HMAC-SHA256) of the staff's session cookies, the forms' CSRF tokens and the
//! chaos webhooks' bodies.
//!
//! May call: nothing else of the crate.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A secret setting: printed as `***` by `Debug` and `Display`, so it cannot reach a log line by
/// accident. `Secret::expose` is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// A key that signs with HMAC-SHA256. `Debug` prints `***`.
#[derive(Clone)]
pub(crate) struct SigningKey(Vec<u8>);

impl SigningKey {
    pub(crate) fn new(key: impl Into<Vec<u8>>) -> Self {
        Self(key.into())
    }

    /// A key of the process's own (32 random bytes): what it signs is valid until it stops.
    pub(crate) fn random() -> Self {
        Self::new(rand::random::<[u8; 32]>())
    }

    /// Lowercase hex of HMAC-SHA256(key, message).
    pub(crate) fn sign(&self, message: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is [`SigningKey::sign`] of `message`, compared in constant time.
    pub(crate) fn verifies(&self, message: &[u8], signature: &str) -> bool {
        self.sign(message).as_bytes().ct_eq(signature.as_bytes()).into()
    }
}

impl From<&Secret> for SigningKey {
    fn from(secret: &Secret) -> Self {
        Self::new(secret.expose().as_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_rfc_4231s_hmac_sha256_and_checked_whole() {
        // RFC 4231, test case 2.
        let key = SigningKey::new(*b"Jefe");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(key.sign(b"what do ya want for nothing?"), expected);
        assert!(key.verifies(b"what do ya want for nothing?", expected));
        assert!(!key.verifies(b"what do ya want for nothing?", &expected[..63]));
        assert!(!key.verifies(b"what do ya want for something?", expected));
        assert!(!SigningKey::random().verifies(b"what do ya want for nothing?", expected));
        assert_eq!(format!("{:?}", SigningKey::from(&Secret::new("Jefe"))), "SigningKey(***)");
    }
}
