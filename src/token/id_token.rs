//! OpenID Connect id_tokens (Core 1.0 §2): who logged in, for which client, when, signed with the
//! key set's id_token key (RS256 by default, §15.1) and typed `JWT`, never `at+jwt`, so an
//! id_token is never accepted where an access token is expected.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{TokenCodec, TokenError, Verified};
use crate::keys::KeyAlgorithm;

/// The JOSE `typ` of id_tokens.
pub(crate) const ID_TOKEN_TYP: &str = "JWT";

/// The claims of an id_token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The issuer, byte-identical to discovery's `issuer`.
    pub iss: String,
    /// The user's stable id, the same `sub` as their access tokens.
    pub sub: String,
    /// The client the token is for.
    pub aud: String,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// When the user last entered their password (unix seconds).
    pub auth_time: i64,
    /// The authorization request's `nonce`, echoed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    /// The left half of the access token's hash (Core §3.1.3.6), base64url.
    pub at_hash: String,
}

/// `at_hash` of `access_token` for an id_token signed with `algorithm`: the left-most half of
/// the hash the algorithm uses (SHA-512 for Ed25519, as the OpenID errata settle it).
pub fn at_hash(access_token: &str, algorithm: KeyAlgorithm) -> String {
    let hash = match algorithm {
        KeyAlgorithm::HS384 => &digest::SHA384,
        KeyAlgorithm::HS512 | KeyAlgorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let digest = digest::digest(hash, access_token.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

impl TokenCodec {
    /// Validates an id_token this codec issued, presented back as an `id_token_hint` (OpenID
    /// RP-Initiated Logout 1.0 §2): the signature with one of the key set's keys, `typ: JWT`,
    /// and `iss`. Its expiry is not checked, as §2 allows: a user's browser session may well
    /// outlive the id_token the client was given at login.
    pub fn validate_id_token_hint(
        &self,
        token: &str,
    ) -> Result<Verified<IdTokenClaims>, TokenError> {
        let payload = self.verified_payload(token, ID_TOKEN_TYP)?;
        let claims: IdTokenClaims = serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("claims are not valid id_token claims"))?;
        if claims.iss != self.issuer() {
            return Err(TokenError::WrongIssuer);
        }
        Ok(Verified::new(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_openid_core_example() {
        // OpenID Connect Core 1.0, Appendix A.3 (RS256): this access token's at_hash.
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                KeyAlgorithm::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
