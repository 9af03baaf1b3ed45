//! [`TokenCodec`]: signs access tokens with the active key and validates them against the
//! [`KeySet`], with the issuer, audience, lifetime, leeway and clock it was built with.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::SecretString;
use serde::Serialize;
use time::Duration;

use super::claims::{RawClaims, extra_claims};
use super::id_token::{ID_TOKEN_TYP, IdTokenClaims};
use super::refresh::{REFRESH_TYP, RefreshClaims};
use super::verified_cache::{self, DEFAULT_VERIFIED_CACHE_TOKENS, VerifiedCache};
use super::{AccessClaims, Scopes, SubjectKind, TokenError, Verified, verify};
use crate::clock::{Clock, SystemClock};
use crate::keys::{KeySet, SigningKey};

/// The largest leeway accepted for clock skew.
pub const MAX_LEEWAY: Duration = Duration::seconds(60);

/// Who a token is for: the user, the login session (refresh family), the user's token
/// generation and the revocation store's epoch at login, and when the session ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSubject<'a> {
    /// The user's stable id (`sub`).
    pub user_id: &'a str,
    /// The login session (`sid`).
    pub session_id: &'a str,
    /// The user's token generation (`gen`).
    pub generation: u64,
    /// The revocation store's epoch (`epoch`; 0 for none). See
    /// [`TokenRevocation`](crate::store::TokenRevocation#epochs-losing-the-state-fails-closed).
    pub epoch: u64,
    /// When the login session ends (unix seconds), if it does: access tokens never outlive it,
    /// so a revoked session's entry in the store outlasts every token of the session.
    pub session_exp: Option<i64>,
}

/// A refresh token fresh from signing, with its claims.
pub struct IssuedRefreshToken {
    /// The compact JWS. A credential: keep it out of logs.
    pub token: SecretString,
    /// What was signed.
    pub claims: RefreshClaims,
}

impl fmt::Debug for IssuedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedRefreshToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// An access token fresh from signing, with the claims it carries.
pub struct IssuedAccessToken {
    /// The compact JWS. A bearer credential: keep it out of logs.
    pub token: SecretString,
    /// What was signed.
    pub claims: AccessClaims,
}

impl fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Issues and validates access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenCodec {
    inner: Arc<Inner>,
}

struct Inner {
    keys: KeySet,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    leeway_secs: i64,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    /// Access tokens whose signature already checked out.
    verified: VerifiedCache,
    /// Headers are the same for every token of the active key: encoded once.
    access_header_b64: String,
    refresh_header_b64: String,
    /// `None` when the key set has no id_token key.
    id_token_header_b64: Option<String>,
}

impl fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCodec")
            .field("keys", &self.inner.keys)
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("access_ttl", &self.inner.access_ttl)
            .field("leeway_secs", &self.inner.leeway_secs)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish()
    }
}

/// Configures a [`TokenCodec`].
pub struct TokenCodecBuilder {
    keys: KeySet,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    leeway: Duration,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    verified_cache_tokens: usize,
}

impl fmt::Debug for TokenCodecBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCodecBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenCodecBuilder {
    /// Access-token lifetime (default 15 minutes; 1 second to 24 hours).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Tolerated clock skew for `exp`, `nbf` and `iat` (default 30 s, at most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Longest token accepted, checked before any decoding (default 8 KiB).
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// The clock for every time decision (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many verified access tokens to remember, so a token presented again skips the
    /// signature check (its time claims are still checked every time); 0 turns this off.
    /// Default [`DEFAULT_VERIFIED_CACHE_TOKENS`].
    pub fn verified_cache_tokens(mut self, tokens: usize) -> Self {
        self.verified_cache_tokens = tokens;
        self
    }

    /// Checks the configuration and builds the codec.
    pub fn build(self) -> Result<TokenCodec, TokenError> {
        if self.issuer.is_empty() {
            return Err(TokenError::InvalidConfig("issuer must not be empty"));
        }
        if self.audience.is_empty() {
            return Err(TokenError::InvalidConfig("audience must not be empty"));
        }
        if self.access_ttl < Duration::SECOND || self.access_ttl > Duration::DAY {
            return Err(TokenError::InvalidConfig(
                "access token lifetime must be 1 second to 24 hours",
            ));
        }
        if self.leeway.is_negative() || self.leeway > MAX_LEEWAY {
            return Err(TokenError::InvalidConfig("leeway must be 0 to 60 seconds"));
        }
        if !(256..=65536).contains(&self.max_token_bytes) {
            return Err(TokenError::InvalidConfig(
                "max token size must be 256 to 65536 bytes",
            ));
        }
        verify::install_crypto_provider();
        let access_header_b64 = encoded_header(self.keys.active(), verify::ACCESS_TYP);
        let refresh_header_b64 = encoded_header(self.keys.active(), REFRESH_TYP);
        let id_token_header_b64 = self
            .keys
            .id_token_key()
            .map(|key| encoded_header(key, ID_TOKEN_TYP));
        Ok(TokenCodec {
            inner: Arc::new(Inner {
                access_header_b64,
                refresh_header_b64,
                id_token_header_b64,
                keys: self.keys,
                issuer: self.issuer,
                audience: self.audience,
                access_ttl: self.access_ttl,
                leeway_secs: self.leeway.whole_seconds(),
                max_token_bytes: self.max_token_bytes,
                clock: self.clock,
                verified: VerifiedCache::new(self.verified_cache_tokens),
            }),
        })
    }
}

/// The base64url JOSE header for tokens of type `typ` signed with `key`.
fn encoded_header(key: &SigningKey, typ: &str) -> String {
    let header = serde_json::json!({ "alg": key.algorithm().name(), "typ": typ, "kid": key.kid() });
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// 128 random bits, base64url.
pub(super) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenCodec {
    /// A builder for tokens from `issuer` for `audience`, signed with `keys`' active key.
    pub fn builder(
        keys: KeySet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> TokenCodecBuilder {
        TokenCodecBuilder {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl: Duration::minutes(15),
            leeway: Duration::seconds(30),
            max_token_bytes: 8192,
            clock: Arc::new(SystemClock),
            verified_cache_tokens: DEFAULT_VERIFIED_CACHE_TOKENS,
        }
    }

    /// The key set tokens are signed and checked with.
    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    /// The `iss` this codec writes and requires.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `aud` this codec writes and requires.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.inner.access_ttl
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Signs an access token for `subject` (a stable user id) with `scopes`, in login session
    /// `session_id`, generation 0. [`crate::TokenIssuer`] issues through
    /// [`Self::issue_access_for`] with the user's current generation.
    pub fn issue_access(
        &self,
        subject: &str,
        scopes: &Scopes,
        session_id: &str,
    ) -> Result<IssuedAccessToken, TokenError> {
        let subject = TokenSubject {
            user_id: subject,
            session_id,
            generation: 0,
            epoch: 0,
            session_exp: None,
        };
        self.issue_access_for(subject, scopes, &())
    }

    /// Like [`Self::issue_access`], adding caller-defined claims. `extra` must serialise to a JSON
    /// object (or to nothing) and may not name a registered claim ([`super::REGISTERED_CLAIMS`]).
    pub fn issue_access_with_extra<E: Serialize>(
        &self,
        subject: &str,
        scopes: &Scopes,
        session_id: &str,
        extra: &E,
    ) -> Result<IssuedAccessToken, TokenError> {
        let subject = TokenSubject {
            user_id: subject,
            session_id,
            generation: 0,
            epoch: 0,
            session_exp: None,
        };
        self.issue_access_for(subject, scopes, extra)
    }

    /// Signs an access token for `subject` with `scopes` and caller-defined `extra` claims (`&()`
    /// for none).
    pub fn issue_access_for<E: Serialize>(
        &self,
        subject: TokenSubject<'_>,
        scopes: &Scopes,
        extra: &E,
    ) -> Result<IssuedAccessToken, TokenError> {
        self.issue_access_as(subject, scopes, extra, None, SubjectKind::User)
    }

    /// [`Self::issue_access_for`] naming the client the token is issued to, and whether `sub`
    /// is a user or that client.
    pub(crate) fn issue_access_as<E: Serialize>(
        &self,
        subject: TokenSubject<'_>,
        scopes: &Scopes,
        extra: &E,
        client_id: Option<&str>,
        subject_kind: SubjectKind,
    ) -> Result<IssuedAccessToken, TokenError> {
        let now = self.inner.clock.now();
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.inner.issuer.clone(),
            sub: subject.user_id.to_owned(),
            aud: vec![self.inner.audience.clone()],
            exp: subject
                .session_exp
                .unwrap_or(i64::MAX)
                .min((now + self.inner.access_ttl).unix_timestamp()),
            iat,
            nbf: Some(iat),
            jti: random_id(),
            scope: scopes.clone(),
            sid: subject.session_id.to_owned(),
            client_id: client_id.map(str::to_owned),
            generation: subject.generation,
            epoch: subject.epoch,
            subject_kind,
            extra: extra_claims(extra)?,
        };
        let token = self.sign(
            self.inner.keys.active(),
            &claims,
            &self.inner.access_header_b64,
        )?;
        Ok(IssuedAccessToken {
            token: SecretString::from(token),
            claims,
        })
    }

    /// Signs a refresh token for `subject`, valid for `ttl` but never past `session_exp`.
    pub fn issue_refresh(
        &self,
        subject: TokenSubject<'_>,
        scopes: &Scopes,
        ttl: Duration,
        session_exp: i64,
    ) -> Result<IssuedRefreshToken, TokenError> {
        self.issue_refresh_as(subject, scopes, ttl, session_exp, None)
    }

    /// [`Self::issue_refresh`] bound to the client it is issued to.
    pub(crate) fn issue_refresh_as(
        &self,
        subject: TokenSubject<'_>,
        scopes: &Scopes,
        ttl: Duration,
        session_exp: i64,
        client_id: Option<&str>,
    ) -> Result<IssuedRefreshToken, TokenError> {
        let now = self.inner.clock.now();
        let claims = RefreshClaims {
            iss: self.inner.issuer.clone(),
            sub: subject.user_id.to_owned(),
            aud: self.inner.issuer.clone(),
            exp: (now + ttl).unix_timestamp().min(session_exp),
            iat: now.unix_timestamp(),
            jti: random_id(),
            sid: subject.session_id.to_owned(),
            scope: scopes.clone(),
            generation: subject.generation,
            epoch: subject.epoch,
            session_exp,
            client_id: client_id.map(str::to_owned),
        };
        let token = self.sign(
            self.inner.keys.active(),
            &claims,
            &self.inner.refresh_header_b64,
        )?;
        Ok(IssuedRefreshToken {
            token: SecretString::from(token),
            claims,
        })
    }

    /// Validates a refresh token's signature, type and claims. Whether it was already used,
    /// revoked or cut off is the store's answer, checked by [`crate::TokenIssuer::refresh`].
    pub fn validate_refresh(&self, token: &str) -> Result<Verified<RefreshClaims>, TokenError> {
        let payload = self.verify_signature(token, is_refresh_typ)?;
        let claims: RefreshClaims = serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("claims are not valid refresh-token claims"))?;
        self.check_registered_claims(
            &claims.iss,
            std::slice::from_ref(&claims.aud),
            &self.inner.issuer,
            claims.exp.min(claims.session_exp),
            None,
            claims.iat,
        )?;
        Ok(Verified::new(claims))
    }

    /// Signs an OpenID Connect id_token with the key set's id_token key.
    pub fn issue_id_token(&self, claims: &IdTokenClaims) -> Result<String, TokenError> {
        let (Some(key), Some(header)) = (
            self.inner.keys.id_token_key(),
            self.inner.id_token_header_b64.as_deref(),
        ) else {
            return Err(TokenError::InvalidConfig(
                "the key set has no id_token key (KeySet::with_id_token_key)",
            ));
        };
        self.sign(key, claims, header)
    }

    /// Signs `claims` with the active key under the JOSE `typ` `typ`: the tokens this crate
    /// makes for itself (device cookies), never accepted where another `typ` is expected.
    #[cfg(feature = "provider")]
    pub(super) fn sign_typed<C: Serialize>(
        &self,
        claims: &C,
        typ: &str,
    ) -> Result<String, TokenError> {
        let key = self.inner.keys.active();
        self.sign(key, claims, &encoded_header(key, typ))
    }

    /// The payload of `token` if it is signed with one of the key set's keys and typed `typ`
    /// exactly. Claims are the caller's to check.
    pub(super) fn verified_payload(&self, token: &str, typ: &str) -> Result<Vec<u8>, TokenError> {
        verify::signed_payload(
            token,
            self.inner.max_token_bytes,
            |t| t == typ,
            |kid| {
                self.inner
                    .keys
                    .get(kid)
                    .map(|key| (key.algorithm(), &key.decoding))
            },
        )
    }

    fn sign<C: Serialize>(
        &self,
        key: &SigningKey,
        claims: &C,
        header_b64: &str,
    ) -> Result<String, TokenError> {
        let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Signing)?;
        let mut token = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 400);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = key
            .sign(token.as_bytes())
            .map_err(|_| TokenError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Validates an access token: structure, key, algorithm, signature, `typ`, `iss`, `aud`,
    /// `exp`, `nbf`, `iat`. This checks what the token itself proves; revocation needs a store
    /// and is checked on top of this by the caller.
    pub fn validate_access(&self, token: &str) -> Result<Verified<AccessClaims>, TokenError> {
        let cache = &self.inner.verified;
        if !cache.is_enabled() {
            return self.validate_access_uncached(token);
        }
        if token.len() > self.inner.max_token_bytes {
            return Err(TokenError::Oversized {
                max: self.inner.max_token_bytes,
            });
        }
        let key = verified_cache::digest(token);
        if let Some(claims) = cache.get(&key) {
            self.check_access_claims(&claims)?;
            return Ok(Verified::new(claims));
        }
        let verified = self.validate_access_uncached(token)?;
        cache.insert(key, &verified, self.inner.clock.now().unix_timestamp());
        Ok(verified)
    }

    fn validate_access_uncached(&self, token: &str) -> Result<Verified<AccessClaims>, TokenError> {
        let payload = self.verify_signature(token, verify::is_access_typ)?;
        let raw: RawClaims = serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("claims are not a valid JSON claims object"))?;
        let claims = raw.into_claims()?;
        self.check_access_claims(&claims)?;
        Ok(Verified::new(claims))
    }

    fn check_access_claims(&self, claims: &AccessClaims) -> Result<(), TokenError> {
        self.check_registered_claims(
            &claims.iss,
            &claims.aud,
            &self.inner.audience,
            claims.exp,
            claims.nbf,
            claims.iat,
        )
    }

    /// Checks everything up to and including the signature and `typ`; returns the decoded
    /// payload.
    fn verify_signature(
        &self,
        token: &str,
        typ_ok: fn(&str) -> bool,
    ) -> Result<Vec<u8>, TokenError> {
        verify::signed_payload(token, self.inner.max_token_bytes, typ_ok, |kid| {
            self.inner
                .keys
                .get(kid)
                .map(|key| (key.algorithm(), &key.decoding))
        })
    }

    fn check_registered_claims(
        &self,
        iss: &str,
        aud: &[String],
        audience: &str,
        exp: i64,
        nbf: Option<i64>,
        iat: i64,
    ) -> Result<(), TokenError> {
        verify::RegisteredClaimRules {
            issuer: &self.inner.issuer,
            audience,
            leeway_secs: self.inner.leeway_secs,
            now: self.inner.clock.now().unix_timestamp(),
        }
        .check(iss, aud, exp, nbf, iat)
    }
}

fn is_refresh_typ(typ: &str) -> bool {
    typ == REFRESH_TYP
}
