use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

use super::KeyError;

/// The JWS algorithms tokenward signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// Ed25519 (the default).
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl KeyAlgorithm {
    /// The algorithm [`crate::keys::KeySet::generate`] picks when none is named: EdDSA.
    pub const DEFAULT: Self = Self::EdDSA;

    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    /// Whether the key is a shared secret (and so absent from the JWKS).
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// The minimum HMAC secret length: the hash output size (RFC 7518 §3.2).
    pub(crate) fn min_secret_bytes(self) -> usize {
        match self {
            Self::HS384 => 48,
            Self::HS512 => 64,
            _ => 32,
        }
    }

    pub(crate) fn to_jwt(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::HS384 => Algorithm::HS384,
            Self::HS512 => Algorithm::HS512,
            Self::EdDSA => Algorithm::EdDSA,
            Self::ES256 => Algorithm::ES256,
            Self::RS256 => Algorithm::RS256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;
    fn from_str(name: &str) -> Result<Self, KeyError> {
        Ok(match name {
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            "EdDSA" => Self::EdDSA,
            "ES256" => Self::ES256,
            "RS256" => Self::RS256,
            other => {
                return Err(KeyError::UnsupportedAlgorithm(
                    other.chars().take(32).collect(),
                ));
            }
        })
    }
}
