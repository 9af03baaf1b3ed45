//! Public keys as JSON Web Keys (RFC 7517), for resource servers that verify tokens themselves.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// One public key (RFC 7517 §4, with the RFC 7518/8037 members for its key type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// Key type: `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// The one algorithm this key is for.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Curve (`Ed25519`, `P-256`), for OKP and EC keys.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    /// Public key (OKP) or x coordinate (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    /// y coordinate (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    /// Modulus (RSA), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    /// Public exponent (RSA), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
}

impl Jwk {
    fn new(kty: &str, kid: &str, alg: &str) -> Self {
        Self {
            kty: kty.into(),
            kid: kid.into(),
            alg: alg.into(),
            use_: "sig".into(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        }
    }

    pub(crate) fn okp(kid: &str, public: &[u8]) -> Self {
        Self {
            crv: Some("Ed25519".into()),
            x: Some(URL_SAFE_NO_PAD.encode(public)),
            ..Self::new("OKP", kid, "EdDSA")
        }
    }

    pub(crate) fn ec(kid: &str, x: &[u8], y: &[u8]) -> Self {
        Self {
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(x)),
            y: Some(URL_SAFE_NO_PAD.encode(y)),
            ..Self::new("EC", kid, "ES256")
        }
    }

    pub(crate) fn rsa(kid: &str, n: &[u8], e: &[u8]) -> Self {
        Self {
            n: Some(URL_SAFE_NO_PAD.encode(n)),
            e: Some(URL_SAFE_NO_PAD.encode(e)),
            ..Self::new("RSA", kid, "RS256")
        }
    }
}

/// A JWK Set: `{"keys": [...]}`. Empty when only HMAC keys are configured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    /// The public keys, the active one first.
    pub keys: Vec<Jwk>,
}
