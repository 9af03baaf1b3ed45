//! [`JwksVerifier`]: access-token validation for a resource server, which has the issuer's
//! public keys (its JWKS) and nothing else: no private key, no user store, no revocation store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use time::Duration;

use super::claims::RawClaims;
use super::{AccessClaims, MAX_LEEWAY, TokenError, Verified, verify};
use crate::clock::{Clock, SystemClock};
use crate::keys::{Jwk, Jwks, KeyAlgorithm, KeyError, RSA_MAX_BITS, RSA_MIN_BITS};

/// The longest token accepted unless configured otherwise, as [`super::TokenCodec`]'s default.
const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Validates access tokens with an issuer's public keys, as fetched from its
/// `/.well-known/jwks.json`: the same checks as [`super::TokenCodec::validate_access`]
/// (algorithm from the key, never the header; signature; `typ`; `iss`; `aud`; `exp`, `nbf`,
/// `iat` with leeway).
///
/// What it cannot know: whether the token was revoked, cut off by a logout-all or a password
/// change, or its user disabled. Those live in the issuer's stores; a resource server that must
/// honour them at once asks the issuer (token introspection), and one that uses this verifier
/// alone accepts a token until it expires. Keep access tokens short-lived.
///
/// ```
/// use tokenward::keys::{KeyAlgorithm, KeySet};
/// use tokenward::token::{JwksVerifier, Scopes, TokenCodec};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // At the issuer:
/// let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::EdDSA)?, "https://auth.example", "api").build()?;
/// let issued = codec.issue_access("u1", &Scopes::parse("items:read")?, "session-1")?;
/// let jwks_json = serde_json::to_string(&codec.keys().jwks())?;
///
/// // At the resource server, with the JWKS it fetched:
/// let verifier = JwksVerifier::new(&serde_json::from_str(&jwks_json)?, "https://auth.example", "api")?;
/// let claims = verifier.verify(secrecy::ExposeSecret::expose_secret(&issued.token))?;
/// assert_eq!(claims.sub, "u1");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksVerifier {
    keys: Arc<HashMap<String, (KeyAlgorithm, DecodingKey)>>,
    issuer: String,
    audience: String,
    leeway_secs: i64,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("JwksVerifier")
            .field("kids", &kids)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish_non_exhaustive()
    }
}

impl JwksVerifier {
    /// A verifier for tokens from `issuer` to `audience`, with the signature keys of `jwks`.
    /// Keys of an algorithm tokenward does not verify, HMAC keys, and keys not for signatures
    /// are left out (RFC 7517 §5 lets a set hold keys a reader does not understand); a key that
    /// claims a supported algorithm but does not hold a valid key of it is an error.
    pub fn new(
        jwks: &Jwks,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, KeyError> {
        super::verify::install_crypto_provider();
        let mut keys = HashMap::with_capacity(jwks.keys.len());
        for jwk in &jwks.keys {
            let Some((algorithm, key)) = decoding_key(jwk)? else {
                continue;
            };
            if keys.insert(jwk.kid.clone(), (algorithm, key)).is_some() {
                return Err(KeyError::DuplicateKid(jwk.kid.clone()));
            }
        }
        Ok(Self {
            keys: Arc::new(keys),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: 0,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
        })
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default none), at most [`MAX_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, TokenError> {
        if leeway.is_negative() || leeway > MAX_LEEWAY {
            return Err(TokenError::InvalidConfig("leeway must be 0 to 60 seconds"));
        }
        self.leeway_secs = leeway.whole_seconds();
        Ok(self)
    }

    /// Longest token accepted, checked before any decoding (default 8 KiB; 256 to 65536).
    pub fn max_token_bytes(mut self, max: usize) -> Result<Self, TokenError> {
        if !(256..=65536).contains(&max) {
            return Err(TokenError::InvalidConfig(
                "max token bytes must be 256 to 65536",
            ));
        }
        self.max_token_bytes = max;
        Ok(self)
    }

    /// The clock time checks use (default the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether the set holds a usable key with this id: a resource server that meets a token
    /// naming an unknown `kid` fetches the JWKS again (the issuer rotated its key).
    pub fn has_key(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// How many usable keys the set holds.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Validates an access token; see the type's documentation for what this does not check.
    pub fn verify(&self, token: &str) -> Result<Verified<AccessClaims>, TokenError> {
        let payload =
            verify::signed_payload(token, self.max_token_bytes, verify::is_access_typ, |kid| {
                self.keys.get(kid).map(|(algorithm, key)| (*algorithm, key))
            })?;
        let raw: RawClaims = serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("claims are not a valid JSON claims object"))?;
        let claims = raw.into_claims()?;
        verify::RegisteredClaimRules {
            issuer: &self.issuer,
            audience: &self.audience,
            leeway_secs: self.leeway_secs,
            now: self.clock.now().unix_timestamp(),
        }
        .check(&claims.iss, &claims.aud, claims.exp, claims.nbf, claims.iat)?;
        Ok(Verified::new(claims))
    }
}

/// The verification key `jwk` holds, or `None` for a key this verifier does not use.
fn decoding_key(jwk: &Jwk) -> Result<Option<(KeyAlgorithm, DecodingKey)>, KeyError> {
    let Ok(algorithm) = jwk.alg.parse::<KeyAlgorithm>() else {
        return Ok(None);
    };
    if algorithm.is_symmetric() || jwk.use_ != "sig" {
        return Ok(None);
    }
    let invalid = |reason| KeyError::InvalidPublicKey {
        kid: jwk.kid.clone(),
        algorithm,
        reason,
    };
    let member = |value: &Option<String>, name| value.clone().ok_or_else(|| invalid(name));
    let key = match algorithm {
        KeyAlgorithm::EdDSA => {
            if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
                return Err(invalid("EdDSA keys are kty OKP, crv Ed25519"));
            }
            DecodingKey::from_ed_components(&member(&jwk.x, "no x")?)
        }
        KeyAlgorithm::ES256 => {
            if jwk.kty != "EC" || jwk.crv.as_deref() != Some("P-256") {
                return Err(invalid("ES256 keys are kty EC, crv P-256"));
            }
            DecodingKey::from_ec_components(&member(&jwk.x, "no x")?, &member(&jwk.y, "no y")?)
        }
        KeyAlgorithm::RS256 => {
            if jwk.kty != "RSA" {
                return Err(invalid("RS256 keys are kty RSA"));
            }
            let n = member(&jwk.n, "no n")?;
            // The sizes the issuer side accepts (`SigningKey`): a short modulus is forgeable,
            // a huge one makes every verification expensive.
            let modulus = URL_SAFE_NO_PAD
                .decode(&n)
                .map_err(|_| invalid("n is not base64url"))?;
            let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
            if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                return Err(KeyError::RsaKeySize { bits });
            }
            DecodingKey::from_rsa_components(&n, &member(&jwk.e, "no e")?)
        }
        // Symmetric algorithms were left out above.
        _ => return Ok(None),
    };
    let key = key.map_err(|_| invalid("its members are not valid base64url key material"))?;
    Ok(Some((algorithm, key)))
}
