//! [`TokenIssuer`]: login, validation, refresh rotation with reuse detection, revocation,
//! logout-everywhere and password changes. Every security decision of the library is in this
//! file; the stores only answer questions and the codec only signs and checks signatures.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::SecretString;
use time::Duration;

mod provider_grants;

pub(crate) use provider_grants::code_session_id;

use crate::error::{Error, Rejection};
use crate::events;
use crate::keys::Jwks;
use crate::password::{PasswordError, PasswordHash, PasswordHasher};
use crate::store::memory::MemoryThrottle;
use crate::store::{
    Admission, Issuance, LoginThrottle, RevocationQuery, RevocationStatus, StoreError,
    ThrottlePolicy, TokenRevocation, User, UserLookup, UserStore,
};
use crate::token::{
    AccessClaims, MAX_LEEWAY, Scopes, SubjectKind, TokenCodec, TokenError, TokenSubject, Verified,
};

/// Usernames longer than this cannot exist; such a login fails without a store lookup.
pub const MAX_USERNAME_BYTES: usize = 256;
/// The longest login session [`TokenIssuerBuilder::session_lifetime`] accepts.
pub const MAX_SESSION_LIFETIME: Duration = Duration::days(366);
/// The longest throttle window accepted (expired windows are pruned a day after they start).
pub const MAX_THROTTLE_WINDOW_SECS: u64 = 86_400;

/// The default per-client-address limit: attempts (successful ones included) per window.
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
    /// need a shared store) and how many failed ones a username may have per window (default 5
    /// per 60 s; window at most [`MAX_THROTTLE_WINDOW_SECS`]).
    pub fn throttle(mut self, throttle: Arc<dyn LoginThrottle>, policy: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self.throttle_policy = policy;
        self
    }

    /// How many login attempts one client address may make per window, successful ones
    /// included, whatever usernames it tries (default 100 per 60 s). Applies to
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
        for policy in [self.throttle_policy, self.client_policy] {
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

/// The id looked up for a username that does not exist, so that path makes the same store calls
/// as a real login. User ids are generated hex; this one can never be one.
const UNKNOWN_USER_ID: &str = "-no-such-user-";

/// The throttle key of a username.
fn user_key(username: &str) -> String {
    format!("user:{username}")
}

/// The throttle key of a client address: IPv6 per /64, since one subscriber gets a whole /64.
fn client_key(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => format!("client:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("client:{v4}"),
            None => {
                let s = v6.segments();
                format!("client:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A username as security events show it: at most 64 characters.
fn logged_username(username: &str) -> &str {
    match username.char_indices().nth(64) {
        Some((end, _)) => &username[..end],
        None => username,
    }
}

/// A hashing failure as an issuer error: a full queue is [`Error::Busy`].
fn hashing_error(err: PasswordError) -> Error {
    match err {
        PasswordError::Busy => Error::Busy,
        PasswordError::NoRuntime | PasswordError::WorkerFailed => {
            Error::Password(PasswordError::WorkerFailed)
        }
        other => Error::Password(other),
    }
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

    /// Resource-owner password login (RFC 6749 §4.3), without a client address: only the
    /// per-username throttle applies. Servers should call [`Self::login_from`].
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        self.login_with(None, username, password, requested).await
    }

    /// Resource-owner password login (RFC 6749 §4.3) from `client` (the peer address).
    ///
    /// Order matters. Input no account can have (an empty, overlong or control-character
    /// username; an empty, overlong or NUL-containing password) is refused first, the same way
    /// for everyone. Then the attempt is counted, atomically, against the client address and the
    /// username before any password is checked, so concurrent guesses cannot outrun the
    /// throttle. The password is verified for known and unknown users alike (a dummy hash for
    /// unknown ones), disabled users and scopes are looked at only after, and every failed login
    /// is padded to the slowest recent verification, so neither the answer nor its timing tells
    /// whether the account exists or what kind of hash it has. `requested` of `None` or empty
    /// grants all of the user's scopes.
    pub async fn login_from(
        &self,
        client: IpAddr,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        self.login_with(Some(client), username, password, requested)
            .await
    }

    async fn login_with(
        &self,
        client: Option<IpAddr>,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        let result = async {
            let (user, issuance) = self.authenticate_with(client, username, password).await?;
            let granted = grant(&user.scopes, requested)?;
            let session_id = new_session_id();
            let session_exp = self.session_exp();
            let subject = TokenSubject {
                user_id: &user.id,
                session_id: &session_id,
                generation: issuance.generation,
                epoch: issuance.epoch,
                session_exp: Some(session_exp),
            };
            self.issue_pair(subject, &granted, &granted, session_exp, None)
        }
        .await;
        observe("login", result)
    }

    /// When a login session starting now ends.
    fn session_exp(&self) -> i64 {
        (self.inner.codec.clock().now() + self.inner.session_lifetime).unix_timestamp()
    }

    /// Checks a username and password exactly as a password login does (throttles, timing,
    /// hash upgrade), without issuing tokens: the login form of the authorization endpoint.
    /// Returns the user and the generation and epoch their tokens get.
    pub(crate) async fn authenticate_with(
        &self,
        client: Option<IpAddr>,
        username: &str,
        password: &SecretString,
    ) -> Result<(User, Issuance), Error> {
        let result = self.authenticate_steps(client, username, password).await;
        let client = client.map(tracing::field::display);
        // People type passwords into the username field: log only what a username needs.
        let username = logged_username(username);
        let outcome = match &result {
            Ok(_) => "succeeded",
            Err(Error::InvalidCredentials) => "failed",
            Err(Error::Throttled { .. }) => "throttled",
            Err(Error::Busy) => "busy",
            Err(Error::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        ::metrics::counter!(crate::metrics::LOGINS, "outcome" => outcome).increment(1);
        match &result {
            Ok((user, _)) => tracing::info!(
                target: events::TARGET, event = events::LOGIN_SUCCEEDED,
                user_id = %user.id, client
            ),
            Err(Error::InvalidCredentials) => tracing::info!(
                target: events::TARGET, event = events::LOGIN_FAILED, username, client
            ),
            Err(Error::Busy) => tracing::warn!(
                target: events::TARGET, event = events::LOGIN_BUSY, username, client
            ),
            Err(_) => {}
        }
        result
    }

    async fn authenticate_steps(
        &self,
        client: Option<IpAddr>,
        username: &str,
        password: &SecretString,
    ) -> Result<(User, Issuance), Error> {
        let inner = &self.inner;
        if !is_possible_username(username) || PasswordHasher::check_input(password).is_err() {
            return Err(Error::InvalidCredentials);
        }
        let now = self.now();
        let throttled = |limit: &'static str| {
            move |err: Error| {
                if let Error::Throttled { retry_after_secs } = err {
                    let client = client.map(tracing::field::display);
                    let username = logged_username(username);
                    tracing::warn!(
                        target: events::TARGET, event = events::LOGIN_THROTTLED,
                        username, client, limit, retry_after_secs
                    );
                }
                err
            }
        };
        if let Some(client) = client {
            self.admit(&client_key(client), now, inner.client_policy)
                .await
                .map_err(throttled("client"))?;
        }
        let user_key = user_key(username);
        self.admit(&user_key, now, inner.throttle_policy)
            .await
            .map_err(throttled("username"))?;
        let started = Instant::now();
        let (user, issuance) = match self.check_password(username, password).await {
            Ok(found) => found,
            Err(Error::InvalidCredentials) => {
                let floor = inner.hasher.failed_login_floor();
                tokio::time::sleep_until(tokio::time::Instant::from_std(started + floor)).await;
                return Err(Error::InvalidCredentials);
            }
            Err(other) => return Err(other),
        };
        inner.throttle.clear(&user_key).await?;
        self.upgrade_hash(&user, password).await;
        Ok((user, issuance))
    }

    /// Counts an attempt for `key`; a locked key is [`Error::Throttled`].
    async fn admit(&self, key: &str, now: i64, policy: ThrottlePolicy) -> Result<(), Error> {
        match self.inner.throttle.attempt(key, now, policy).await? {
            Admission::Admitted => Ok(()),
            Admission::Locked { retry_after_secs } => Err(Error::Throttled { retry_after_secs }),
        }
    }

    /// The user whose password this is, with the generation and epoch their tokens get, or
    /// [`Error::InvalidCredentials`] (unknown, wrong password, disabled, unusable record).
    async fn check_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<(User, Issuance), Error> {
        let inner = &self.inner;
        let Some(found) = self.usable_user(inner.users.find_by_username(username).await)? else {
            // The same store calls as for a known user, so an unknown name costs the same round
            // trips and fails the same way (503) when a store is down: neither timing nor an
            // outage tells it from an existing one.
            inner.revocation.issuance(UNKNOWN_USER_ID).await?;
            let _ = self.usable_user(inner.users.find_by_id(UNKNOWN_USER_ID).await)?;
            inner
                .hasher
                .verify_dummy_async(password)
                .await
                .map_err(hashing_error)?;
            return Err(Error::InvalidCredentials);
        };
        // The generation is read before the hash it is checked against (read again by id):
        // a password change writes the hash and then raises the generation, so a change that
        // lands after this read of the hash also lands after the generation read, and cuts off
        // what this login issues. Reading them the other way round would let a login verified
        // against the old password outlive the change.
        let issuance = inner.revocation.issuance(&found.id).await?;
        let Some(user) = self.usable_user(inner.users.find_by_id(&found.id).await)? else {
            inner
                .hasher
                .verify_dummy_async(password)
                .await
                .map_err(hashing_error)?;
            return Err(Error::InvalidCredentials);
        };
        let password_ok = match inner
            .hasher
            .verify_async(password, &user.password_hash)
            .await
        {
            Ok(ok) => ok,
            Err(
                err
                @ (PasswordError::Busy | PasswordError::NoRuntime | PasswordError::WorkerFailed),
            ) => return Err(hashing_error(err)),
            Err(err) => {
                tracing::warn!(user_id = %user.id, error = %err, "stored password hash is unusable");
                false
            }
        };
        if password_ok && !user.disabled {
            Ok((user, issuance))
        } else {
            Err(Error::InvalidCredentials)
        }
    }

    /// A user lookup's result, with a corrupt record answered like a missing one (and logged):
    /// a login must not tell an account with a broken row from no account.
    fn usable_user(&self, found: Result<Option<User>, StoreError>) -> Result<Option<User>, Error> {
        match found {
            Ok(user) => Ok(user),
            Err(StoreError::Corrupt(what)) => {
                tracing::warn!(record = %what, "user record is corrupt; login refused");
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Replaces an outdated hash after a successful login. Best effort: the login has succeeded
    /// whatever happens here, and the next login tries again.
    async fn upgrade_hash(&self, user: &User, password: &SecretString) {
        let inner = &self.inner;
        if !inner.hasher.needs_rehash(&user.password_hash) {
            return;
        }
        // Compare-and-set: a password changed since this login read the hash stays changed.
        let result = match inner.hasher.hash_async(password).await {
            Ok(hash) => inner
                .users
                .upgrade_password_hash(&user.id, &user.password_hash, &hash)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(user_id = %user.id, "password changed during login; hash not upgraded");
            }
            Err(error) => {
                tracing::warn!(user_id = %user.id, %error, "could not upgrade an outdated password hash");
            }
        }
    }

    fn issue_pair(
        &self,
        subject: TokenSubject<'_>,
        access_scope: &Scopes,
        refresh_scope: &Scopes,
        session_exp: i64,
        client_id: Option<&str>,
    ) -> Result<TokenPair, Error> {
        let codec = &self.inner.codec;
        let access = codec
            .issue_access_as(subject, access_scope, &(), client_id, SubjectKind::User)
            .map_err(Error::Signing)?;
        let refresh = codec
            .issue_refresh_as(
                subject,
                refresh_scope,
                self.inner.refresh_ttl,
                session_exp,
                client_id,
            )
            .map_err(Error::Signing)?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: refresh.token,
            expires_in: u64::try_from(access.claims.exp - access.claims.iat).unwrap_or(0),
            scope: access_scope.clone(),
            access_claims: access.claims,
        })
    }

    /// Validates an access token: the codec's checks, then one revocation round trip (the token,
    /// its session and the user's generation), then, if configured, that the user still exists
    /// and is enabled. A store that does not answer is [`Error::Unavailable`], never a pass.
    pub async fn validate(&self, token: &str) -> Result<Verified<AccessClaims>, Error> {
        let inner = &self.inner;
        let claims = match self.access_claims(token) {
            Ok(claims) => claims,
            Err(err) if inner.check_user_on_validate => {
                return observe("validate", counted_validation(Err(err)));
            }
            Err(err) => return Err(err),
        };
        // A client's own token has no user to check: revocation is all there is.
        if inner.check_user_on_validate && claims.subject_kind == SubjectKind::User {
            return observe(
                "validate",
                counted_validation(self.validate_user_claims(claims).await),
            )
            .map(|(claims, _)| claims);
        }
        let query = access_query(&claims);
        observe(
            "validate",
            self.revocation_verdict(query, claims.generation, claims.epoch)
                .await,
        )?
        .map_err(Error::InvalidToken)?;
        Ok(claims)
    }

    /// [`Self::validate`] with the user check always on, returning the user as stored too, so a
    /// handler that needs the user (`/users/me`) does not look it up again. When the user store
    /// and the revocation store are one SQL store, this is a single statement. The claims'
    /// scopes are narrowed to the ones the user still has: a scope taken away from a user stops
    /// working at once, not when the token expires.
    pub async fn validate_user(
        &self,
        token: &str,
    ) -> Result<(Verified<AccessClaims>, User), Error> {
        let result = match self.access_claims(token) {
            Ok(claims) => self.validate_user_claims(claims).await,
            Err(err) => Err(err),
        };
        observe("validate", counted_validation(result))
    }

    async fn validate_user_claims(
        &self,
        mut claims: Verified<AccessClaims>,
    ) -> Result<(Verified<AccessClaims>, User), Error> {
        let inner = &self.inner;
        if claims.subject_kind == SubjectKind::Client {
            return Err(Error::InvalidToken(Rejection::NotAUser));
        }
        let query = access_query(&claims);
        let user = if inner.users_in_revocation_store {
            let (status, lookup) = inner.revocation.check_with_user(query).await?;
            verdict(&status, claims.generation, claims.epoch).map_err(Error::InvalidToken)?;
            match lookup {
                UserLookup::Found(user) => Some(user),
                UserLookup::Missing => None,
                UserLookup::NotHeld => inner.users.find_by_id(&claims.sub).await?,
            }
        } else {
            // Independent questions, asked at once: the latency is one round trip, not two.
            let (verdict, user) = tokio::join!(
                self.revocation_verdict(query, claims.generation, claims.epoch),
                inner.users.find_by_id(&claims.sub)
            );
            verdict?.map_err(Error::InvalidToken)?;
            user?
        };
        let user = user_verdict(user).map_err(Error::InvalidToken)?;
        if !claims.scope.is_subset(&user.scopes) {
            let grantable = user.grantable_scopes();
            if !claims.scope.is_subset(&grantable) {
                let kept = claims.scope.intersection(&grantable);
                claims.claims_mut().scope = kept;
            }
        }
        Ok((claims, user))
    }

    /// The codec's verdict on an access token, as an issuer error.
    fn access_claims(&self, token: &str) -> Result<Verified<AccessClaims>, Error> {
        self.inner
            .codec
            .validate_access(token)
            .map_err(|e| Error::InvalidToken(Rejection::Token(e)))
    }

    /// Exchanges a refresh token for a new pair (RFC 6749 §6). The token is consumed atomically:
    /// of any number of concurrent calls with it, one wins; every other use, then or later, is
    /// reuse, and revokes its whole session, the winner's new tokens included. `requested` may
    /// narrow the scopes, never widen them.
    ///
    /// Refresh tokens issued to an OAuth client (the authorization code flow) are refused here:
    /// they need that client, through the authorization server's token endpoint.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        self.refresh_for(refresh_token, requested, None).await
    }

    /// [`Self::refresh`] by `client` (the authenticated client, `None` for none): the token
    /// must have been issued to exactly that client.
    pub(crate) async fn refresh_for(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
        client: Option<&str>,
    ) -> Result<TokenPair, Error> {
        observe(
            "refresh",
            self.refresh_steps(refresh_token, requested, client).await,
        )
    }

    async fn refresh_steps(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
        client: Option<&str>,
    ) -> Result<TokenPair, Error> {
        let inner = &self.inner;
        let claims = inner
            .codec
            .validate_refresh(refresh_token)
            .map_err(|e| Error::InvalidGrant(Rejection::Token(e)))?;
        // Checked before anything is consumed: another client's attempt must not burn the
        // token (or its family) for the client that holds it.
        if claims.client_id.as_deref() != client {
            return Err(Error::InvalidGrant(Rejection::OtherClient));
        }
        let query = RevocationQuery {
            jti: &claims.jti,
            session_id: &claims.sid,
            user_id: &claims.sub,
        };
        self.revocation_verdict(query, claims.generation, claims.epoch)
            .await?
            .map_err(Error::InvalidGrant)?;
        // Everything that can refuse the request is checked before the token is consumed, so a
        // bad scope parameter or a store outage followed by a client retry does not burn it.
        let granted = grant(&claims.scope, requested)?;
        let user = inner.users.find_by_id(&claims.sub).await?;
        let user = user_verdict(user.as_ref()).map_err(Error::InvalidGrant)?;
        // Kept past the token's expiry by the most leeway any validator may allow, so a used
        // token cannot come back while some instance still accepts it.
        let keep_until = claims.exp.saturating_add(MAX_LEEWAY.whole_seconds());
        if !inner
            .revocation
            .consume_refresh(&claims.jti, keep_until)
            .await?
        {
            inner
                .revocation
                .revoke_session(&claims.sid, session_keep_until(claims.session_exp))
                .await?;
            ::metrics::counter!(crate::metrics::REFRESH_REUSE).increment(1);
            tracing::warn!(
                target: events::TARGET, event = events::REFRESH_REUSED,
                user_id = %claims.sub, session_id = %claims.sid
            );
            return Err(Error::InvalidGrant(Rejection::RefreshReused));
        }
        // Scopes the user has lost since login are not granted again.
        let grantable = user.grantable_scopes();
        let granted = granted.intersection(&grantable);
        let refresh_scope = claims.scope.intersection(&grantable);
        let subject = TokenSubject {
            user_id: &claims.sub,
            session_id: &claims.sid,
            generation: claims.generation,
            epoch: claims.epoch,
            session_exp: Some(claims.session_exp),
        };
        self.issue_pair(
            subject,
            &granted,
            &refresh_scope,
            claims.session_exp,
            claims.client_id.as_deref(),
        )
    }

    /// Revokes a token (RFC 7009). An access token is revoked alone; a refresh token revokes its
    /// whole session, access tokens included. Garbage, expired and foreign tokens are accepted
    /// silently, as the RFC requires; only a store failure is an error.
    pub async fn revoke(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        observe("revoke", self.revoke_steps(token, hint).await)
    }

    async fn revoke_steps(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        let order = match hint {
            Some(TokenTypeHint::RefreshToken) => {
                [TokenTypeHint::RefreshToken, TokenTypeHint::AccessToken]
            }
            _ => [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken],
        };
        let inner = &self.inner;
        for kind in order {
            match kind {
                TokenTypeHint::AccessToken => {
                    if let Ok(claims) = inner.codec.validate_access(token) {
                        let keep_until = claims.exp.saturating_add(MAX_LEEWAY.whole_seconds());
                        inner
                            .revocation
                            .revoke_token(&claims.jti, keep_until)
                            .await?;
                        tracing::info!(
                            target: events::TARGET, event = events::TOKEN_REVOKED,
                            kind = "access", user_id = %claims.sub, session_id = %claims.sid
                        );
                        return Ok(());
                    }
                }
                TokenTypeHint::RefreshToken => {
                    if let Ok(claims) = inner.codec.validate_refresh(token) {
                        inner
                            .revocation
                            .revoke_session(&claims.sid, session_keep_until(claims.session_exp))
                            .await?;
                        tracing::info!(
                            target: events::TARGET, event = events::TOKEN_REVOKED,
                            kind = "refresh", user_id = %claims.sub, session_id = %claims.sid
                        );
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Invalidates every token the user holds, on every session. Logins after it work at once.
    pub async fn logout_all(&self, user_id: &str) -> Result<(), Error> {
        let result = self.inner.revocation.bump_user_generation(user_id).await;
        observe("logout_all", result.map_err(Error::from))?;
        tracing::info!(target: events::TARGET, event = events::LOGOUT_ALL, user_id);
        Ok(())
    }

    /// Changes a user's password after checking the current one; every earlier token stops
    /// working. Wrong current passwords count towards the login throttle.
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        let result = self.change_password_steps(user_id, current, new).await;
        if result.is_ok() {
            tracing::info!(
                target: events::TARGET, event = events::PASSWORD_CHANGED, user_id, by = "user"
            );
        }
        observe("change_password", result)
    }

    async fn change_password_steps(
        &self,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let user = inner
            .users
            .find_by_id(user_id)
            .await?
            .ok_or(Error::UnknownUser)?;
        // Counted before the check, like a login, so concurrent guesses cannot outrun it.
        let key = user_key(&user.username);
        self.admit(&key, self.now(), inner.throttle_policy).await?;
        let current_ok = PasswordHasher::check_input(current).is_ok()
            && match inner
                .hasher
                .verify_async(current, &user.password_hash)
                .await
            {
                Ok(ok) => ok,
                Err(err) => return Err(hashing_error(err)),
            };
        if !current_ok {
            return Err(Error::InvalidCredentials);
        }
        inner.throttle.clear(&key).await?;
        // Only over the hash that was verified: a change or reset that landed meanwhile wins.
        self.replace_password(&user, new, Some(&user.password_hash))
            .await
    }

    /// Sets a user's password without the current one (administrators, password reset); the new
    /// password is still policy-checked, and every earlier token stops working.
    pub async fn set_password(&self, user_id: &str, new: &SecretString) -> Result<(), Error> {
        let result = async {
            let user = self
                .inner
                .users
                .find_by_id(user_id)
                .await?
                .ok_or(Error::UnknownUser)?;
            self.replace_password(&user, new, None).await
        }
        .await;
        if result.is_ok() {
            tracing::info!(
                target: events::TARGET, event = events::PASSWORD_CHANGED, user_id,
                by = "administrator"
            );
        }
        observe("set_password", result)
    }

    /// Hashes `new` and stores it for `user` between two cutoffs. With `expected`, only if the
    /// stored hash is still that one (a compare-and-set); otherwise [`Error::InvalidCredentials`],
    /// as the password that was checked is no longer the current one.
    async fn replace_password(
        &self,
        user: &User,
        new: &SecretString,
        expected: Option<&PasswordHash>,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let hash = inner
            .hasher
            .hash_new_password_async(&user.username, new)
            .await
            .map_err(|err| match err {
                PasswordError::Policy(violation) => Error::WeakPassword(violation),
                PasswordError::TooLong { max } => {
                    Error::WeakPassword(crate::password::PolicyViolation::TooLong { max })
                }
                PasswordError::ContainsNul => {
                    Error::WeakPassword(crate::password::PolicyViolation::ContainsNul)
                }
                PasswordError::Empty => {
                    Error::WeakPassword(crate::password::PolicyViolation::TooShort {
                        min: inner.hasher.policy().min_chars(),
                    })
                }
                other => hashing_error(other),
            })?;
        // Cut off, write, cut off again. The first raise makes a store failure between the
        // steps leave tokens revoked with the old password in place, never the reverse; the
        // second cuts off a login that read the old hash before the write (logins read the
        // generation before the hash, see `check_password`). The steps run in a task of their
        // own, so a caller that gives up (a request deadline, a closed connection) cannot stop
        // the sequence between the write and the second cutoff.
        let (users, revocation) = (inner.users.clone(), inner.revocation.clone());
        let (id, expected) = (user.id.clone(), expected.cloned());
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Password(PasswordError::NoRuntime))?;
        let steps = runtime.spawn(async move {
            revocation.bump_user_generation(&id).await?;
            match expected {
                Some(expected) => {
                    if !users.upgrade_password_hash(&id, &expected, &hash).await? {
                        return Err(Error::InvalidCredentials);
                    }
                }
                None => users.update_password_hash(&id, &hash).await?,
            }
            revocation.bump_user_generation(&id).await?;
            Ok(())
        });
        steps
            .await
            .map_err(|_| Error::Password(PasswordError::WorkerFailed))?
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
