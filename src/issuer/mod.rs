//! [`TokenIssuer`]: login, validation, refresh rotation with reuse detection, revocation,
//! logout-everywhere and password changes, one module per flow. Every security decision about
//! tokens is in this module; the stores only answer questions and the codec only signs and
//! checks signatures.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::SecretString;
use time::Duration;

#[cfg(feature = "provider")]
mod client_attempts;
mod login;
mod password;
#[cfg(feature = "provider")]
mod provider_grants;
mod refresh;
mod revoke;
mod validate;

#[cfg(feature = "provider")]
pub(crate) use login::{LoginOrigin, hashing_error};
#[cfg(feature = "provider")]
pub(crate) use provider_grants::code_session_id;

use crate::error::{Error, Rejection};
use crate::events;
use crate::keys::Jwks;
use crate::password::{PasswordError, PasswordHash, PasswordHasher};
use crate::store::memory::MemoryThrottle;
use crate::store::{
    Admission, Client, Issuance, LoginThrottle, RevocationQuery, RevocationStatus, StoreError,
    ThrottlePolicy, TokenRevocation, User, UserLookup, UserStore,
};
use crate::token::{
    AccessClaims, MAX_LEEWAY, Scopes, SubjectKind, TokenCodec, TokenError, TokenSubject, Verified,
};

pub use crate::store::MAX_USERNAME_BYTES;
/// The longest login session [`TokenIssuerBuilder::session_lifetime`] accepts.
pub const MAX_SESSION_LIFETIME: Duration = Duration::days(366);
/// The longest throttle window accepted (expired windows are pruned a day after they start).
pub const MAX_THROTTLE_WINDOW_SECS: u64 = 86_400;

/// The default per-client-address limit: attempts per window (a success gives its one back).
const DEFAULT_CLIENT_POLICY: ThrottlePolicy = ThrottlePolicy {
    max_failures: 100,
    window_secs: 60,
};

/// Which kind of token a revocation request says it carries (RFC 7009 §2.1). Only a hint: the
/// other kind is tried too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

/// What a login or refresh returns.
pub struct TokenPair {
    /// The access token (a bearer credential).
    pub access_token: SecretString,
    /// The refresh token (single use).
    pub refresh_token: SecretString,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The scopes the access token grants.
    pub scope: Scopes,
    /// The access token's claims.
    pub access_claims: AccessClaims,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("access_claims", &self.access_claims)
            .finish_non_exhaustive()
    }
}

/// The issuer: owns the codec, the password hasher and the stores. Cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    codec: TokenCodec,
    hasher: PasswordHasher,
    users: Arc<dyn UserStore>,
    revocation: Arc<dyn TokenRevocation>,
    throttle: Arc<dyn LoginThrottle>,
    throttle_policy: ThrottlePolicy,
    username_policy: ThrottlePolicy,
    client_policy: ThrottlePolicy,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    check_user_on_validate: bool,
    /// `users` and `revocation` are one object, so `check_with_user` answers both questions.
    users_in_revocation_store: bool,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("codec", &self.inner.codec)
            .field("hasher", &self.inner.hasher)
            .field("throttle_policy", &self.inner.throttle_policy)
            .field("username_policy", &self.inner.username_policy)
            .field("client_policy", &self.inner.client_policy)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .field("session_lifetime", &self.inner.session_lifetime)
            .field("check_user_on_validate", &self.inner.check_user_on_validate)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenIssuer`]. The codec and the two stores it cannot work without are
/// arguments of [`TokenIssuer::builder`]; everything here has a safe default.
pub struct TokenIssuerBuilder {
    codec: TokenCodec,
    users: Arc<dyn UserStore>,
    revocation: Arc<dyn TokenRevocation>,
    hasher: PasswordHasher,
    throttle: Arc<dyn LoginThrottle>,
    throttle_policy: ThrottlePolicy,
    username_policy: Option<ThrottlePolicy>,
    client_policy: ThrottlePolicy,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    check_user_on_validate: bool,
}

impl fmt::Debug for TokenIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuerBuilder")
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl TokenIssuerBuilder {
    /// The password hasher (default: [`PasswordHasher::default`], OWASP argon2id).
    pub fn password_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Where login attempts are counted (default: in this process's memory; several instances
    /// need a shared store) and how many failed ones a username may have per window from one
    /// client address (default 5 per 60 s; window at most [`MAX_THROTTLE_WINDOW_SECS`]).
    /// [`TokenIssuer::login`], without an address, counts them per username.
    ///
    /// Counted per (username, address), someone guessing from one address locks out only that
    /// address; the username as a whole has the larger budget of [`Self::username_throttle`].
    pub fn throttle(mut self, throttle: Arc<dyn LoginThrottle>, policy: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self.throttle_policy = policy;
        self
    }

    /// How many failed logins a username may have per window from all addresses together
    /// (default: ten times the [`Self::throttle`] policy's number, in its window). Past it the
    /// username is locked everywhere, except in browsers that have logged in as that user
    /// before (a device cookie, at the authorization endpoint's login form).
    pub fn username_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.username_policy = Some(policy);
        self
    }

    /// How many login attempts one client address may make per window, whatever usernames it
    /// tries (default 100 per 60 s). Counted before the check; a successful login gives its
    /// attempt back ([`LoginThrottle::release`]). Applies to
    /// [`TokenIssuer::login_from`]; IPv6 addresses count per /64, the block one subscriber gets.
    pub fn client_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.client_policy = policy;
        self
    }

    /// Refresh-token lifetime (default 14 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Absolute lifetime of a login session, however often it is refreshed (default 30 days, at
    /// most [`MAX_SESSION_LIFETIME`]). Access tokens never outlive their session.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// Whether [`TokenIssuer::validate`] also loads the user and refuses tokens of deleted or
    /// disabled users (default `true`). Turning it off saves a user-store round trip per request;
    /// disabling a user should then be paired with [`TokenIssuer::logout_all`].
    pub fn check_user_on_validate(mut self, check: bool) -> Self {
        self.check_user_on_validate = check;
        self
    }

    /// Checks the lifetimes and builds the issuer.
    pub fn build(self) -> Result<TokenIssuer, TokenError> {
        if self.refresh_ttl < self.codec.access_ttl() {
            return Err(TokenError::InvalidConfig(
                "refresh token lifetime must be at least the access token lifetime",
            ));
        }
        if self.session_lifetime < self.refresh_ttl {
            return Err(TokenError::InvalidConfig(
                "session lifetime must be at least the refresh token lifetime",
            ));
        }
        if self.session_lifetime > MAX_SESSION_LIFETIME {
            return Err(TokenError::InvalidConfig(
                "session lifetime must be at most 366 days",
            ));
        }
        let username_policy = self.username_policy.unwrap_or(ThrottlePolicy {
            max_failures: self.throttle_policy.max_failures.saturating_mul(10),
            window_secs: self.throttle_policy.window_secs,
        });
        for policy in [self.throttle_policy, username_policy, self.client_policy] {
            if policy.max_failures == 0
                || policy.window_secs == 0
                || policy.window_secs > MAX_THROTTLE_WINDOW_SECS
            {
                return Err(TokenError::InvalidConfig(
                    "throttle must allow at least one attempt in a window of 1 s to 1 day",
                ));
            }
        }
        let (users, revocation) = (self.users, self.revocation);
        Ok(TokenIssuer {
            inner: Arc::new(Inner {
                codec: self.codec,
                hasher: self.hasher,
                throttle: self.throttle,
                throttle_policy: self.throttle_policy,
                username_policy,
                client_policy: self.client_policy,
                refresh_ttl: self.refresh_ttl,
                session_lifetime: self.session_lifetime,
                check_user_on_validate: self.check_user_on_validate,
                // One object behind both (a SQL store): it can answer the user question in the
                // revocation check's round trip.
                users_in_revocation_store: std::ptr::addr_eq(
                    Arc::as_ptr(&users),
                    Arc::as_ptr(&revocation),
                ),
                users,
                revocation,
            }),
        })
    }
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A name no account can have: empty, too long, or with control characters (a NUL would
/// reach the database). Refused before any store call, the same way for every such name.
pub(crate) fn is_possible_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= MAX_USERNAME_BYTES
        && !username.chars().any(char::is_control)
}

impl TokenIssuer {
    /// A builder around `codec`, with the user store and the revocation store.
    pub fn builder(
        codec: TokenCodec,
        users: Arc<dyn UserStore>,
        revocation: Arc<dyn TokenRevocation>,
    ) -> TokenIssuerBuilder {
        TokenIssuerBuilder {
            codec,
            users,
            revocation,
            hasher: PasswordHasher::default(),
            throttle: Arc::new(MemoryThrottle::new()),
            throttle_policy: ThrottlePolicy::default(),
            username_policy: None,
            client_policy: DEFAULT_CLIENT_POLICY,
            refresh_ttl: Duration::days(14),
            session_lifetime: Duration::days(30),
            check_user_on_validate: true,
        }
    }

    /// The token codec (keys, issuer, audience, clock).
    pub fn codec(&self) -> &TokenCodec {
        &self.inner.codec
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The user store.
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.inner.users
    }

    /// The public verification keys.
    pub fn jwks(&self) -> Jwks {
        self.inner.codec.keys().jwks()
    }

    fn now(&self) -> i64 {
        self.inner.codec.clock().now().unix_timestamp()
    }
}

/// Counts a validation by its result.
fn counted_validation<T>(result: Result<T, Error>) -> Result<T, Error> {
    let label = match &result {
        Ok(_) => "valid",
        Err(Error::Unavailable(_)) => "unavailable",
        Err(_) => "invalid",
    };
    ::metrics::counter!(crate::metrics::VALIDATIONS, "result" => label).increment(1);
    result
}

/// Reports a store outage as a security event (the operation failed closed) and passes the
/// result on unchanged.
fn observe<T>(operation: &'static str, result: Result<T, Error>) -> Result<T, Error> {
    if let Err(Error::Unavailable(error)) = &result {
        tracing::error!(
            target: events::TARGET, event = events::STORE_UNAVAILABLE, operation, %error
        );
    }
    result
}

/// `requested` (None or empty: everything) must be within `available`.
fn grant(available: &Scopes, requested: Option<&Scopes>) -> Result<Scopes, Error> {
    match requested {
        Some(requested) if !requested.is_empty() => {
            let missing = requested.difference(available);
            if missing.is_empty() {
                Ok(requested.clone())
            } else {
                Err(Error::InvalidScope { missing })
            }
        }
        _ => Ok(available.clone()),
    }
}

impl TokenIssuer {
    /// One revocation round trip for a token. The outer error is the store's (fail closed: it
    /// never becomes "not revoked"); the inner one is the verdict on the token.
    async fn revocation_verdict(
        &self,
        query: RevocationQuery<'_>,
        generation: u64,
        epoch: u64,
    ) -> Result<Result<(), Rejection>, Error> {
        let status = self.inner.revocation.check(query).await?;
        Ok(verdict(&status, generation, epoch))
    }
}

/// The revocation questions about one access token.
fn access_query(claims: &AccessClaims) -> RevocationQuery<'_> {
    RevocationQuery {
        jti: &claims.jti,
        session_id: &claims.sid,
        user_id: &claims.sub,
    }
}

/// How long a revoked session is remembered: past its end by the most leeway any validator
/// may allow (access tokens never outlive the session itself).
fn session_keep_until(session_exp: i64) -> i64 {
    session_exp.saturating_add(MAX_LEEWAY.whole_seconds())
}

fn verdict(status: &RevocationStatus, generation: u64, epoch: u64) -> Result<(), Rejection> {
    // A store without this token's epoch has lost (or never had) what would revoke it.
    if epoch == 0 || status.epoch != Some(epoch) {
        Err(Rejection::StoreEpoch)
    } else if status.session_revoked {
        Err(Rejection::SessionRevoked)
    } else if status.token_revoked {
        Err(Rejection::Revoked)
    } else if generation < status.user_generation {
        Err(Rejection::CutOff)
    } else {
        Ok(())
    }
}

fn user_verdict<U: std::borrow::Borrow<User>>(user: Option<U>) -> Result<U, Rejection> {
    match user {
        None => Err(Rejection::UnknownUser),
        Some(user) if user.borrow().disabled => Err(Rejection::UserDisabled),
        Some(user) => Ok(user),
    }
}
