//! [`Error`]: what a [`crate::TokenIssuer`] operation can fail with, one variant per thing a
//! caller acts on differently.

use crate::password::{PasswordError, PolicyViolation};
use crate::store::StoreError;
use crate::token::{ScopeError, Scopes, TokenError};

/// Why a token was refused. Kept for logs and tests; the HTTP layer decides what a client sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The token itself is bad (signature, type, issuer, audience, expiry, ...).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token was revoked.
    #[error("token has been revoked")]
    Revoked,
    /// The token's login session was revoked (logout, refresh-token reuse).
    #[error("the login session has been revoked")]
    SessionRevoked,
    /// The token predates the user's last logout-everywhere or password change.
    #[error("token was issued before the user's last logout or password change")]
    CutOff,
    /// A refresh token presented a second time: its whole session is now revoked.
    #[error("refresh token was already used; the session has been revoked")]
    RefreshReused,
    /// The user no longer exists.
    #[error("the user no longer exists")]
    UnknownUser,
    /// The user is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// The token was issued in another epoch of the revocation store: the store has lost its
    /// state since (flushed, restarted without persistence, replaced), so whether the token was
    /// revoked or used is unknown.
    #[error("token predates the revocation store's current state")]
    StoreEpoch,
    /// A refresh token presented by a client it was not issued to (or by none, for a token
    /// issued to a client).
    #[error("the token was issued to another client")]
    OtherClient,
    /// A client's own token (client credentials) where a user's is needed.
    #[error("the token belongs to a client, not a user")]
    NotAUser,
    /// An authorization code that is unknown, expired, spent, or bound to another client,
    /// redirect URI or PKCE challenge.
    #[error("the authorization code is invalid: {0}")]
    Code(&'static str),
}

/// What an issuer operation failed with. Never contains a password, hash or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Unknown user, wrong password or disabled user: deliberately one variant, so neither the
    /// error nor the time it takes tells them apart.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins for this username: retry after this many seconds.
    #[error("too many failed login attempts; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// Requested scopes the user (or the refresh token) does not have.
    #[error("scope not granted: {missing}")]
    InvalidScope {
        /// The scopes that cannot be granted.
        missing: Scopes,
    },
    /// A scope string that breaks the RFC 6749 grammar.
    #[error(transparent)]
    MalformedScope(#[from] ScopeError),
    /// An access token was refused.
    #[error("invalid access token: {0}")]
    InvalidToken(Rejection),
    /// A refresh token was refused (RFC 6749 `invalid_grant`).
    #[error("invalid refresh token: {0}")]
    InvalidGrant(Rejection),
    /// A new password breaks the policy.
    #[error("new password refused: {0}")]
    WeakPassword(PolicyViolation),
    /// A store did not answer; nothing was decided. Retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(StoreError),
    /// Too many password checks are already waiting; nothing was decided. Retry shortly.
    #[error("too many logins in progress; retry shortly")]
    Busy,
    /// The user to change does not exist.
    #[error("no such user")]
    UnknownUser,
    /// A stored record is unusable (for example a hash in no known format).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Hashing failed for a reason other than the input (should not happen).
    #[error("password hashing failed: {0}")]
    Password(PasswordError),
    /// Signing failed (should not happen with a loaded key set).
    #[error("token signing failed: {0}")]
    Signing(TokenError),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Corrupt(what) => Error::Corrupt(what),
            StoreError::NotFound => Error::UnknownUser,
            other => Error::Unavailable(other),
        }
    }
}
