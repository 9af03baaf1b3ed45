//! Refresh tokens: JWTs of their own type (`typ: rt+jwt`) whose audience is the issuer itself, so
//! they never pass as access tokens, and access tokens never pass as them.

use serde::{Deserialize, Serialize};

use super::Scopes;

/// The `typ` header of refresh tokens.
pub(crate) const REFRESH_TYP: &str = "rt+jwt";

/// The claims of a refresh token. Single use: its `jti` is consumed on refresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshClaims {
    /// Issuer; also the audience, since only the issuer accepts refresh tokens.
    pub iss: String,
    /// The user's stable id.
    pub sub: String,
    /// Always the issuer.
    pub aud: String,
    /// Expiry, unix seconds (never after `session_exp`).
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// This refresh token's id, consumed when it is used.
    pub jti: String,
    /// The login session (refresh family) it belongs to.
    pub sid: String,
    /// The scopes a refresh may grant (it may narrow them, never widen).
    pub scope: Scopes,
    /// The user's token generation at login.
    #[serde(rename = "gen", default)]
    pub generation: u64,
    /// The revocation store's epoch at login (0 if absent).
    #[serde(default)]
    pub epoch: u64,
    /// When the login session ends, whatever refreshes happen (unix seconds).
    pub session_exp: i64,
    /// The client the token was issued to; refreshing needs the same client. Absent for the
    /// first-party password grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}
