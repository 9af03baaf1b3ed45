//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser
//! that has logged in as a user carries a token saying so, signed by this server, and is exempt
//! from the per-username lock that anyone elsewhere can trigger by guessing that user's
//! password. The token names the username by its SHA-256, so the cookie does not carry it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Duration;

use super::{TokenCodec, TokenError};

/// The JOSE `typ` of device tokens: never an access, refresh or id_token.
const DEVICE_TYP: &str = "device+jwt";

#[derive(Serialize, Deserialize)]
struct DeviceClaims {
    iss: String,
    /// SHA-256 of the username, hex.
    sub: String,
    iat: i64,
    exp: i64,
}

fn username_digest(username: &str) -> String {
    Sha256::digest(username.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TokenCodec {
    /// A device token for a browser that has just logged in as `username`, valid for
    /// `lifetime`.
    pub(crate) fn issue_device_token(
        &self,
        username: &str,
        lifetime: Duration,
    ) -> Result<String, TokenError> {
        let now = self.clock().now().unix_timestamp();
        let claims = DeviceClaims {
            iss: self.issuer().to_owned(),
            sub: username_digest(username),
            iat: now,
            exp: now.saturating_add(lifetime.whole_seconds()),
        };
        self.sign_typed(&claims, DEVICE_TYP)
    }

    /// Whether `token` is an unexpired device token of this issuer for `username`.
    pub(crate) fn device_token_names(&self, token: &str, username: &str) -> bool {
        let Ok(payload) = self.verified_payload(token, DEVICE_TYP) else {
            return false;
        };
        let Ok(claims) = serde_json::from_slice::<DeviceClaims>(&payload) else {
            return false;
        };
        let now = self.clock().now().unix_timestamp();
        claims.iss == self.issuer() && now < claims.exp && claims.sub == username_digest(username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, KeySet};

    fn new_codec(issuer: &str) -> TokenCodec {
        TokenCodec::builder(
            KeySet::generate(KeyAlgorithm::EdDSA).unwrap(),
            issuer,
            "api",
        )
        .build()
        .unwrap()
    }

    #[test]
    fn a_device_token_names_its_user_only_and_only_here() {
        let codec = new_codec("https://auth.example");
        let token = codec
            .issue_device_token("alice", Duration::days(30))
            .unwrap();
        assert!(codec.device_token_names(&token, "alice"));
        assert!(!codec.device_token_names(&token, "Alice"));
        assert!(!codec.device_token_names(&token, "bob"));
        assert!(!codec.device_token_names("not-a-token", "alice"));
        assert!(
            !new_codec("https://auth.example").device_token_names(&token, "alice"),
            "other keys"
        );
        let expired = codec
            .issue_device_token("alice", Duration::seconds(-1))
            .unwrap();
        assert!(!codec.device_token_names(&expired, "alice"));
        // Not an access token either: its typ is its own.
        assert!(codec.validate_access(&token).is_err());
    }
}
