//! Access tokens (RFC 9068 JWT profile): issuing, validating, and the [`Verified`] proof type
//! that is the only way to hold validated claims.
//!
//! Validation never lets the token choose how it is checked: the `kid` selects a key, the key
//! fixes the algorithm, and a header naming any other algorithm (including `none`) is refused
//! before any signature work. Each rejection has its own [`TokenError`] variant for logs and
//! tests; what a client is told is the HTTP layer's decision.

mod claims;
mod codec;
#[cfg(feature = "provider")]
mod device;
mod id_token;
mod jwks_verifier;
mod refresh;
mod scope;
mod verified_cache;
mod verify;

use std::ops::Deref;

pub use claims::{AccessClaims, REGISTERED_CLAIMS, SubjectKind};
pub use codec::{
    IssuedAccessToken, IssuedRefreshToken, MAX_LEEWAY, TokenCodec, TokenCodecBuilder, TokenSubject,
};
pub use id_token::{IdTokenClaims, at_hash};
pub use jwks_verifier::JwksVerifier;
pub use refresh::RefreshClaims;
pub use scope::{
    ACCOUNT_SCOPE, IDENTITY_SCOPES, InsufficientScope, MAX_SCOPE_BYTES, ScopeError, Scopes,
};
pub use verified_cache::DEFAULT_VERIFIED_CACHE_TOKENS;

/// Claims that passed validation. Only this crate can construct one, so a function taking
/// `Verified<AccessClaims>` cannot be handed claims that skipped a check.
#[derive(Clone, Debug)]
pub struct Verified<T> {
    claims: T,
}

impl<T> Verified<T> {
    pub(crate) fn new(claims: T) -> Self {
        Self { claims }
    }

    /// Narrowing after validation (scopes a user has lost) stays within this crate.
    pub(crate) fn claims_mut(&mut self) -> &mut T {
        &mut self.claims
    }

    /// The validated claims.
    pub fn claims(&self) -> &T {
        &self.claims
    }

    /// Takes the claims out. The result no longer proves anything.
    pub fn into_claims(self) -> T {
        self.claims
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.claims
    }
}

/// Why a token was not issued or not accepted. Never contains the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured limit; nothing was decoded.
    #[error("token is longer than {max} bytes")]
    Oversized {
        /// The limit.
        max: usize,
    },
    /// Not a compact JWS, or a part that does not decode.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names `none` or an algorithm tokenward does not accept.
    #[error("token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The header has no `kid`.
    #[error("token header has no key id")]
    MissingKid,
    /// No key (or no longer a key) with the header's `kid`.
    #[error("token names an unknown key id")]
    UnknownKid,
    /// The header's `alg` differs from the algorithm of the key its `kid` selects.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// The header `typ` is missing or is not the expected token type.
    #[error("token type is wrong")]
    WrongType,
    /// The `iss` claim is not this issuer.
    #[error("token issuer is wrong")]
    WrongIssuer,
    /// The `aud` claim does not include this audience.
    #[error("token audience is wrong")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token is not yet valid")]
    NotYetValid,
    /// A required claim is missing.
    #[error("token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an invalid value.
    #[error("token claim {0} is invalid")]
    InvalidClaim(&'static str),
    /// Extra claims tried to set a registered claim (issuing only).
    #[error("extra claim {0:?} would override a registered claim")]
    ReservedClaim(String),
    /// Extra claims did not serialise to a JSON object (issuing only).
    #[error("extra claims must serialise to a JSON object")]
    ExtraClaimsNotObject,
    /// Signing failed.
    #[error("token signing failed")]
    Signing,
    /// A configuration value is out of range.
    #[error("invalid token configuration: {0}")]
    InvalidConfig(&'static str),
}
