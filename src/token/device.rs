//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser
//! that has logged in as a user carries a token saying so, signed by this server, and is exempt
//! from the per-username lock that anyone elsewhere can trigger by guessing that user's
//! password. The token names the username by its SHA-256, so the cookie does not carry it, and
//! has an id of its own: its logins count against that id, so a stolen cookie is worth no more
//! than one address's guesses.

use serde::{Deserialize, Serialize};
use time::Duration;

use super::{TokenCodec, TokenError};
use crate::store::secret_digest;

/// The JOSE `typ` of device tokens: never an access, refresh or id_token.
const DEVICE_TYP: &str = "device+jwt";

#[derive(Serialize, Deserialize)]
struct DeviceClaims {
    iss: String,
    /// SHA-256 of the username, hex.
    sub: String,
    iat: i64,
    exp: i64,
    /// 128 random bits: the key its logins are counted under.
    jti: String,
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
            sub: secret_digest(username),
            iat: now,
            exp: now.saturating_add(lifetime.whole_seconds()),
            jti: super::codec::random_id(),
        };
        self.sign_typed(&claims, DEVICE_TYP)
    }

    /// The id of `token` if it is an unexpired device token of this issuer for `username`.
    pub(crate) fn device_token_id(&self, token: &str, username: &str) -> Option<String> {
        let payload = self.verified_payload(token, DEVICE_TYP).ok()?;
        let claims = serde_json::from_slice::<DeviceClaims>(&payload).ok()?;
        let now = self.clock().now().unix_timestamp();
        let valid = claims.iss == self.issuer()
            && now < claims.exp
            && claims.sub == secret_digest(username);
        valid.then_some(claims.jti)
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
        let id = codec.device_token_id(&token, "alice").unwrap();
        assert!(id.len() >= 22, "128 random bits");
        let other = codec
            .issue_device_token("alice", Duration::days(30))
            .unwrap();
        assert_ne!(codec.device_token_id(&other, "alice"), Some(id));
        assert_eq!(codec.device_token_id(&token, "Alice"), None);
        assert_eq!(codec.device_token_id(&token, "bob"), None);
        assert_eq!(codec.device_token_id("not-a-token", "alice"), None);
        assert!(
            new_codec("https://auth.example")
                .device_token_id(&token, "alice")
                .is_none(),
            "other keys"
        );
        let expired = codec
            .issue_device_token("alice", Duration::seconds(-1))
            .unwrap();
        assert_eq!(codec.device_token_id(&expired, "alice"), None);
        // Not an access token either: its typ is its own.
        assert!(codec.validate_access(&token).is_err());
    }
}
