//! Password login (RFC 6749 §4.3 and the browser's login form): throttled before any check,
//! the same store calls and about the same time for unknown users, outdated hashes upgraded.

use super::*;

/// The id looked up for a username that does not exist, so that path makes the same store calls
/// as a real login. User ids are generated hex; this one can never be one.
const UNKNOWN_USER_ID: &str = "-no-such-user-";

/// The throttle key of a username.
pub(super) fn user_key(username: &str) -> String {
    format!("user:{username}")
}

/// The throttle key of a username's logins from one address (`None`: callers that do not say,
/// counted as one address). Its prefix is no other key's, and the address part has no `|`, so
/// no username can make it another pair's key or a [`user_key`].
fn user_at_key(username: &str, client: Option<IpAddr>) -> String {
    match client {
        Some(client) => format!("user-at:{}|{username}", client_key(client)),
        None => format!("user-at:unknown|{username}"),
    }
}

/// The throttle key of a device cookie's logins (its token id).
fn device_key(token_id: &str) -> String {
    format!("device:{token_id}")
}

/// The throttle key of an address's successful logins: how many of them give their attempt
/// back to the address budget in a window.
fn successes_key(client: IpAddr) -> String {
    format!("successes-{}", client_key(client))
}

/// Where a password login comes from, for its throttles.
#[derive(Clone, Debug)]
pub(crate) struct LoginOrigin {
    /// The peer address, if the caller knows it.
    pub(crate) address: Option<IpAddr>,
    /// The id of the device cookie of this username the browser carries: its logins count
    /// against that cookie instead of the per-username lock (the per-address ones apply too).
    pub(crate) known_device: Option<String>,
}

/// The throttle key of a client address: IPv6 per /64, since one subscriber gets a whole /64.
pub(super) fn client_key(client: IpAddr) -> String {
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
pub(crate) fn hashing_error(err: PasswordError) -> Error {
    match err {
        PasswordError::Busy => Error::Busy,
        PasswordError::NoRuntime | PasswordError::WorkerFailed => {
            Error::Password(PasswordError::WorkerFailed)
        }
        other => Error::Password(other),
    }
}

impl TokenIssuer {
    /// Resource-owner password login (RFC 6749 §4.3), without a client address: only the
    /// per-username throttle applies. Servers should call [`Self::login_from`].
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        self.login_with(None, username, password, requested, None)
            .await
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
        self.login_with(Some(client), username, password, requested, None)
            .await
    }

    /// [`Self::login_from`] for `oauth_client`, a client registered for the password grant:
    /// the tokens are bound to it (its refresh token needs it) and carry no scope beyond its
    /// registration.
    #[cfg(feature = "provider")]
    pub(crate) async fn login_for_client(
        &self,
        address: IpAddr,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
        oauth_client: &Client,
    ) -> Result<TokenPair, Error> {
        self.login_with(
            Some(address),
            username,
            password,
            requested,
            Some(oauth_client),
        )
        .await
    }

    async fn login_with(
        &self,
        client: Option<IpAddr>,
        username: &str,
        password: &SecretString,
        requested: Option<&Scopes>,
        oauth_client: Option<&Client>,
    ) -> Result<TokenPair, Error> {
        let result = async {
            let origin = LoginOrigin {
                address: client,
                known_device: None,
            };
            let (user, issuance) = self.authenticate_with(origin, username, password).await?;
            let available = match oauth_client {
                Some(oauth_client) => user.scopes.intersection(&oauth_client.scopes),
                None => user.scopes.clone(),
            };
            let granted = grant(&available, requested)?;
            let session_id = new_session_id();
            let session_exp = self.session_exp();
            let subject = TokenSubject {
                user_id: &user.id,
                session_id: &session_id,
                generation: issuance.generation,
                epoch: issuance.epoch,
                session_exp: Some(session_exp),
            };
            let client_id = oauth_client.map(|c| c.client_id.as_str());
            self.issue_pair(subject, &granted, &granted, session_exp, client_id)
        }
        .await;
        observe("login", result)
    }

    /// When a login session starting now ends.
    pub(super) fn session_exp(&self) -> i64 {
        (self.inner.codec.clock().now() + self.inner.session_lifetime).unix_timestamp()
    }

    /// Checks a username and password exactly as a password login does (throttles, timing,
    /// hash upgrade), without issuing tokens: the login form of the authorization endpoint.
    /// Returns the user and the generation and epoch their tokens get.
    pub(crate) async fn authenticate_with(
        &self,
        origin: LoginOrigin,
        username: &str,
        password: &SecretString,
    ) -> Result<(User, Issuance), Error> {
        let address = origin.address;
        let result = self.authenticate_steps(origin, username, password).await;
        let client = address.map(tracing::field::display);
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
        origin: LoginOrigin,
        username: &str,
        password: &SecretString,
    ) -> Result<(User, Issuance), Error> {
        let client = origin.address;
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
        // Every attempt counts against its address (a success is given back below), then
        // against the username from that address, then against the username everywhere or,
        // from a browser that has logged in as this user before, against that browser's
        // device cookie: an attacker elsewhere cannot lock the user out of their own browser.
        if let Some(client) = client {
            self.admit(&client_key(client), now, inner.client_policy)
                .await
                .map_err(throttled("client"))?;
        }
        // OWASP's device cookies: a browser that logged in as this user before is held to its
        // own budget, so guesses from elsewhere cannot lock it out, and a stolen cookie buys
        // no more than one address's guesses.
        let user_keys = [
            (user_at_key(username, client), inner.throttle_policy),
            match &origin.known_device {
                Some(token_id) => (device_key(token_id), inner.throttle_policy),
                None => (user_key(username), inner.username_policy),
            },
        ];
        for (key, policy) in &user_keys {
            self.admit(key, now, *policy)
                .await
                .map_err(throttled("username"))?;
        }
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
        for (key, _) in &user_keys {
            inner.throttle.clear(key).await?;
        }
        // A success gives its attempt back to the address, up to as many successes as the
        // address budget again: a NAT's morning logins do not lock it, and one valid account
        // cannot keep the hasher busy without bound.
        if let Some(client) = client
            && inner
                .throttle
                .attempt(&successes_key(client), now, inner.client_policy)
                .await?
                == Admission::Admitted
        {
            inner
                .throttle
                .release(&client_key(client), now, inner.client_policy)
                .await?;
        }
        self.upgrade_hash(&user, password).await;
        Ok((user, issuance))
    }

    /// Counts an attempt for `key`; a locked key is [`Error::Throttled`].
    pub(super) async fn admit(
        &self,
        key: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<(), Error> {
        match self.inner.throttle.attempt(key, now, policy).await? {
            Admission::Admitted => Ok(()),
            Admission::Locked { retry_after_secs } => Err(Error::Throttled { retry_after_secs }),
        }
    }

    /// Counts a new pending authorization request (a login or consent form the store keeps until
    /// it is answered) against, where the route knows it, `address`'s budget and then
    /// `browser`'s (a cookie digest); [`Error::Throttled`] past either. The address budget is
    /// what bounds an anonymous flood (a script can drop its cookies, not its address), so it
    /// comes first: a refused request writes nothing for its new cookie.
    #[cfg(feature = "provider")]
    pub(crate) async fn admit_pending_request(
        &self,
        address: Option<IpAddr>,
        browser: &str,
        limits: crate::provider::PendingLimits,
    ) -> Result<(), Error> {
        let now = self.now();
        if let Some(address) = address {
            let key = format!("pending-{}", client_key(address));
            self.admit(&key, now, limits.per_address).await?;
        }
        let key = format!("pending-browser:{browser}");
        self.admit(&key, now, limits.per_browser).await
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

    pub(super) fn issue_pair(
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
}
