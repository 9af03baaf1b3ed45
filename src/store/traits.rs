use std::fmt;

use async_trait::async_trait;

use super::StoreError;
use crate::password::PasswordHash;
use crate::token::Scopes;

/// A user account. `Debug` never shows the password hash.
#[derive(Clone)]
pub struct User {
    /// Stable id, the tokens' `sub`. Never changes, unlike the username.
    pub id: String,
    /// Login name, unique.
    pub username: String,
    /// The stored password hash.
    pub password_hash: PasswordHash,
    /// Everything the user may be granted.
    pub scopes: Scopes,
    /// A disabled user cannot log in, refresh, or use tokens issued earlier.
    pub disabled: bool,
    /// Display name.
    pub full_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &self.password_hash)
            .field("scopes", &self.scopes)
            .field("disabled", &self.disabled)
            .field("full_name", &self.full_name)
            .field("email", &self.email)
            .finish()
    }
}

/// Where users live.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// The user with this username, if any.
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// The user with this id, if any.
    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// Creates the user, or replaces the user with the same username (keeping that user's id).
    /// Returns the user as stored.
    async fn upsert(&self, user: User) -> Result<User, StoreError>;
    /// Replaces a user's password hash (rehash on login, password change).
    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError>;
    /// Disables or re-enables a user.
    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError>;
    /// Up to `limit` users ordered by username, starting after `after` (a username) if given:
    /// page through all users by passing the last username of the previous page.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;
    /// Answers if the store is reachable (for health checks); `Unavailable` otherwise.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The identifiers one revocation check covers.
#[derive(Clone, Copy, Debug)]
pub struct RevocationQuery<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// The token's session (`sid`).
    pub session_id: &'a str,
    /// The token's user (`sub`).
    pub user_id: &'a str,
}

/// Everything a store knows that could invalidate one token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationStatus {
    /// The token itself was revoked.
    pub token_revoked: bool,
    /// Its session (refresh family) was revoked.
    pub session_revoked: bool,
    /// The user's current token generation: tokens from an earlier one are cut off.
    pub user_generation: u64,
}

/// What [`TokenRevocation::check_with_user`] found out about a token's user.
#[derive(Clone, Debug)]
pub enum UserLookup {
    /// This store does not hold the users; ask the user store.
    NotHeld,
    /// No such user (deleted).
    Missing,
    /// The user as stored (possibly disabled).
    Found(User),
}

/// Revocations, single-use refresh tokens and per-user cutoffs. Every entry carries the time
/// after which it no longer matters, so storage does not grow without bound; the per-user
/// generation is the exception, one small counter per user that ever logged out everywhere.
#[async_trait]
pub trait TokenRevocation: Send + Sync + 'static {
    /// Revokes one token until `expires_at` (unix seconds), its own expiry.
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Revokes a whole session (refresh family and its access tokens) until `expires_at`.
    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Raises the user's token generation: every token issued before is cut off. Returns the new
    /// generation, which tokens issued from now on carry.
    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError>;
    /// The user's current token generation (0 if never raised).
    async fn user_generation(&self, user_id: &str) -> Result<u64, StoreError>;
    /// Marks a refresh token id as used. `true` for exactly one caller, however many race;
    /// `false` means it was used before. Kept until `expires_at`.
    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError>;
    /// Answers every revocation question about one token, in one round trip.
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError>;
    /// [`Self::check`], plus the user `query.user_id` when this store also holds the users,
    /// still in one round trip. The issuer calls this only when its user store is this very
    /// object. The default answers [`UserLookup::NotHeld`].
    async fn check_with_user(
        &self,
        query: RevocationQuery<'_>,
    ) -> Result<(RevocationStatus, UserLookup), StoreError> {
        Ok((self.check(query).await?, UserLookup::NotHeld))
    }
    /// Answers if the store is reachable (for health checks); `Unavailable` otherwise.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// How many failed logins a username may have in a window before it is locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failed attempts allowed per window; the next attempt is refused.
    pub max_failures: u32,
    /// Window length in seconds.
    pub window_secs: u64,
}

impl ThrottlePolicy {
    /// Seconds until a key whose window started at `window_start` with `failures` recorded may
    /// try again at `now`, or `None` if it is not locked. Backends store the two numbers; this
    /// is the one place that decides.
    pub fn retry_after(&self, window_start: i64, failures: u64, now: i64) -> Option<u64> {
        let end = window_start.saturating_add(i64::try_from(self.window_secs).unwrap_or(i64::MAX));
        (failures >= u64::from(self.max_failures) && now < end)
            .then(|| u64::try_from(end - now).unwrap_or(1).max(1))
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_secs: 60,
        }
    }
}

/// Counts failed logins per key (the username) in fixed windows.
#[async_trait]
pub trait LoginThrottle: Send + Sync + 'static {
    /// Seconds until `key` may try again, or `None` if it is not locked.
    async fn locked_for(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Option<u64>, StoreError>;
    /// Records one failed attempt for `key`.
    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<(), StoreError>;
    /// Forgets `key`'s failures (after a successful login).
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
