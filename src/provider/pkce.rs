//! PKCE (RFC 7636), `S256` only: RFC 9700 §2.1.1 requires it of every client, and `plain`
//! protects nothing once the authorization request leaks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The `code_challenge_method` accepted.
pub const S256: &str = "S256";

/// Why a challenge or verifier is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// No `code_challenge`.
    #[error("code_challenge is required")]
    MissingChallenge,
    /// No `code_challenge_method`, or one other than `S256` (`plain` included).
    #[error("code_challenge_method must be S256")]
    MethodNotS256,
    /// A challenge that is not 43 base64url characters (a SHA-256 digest).
    #[error("code_challenge is not a base64url SHA-256 digest")]
    MalformedChallenge,
    /// A verifier outside RFC 7636 §4.1: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
    #[error("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedVerifier,
    /// `BASE64URL(SHA256(verifier))` is not the challenge.
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// A checked `S256` code challenge, as stored with an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Checks the `/authorize` parameters: the challenge must be present, its method `S256`.
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.ok_or(PkceError::MissingChallenge)?;
        if method != Some(S256) {
            return Err(PkceError::MethodNotS256);
        }
        let digest_len = URL_SAFE_NO_PAD.decode(challenge).map(|d| d.len());
        if challenge.len() != 43 || digest_len != Ok(32) {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// A challenge read back from a store: the same shape check as [`Self::from_request`].
    pub fn from_stored(challenge: &str) -> Option<Self> {
        Self::from_request(Some(challenge), Some(S256)).ok()
    }

    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks the token request's `code_verifier` against this challenge, in constant time.
    pub fn verify(&self, verifier: &str) -> Result<(), PkceError> {
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
            return Err(PkceError::MalformedVerifier);
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if bool::from(computed.as_bytes().ct_eq(self.0.as_bytes())) {
            Ok(())
        } else {
            Err(PkceError::Mismatch)
        }
    }

    /// The challenge of `verifier`, as a client computes it (for clients and tests).
    pub fn of_verifier(verifier: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
    }
}

impl crate::store::CodeGrant {
    /// The challenge as the checked type.
    pub fn challenge(&self) -> Result<CodeChallenge, crate::store::StoreError> {
        CodeChallenge::from_stored(&self.code_challenge)
            .ok_or_else(|| crate::store::StoreError::Corrupt("authorization code challenge".into()))
    }
}
