use std::fmt;

use async_trait::async_trait;

use super::StoreError;
use crate::password::PasswordHash;
use crate::token::Scopes;

/// Usernames longer than this cannot exist: stores and the users file refuse them, and such a
/// login fails without a store lookup.
pub const MAX_USERNAME_BYTES: usize = 256;

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

impl User {
    /// What a token for this user may carry: their own scopes and the OpenID Connect identity
    /// scopes ([`crate::token::IDENTITY_SCOPES`]).
    pub fn grantable_scopes(&self) -> Scopes {
        self.scopes.union(&Scopes::identity())
    }
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
    /// Users whose email is exactly `email` (byte for byte), at most `limit` of them: an
    /// upstream login links by verified email only when this finds exactly one. The default
    /// pages through [`list`](Self::list); stores with an index answer directly.
    async fn find_by_email(&self, email: &str, limit: usize) -> Result<Vec<User>, StoreError> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list(after.as_deref(), 500).await?;
            let Some(last) = page.last() else {
                return Ok(found);
            };
            after = Some(last.username.clone());
            for user in page {
                if user.email.as_deref() == Some(email) {
                    found.push(user);
                    if found.len() >= limit {
                        return Ok(found);
                    }
                }
            }
        }
    }
    /// Replaces a user's password hash (rehash on login, password change).
    async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError>;
    /// Disables or re-enables a user.
    async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError>;
    /// Replaces the password hash only if it is still `current` (a compare-and-set), so a rehash
    /// after a login can never overwrite a password changed meanwhile. `false` if it was not.
    async fn upgrade_password_hash(
        &self,
        id: &str,
        current: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError>;
    /// Applies a users file in one transaction (all or nothing): users that do not exist are
    /// created; existing ones are left exactly as they are with [`ImportMode::InsertMissing`],
    /// or brought in line with the file with [`ImportMode::Update`] (their id kept). Two
    /// imports racing on one store end with one row per username. The default refuses: a store
    /// that cannot do this atomically (a read-only directory, say) should not pretend to.
    async fn import(&self, users: Vec<User>, mode: ImportMode) -> Result<ImportReport, StoreError> {
        let _ = (users, mode);
        Err(StoreError::Config(
            "this user store does not support importing users".into(),
        ))
    }
    /// A named value describing the deployment, kept beside the users (for example where the
    /// servers keep revocations, so tools can refuse to write a cutoff where no server looks).
    /// The default keeps none.
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let _ = name;
        Ok(None)
    }
    /// Records a [setting](Self::setting). The default keeps nothing.
    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let _ = (name, value);
        Ok(())
    }
    /// Up to `limit` users ordered by username, starting after `after` (a username) if given:
    /// page through all users by passing the last username of the previous page.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;
    /// Answers if the store is reachable (for health checks); `Unavailable` otherwise.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// What [`UserStore::import`] does with users that already exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Leave them exactly as they are: what a server does with `--users` at every start, so a
    /// restart never undoes a password change, a hash upgrade or a disable.
    InsertMissing,
    /// Bring them in line with the file (an explicit operator action).
    Update,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Users created.
    pub created: usize,
    /// Existing users left as they were (identical to the file, or not to be updated).
    pub unchanged: usize,
    /// Existing users changed only in name or email.
    pub updated: usize,
    /// Ids of existing users whose hash, scopes or disabled flag changed: their earlier tokens
    /// must be cut off ([`crate::store::import_users`] does).
    pub security_changed: Vec<String>,
}

impl User {
    /// Whether `other` differs in what a token's validity depends on: the hash, the scopes,
    /// the disabled flag.
    pub(crate) fn security_differs(&self, other: &User) -> bool {
        self.password_hash.expose_secret() != other.password_hash.expose_secret()
            || self.scopes != other.scopes
            || self.disabled != other.disabled
    }

    /// Whether `other` differs in anything but the id.
    pub(crate) fn differs(&self, other: &User) -> bool {
        self.security_differs(other)
            || self.full_name != other.full_name
            || self.email != other.email
    }
}

impl ImportReport {
    /// Counts `existing` (as stored before) against `wanted` (from the file) under `mode`;
    /// `true` if the stored user must be replaced.
    pub(crate) fn count_existing(
        &mut self,
        existing: &User,
        wanted: &User,
        mode: ImportMode,
    ) -> bool {
        if mode == ImportMode::InsertMissing || !existing.differs(wanted) {
            self.unchanged += 1;
            return false;
        }
        if existing.security_differs(wanted) {
            self.security_changed.push(existing.id.clone());
        } else {
            self.updated += 1;
        }
        true
    }
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
    /// The store's current [epoch](TokenRevocation::issuance), or `None` when the store holds
    /// none: it has lost its state (flushed, restarted without persistence, evicted, replaced)
    /// and no token issued before can be trusted.
    pub epoch: Option<u64>,
}

/// What a token must carry to be checkable later: the user's generation and the store's epoch,
/// read in one round trip before the password is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// The user's current token generation.
    pub generation: u64,
    /// The store's current epoch (never 0).
    pub epoch: u64,
}

/// The answer of [`LoginThrottle::attempt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The attempt was counted and may go ahead.
    Admitted,
    /// The key has used up its window: refuse without checking the password.
    Locked {
        /// Seconds until the window ends.
        retry_after_secs: u64,
    },
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
///
/// # Epochs: losing the state fails closed
///
/// A store that loses its entries (a Redis `FLUSHALL`, a restart without persistence, an
/// eviction, a new empty database) would silently bring back every revoked token and make used
/// refresh tokens redeemable again. So every store holds one more value, its *epoch*: a random
/// number created with the store's state and lost with it. Tokens carry the epoch they were
/// issued in; [`Self::check`] reports the current one, and the issuer refuses a token whose epoch
/// is not the store's. After a loss the next [`Self::issuance`] creates a new epoch, so every
/// token issued before the loss is refused and new logins work at once.
#[async_trait]
pub trait TokenRevocation: Send + Sync + 'static {
    /// Revokes one token until `expires_at` (unix seconds), its own expiry.
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Revokes a whole session (refresh family and its access tokens) until `expires_at`.
    async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Raises the user's token generation: every token issued before is cut off. Returns the new
    /// generation, which tokens issued from now on carry.
    async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError>;
    /// The user's current token generation (0 if never raised) and the store's epoch, creating
    /// the epoch if the store has none (first use, or after losing its state), in one round
    /// trip. Concurrent callers on several instances agree on one new epoch.
    async fn issuance(&self, user_id: &str) -> Result<Issuance, StoreError>;
    /// Replaces the epoch with a new one: every token issued so far is refused. For when the
    /// store's state cannot be trusted although its epoch survived (a restored backup, a
    /// snapshot restart that lost the last writes, a deployment switching revocation stores).
    /// The default refuses, for stores that cannot.
    async fn rotate_epoch(&self) -> Result<u64, StoreError> {
        Err(StoreError::Config(
            "this revocation store cannot rotate its epoch".into(),
        ))
    }
    /// Marks a refresh token id as used. `true` for exactly one caller, however many race;
    /// `false` means it was used before. Kept until `expires_at`.
    async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError>;
    /// Whether a refresh token id was used ([`Self::consume_refresh`]), without using it
    /// (introspection). The default cannot tell and says so; callers treat that as "used".
    async fn refresh_used(&self, jti: &str) -> Result<bool, StoreError> {
        let _ = jti;
        Err(StoreError::Config(
            "this revocation store cannot tell used refresh tokens".into(),
        ))
    }
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

/// How many login attempts a key may make in a window before it is locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts allowed per window (for a username: failed ones, since a success clears the
    /// count); the next attempt is refused.
    pub max_failures: u32,
    /// Window length in seconds.
    pub window_secs: u64,
}

impl ThrottlePolicy {
    /// Seconds until a key whose window started at `window_start` with `failures` recorded may
    /// try again at `now`, or `None` if it is not locked. Backends store the two numbers; this
    /// is the one place that decides.
    pub fn retry_after(&self, window_start: i64, failures: u64, now: i64) -> Option<u64> {
        // `failures` may exceed the maximum: stores count refused attempts as max + 1.
        let end = window_start.saturating_add(i64::try_from(self.window_secs).unwrap_or(i64::MAX));
        (failures >= u64::from(self.max_failures) && now < end)
            .then(|| u64::try_from(end - now).unwrap_or(1).max(1))
    }

    /// The verdict on an attempt that left `count` attempts in the window starting at
    /// `window_start` (itself included). Backends count a refused attempt as `max + 1` and no
    /// further, so the count tells admitted from refused within the same atomic step.
    pub fn admission(&self, window_start: i64, count: u64, now: i64) -> Admission {
        if count <= u64::from(self.max_failures) {
            return Admission::Admitted;
        }
        let end = window_start.saturating_add(i64::try_from(self.window_secs).unwrap_or(i64::MAX));
        Admission::Locked {
            retry_after_secs: u64::try_from(end.saturating_sub(now)).unwrap_or(1).max(1),
        }
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

/// Counts login attempts per key (a username, a client address) in fixed windows.
///
/// Attempts are counted *before* the password is checked, in one atomic step: of any number of
/// concurrent attempts for one key, at most `max_failures` per window are admitted, however
/// they interleave. A successful login [clears](Self::clear) its username's count.
#[async_trait]
pub trait LoginThrottle: Send + Sync + 'static {
    /// Seconds until `key` may try again, or `None` if it is not locked. Counts nothing.
    async fn locked_for(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Option<u64>, StoreError>;
    /// Counts one attempt for `key` and admits it, or refuses it when the window is used up,
    /// atomically (a new window starts once the old one has ended).
    async fn attempt(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Admission, StoreError>;
    /// Gives back one attempt counted for `key` in the window still running at `now` (a login
    /// from that address that succeeded), so a busy address behind NAT spends its budget only
    /// on failures. Nothing happens once the window has ended or with nothing counted. A
    /// success at a window's very end may give its slot to the next window; a failed attempt
    /// is never given back, so failed guesses per window stay within the budget plus the
    /// logins that knew the password.
    async fn release(&self, key: &str, now: i64, policy: ThrottlePolicy) -> Result<(), StoreError>;
    /// Forgets `key`'s attempts (after a successful login).
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
