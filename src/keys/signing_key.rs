//! One key: its id, algorithm, private material (zeroized on drop) and the ready-made
//! `jsonwebtoken` keys, built once so signing and verifying parse nothing per token.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use rand::rngs::OsRng;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use super::jwks::Jwk;
use super::{KeyAlgorithm, KeyError};

const RSA_GENERATED_BITS: usize = 2048;
pub(crate) const RSA_MIN_BITS: usize = 2048;
pub(crate) const RSA_MAX_BITS: usize = 8192;

/// A private signing key with its `kid`. `Debug` shows the id and algorithm only.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: KeyAlgorithm,
    /// The HMAC secret or the PKCS#8 DER, exactly as the key file stores it.
    private: Zeroizing<Vec<u8>>,
    public: Option<Jwk>,
    created: Option<i64>,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

pub(crate) fn check_kid(kid: &str) -> Result<(), KeyError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=64).contains(&kid.len()) && kid.chars().all(legal) {
        Ok(())
    } else {
        Err(KeyError::InvalidKid)
    }
}

/// 96 random bits, base64url: unique without coordination between instances.
pub(crate) fn random_kid() -> String {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// Generates a fresh key with a random `kid`.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let private = match algorithm {
            KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512 => {
                let mut secret = Zeroizing::new(vec![0u8; algorithm.min_secret_bytes()]);
                OsRng.fill_bytes(&mut secret);
                secret
            }
            KeyAlgorithm::EdDSA => {
                let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                pkcs8_bytes(key.to_pkcs8_der(), algorithm)?
            }
            KeyAlgorithm::ES256 => {
                let key = p256::SecretKey::random(&mut OsRng);
                pkcs8_bytes(key.to_pkcs8_der(), algorithm)?
            }
            KeyAlgorithm::RS256 => {
                let key = rsa::RsaPrivateKey::new(&mut OsRng, RSA_GENERATED_BITS)
                    .map_err(|_| KeyError::Generation(algorithm))?;
                pkcs8_bytes(key.to_pkcs8_der(), algorithm)?
            }
        };
        Self::from_private_bytes(random_kid(), algorithm, private)
    }

    /// An HMAC key from a secret of at least the hash output length (32, 48 or 64 bytes).
    pub fn from_secret(
        kid: impl Into<String>,
        algorithm: KeyAlgorithm,
        secret: SecretBox<[u8]>,
    ) -> Result<Self, KeyError> {
        if !algorithm.is_symmetric() {
            return Err(KeyError::InvalidKey {
                algorithm,
                expected: "PKCS#8 DER, not a shared secret",
            });
        }
        Self::from_private_bytes(
            kid.into(),
            algorithm,
            Zeroizing::new(secret.expose_secret().to_vec()),
        )
    }

    /// An EdDSA, ES256 or RS256 key from its PKCS#8 DER encoding.
    pub fn from_pkcs8_der(
        kid: impl Into<String>,
        algorithm: KeyAlgorithm,
        der: &[u8],
    ) -> Result<Self, KeyError> {
        if algorithm.is_symmetric() {
            return Err(KeyError::InvalidKey {
                algorithm,
                expected: "a shared secret, not PKCS#8",
            });
        }
        Self::from_private_bytes(kid.into(), algorithm, Zeroizing::new(der.to_vec()))
    }

    /// Validates the material for `algorithm` and derives the public half.
    pub(crate) fn from_private_bytes(
        kid: String,
        algorithm: KeyAlgorithm,
        private: Zeroizing<Vec<u8>>,
    ) -> Result<Self, KeyError> {
        check_kid(&kid)?;
        let invalid = |expected| KeyError::InvalidKey {
            algorithm,
            expected,
        };
        let (encoding, decoding, public) = match algorithm {
            KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512 => {
                let min = algorithm.min_secret_bytes();
                if private.len() < min {
                    return Err(KeyError::SecretTooShort {
                        algorithm,
                        len: private.len(),
                        min,
                    });
                }
                (
                    EncodingKey::from_secret(&private),
                    DecodingKey::from_secret(&private),
                    None,
                )
            }
            KeyAlgorithm::EdDSA => {
                let key = ed25519_dalek::SigningKey::from_pkcs8_der(&private)
                    .map_err(|_| invalid("PKCS#8 DER of an Ed25519 key"))?;
                let public = key.verifying_key().to_bytes();
                (
                    EncodingKey::from_ed_der(&private),
                    DecodingKey::from_ed_der(&public),
                    Some(Jwk::okp(&kid, &public)),
                )
            }
            KeyAlgorithm::ES256 => {
                let key = p256::SecretKey::from_pkcs8_der(&private)
                    .map_err(|_| invalid("PKCS#8 DER of a P-256 key"))?;
                let point = key.public_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(invalid("PKCS#8 DER of a P-256 key"));
                };
                let jwk = Jwk::ec(&kid, x, y);
                (
                    EncodingKey::from_ec_der(&private),
                    DecodingKey::from_ec_der(point.as_bytes()),
                    Some(jwk),
                )
            }
            KeyAlgorithm::RS256 => {
                let key = rsa::RsaPrivateKey::from_pkcs8_der(&private)
                    .map_err(|_| invalid("PKCS#8 DER of an RSA key"))?;
                let bits = key.size() * 8;
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(KeyError::RsaKeySize { bits });
                }
                // jsonwebtoken's RSA signer wants PKCS#1.
                let pkcs1 = key
                    .to_pkcs1_der()
                    .map_err(|_| invalid("PKCS#8 DER of an RSA key"))?;
                let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
                (
                    EncodingKey::from_rsa_der(pkcs1.as_bytes()),
                    DecodingKey::from_rsa_raw_components(&n, &e),
                    Some(Jwk::rsa(&kid, &n, &e)),
                )
            }
        };
        Ok(Self {
            kid,
            algorithm,
            private,
            public,
            created: None,
            encoding,
            decoding,
        })
    }

    /// The key id, sent as the token header's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm; tokens naming any other are refused.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The public key as a JWK, or `None` for HMAC keys.
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public.as_ref()
    }

    /// When the key was created (unix seconds), if known.
    pub fn created(&self) -> Option<i64> {
        self.created
    }

    /// Records the creation time (kept in the key file).
    pub fn with_created(mut self, unix_seconds: i64) -> Self {
        self.created = Some(unix_seconds);
        self
    }

    /// The private bytes as the key file stores them.
    pub(crate) fn private_bytes(&self) -> &[u8] {
        &self.private
    }
}

fn pkcs8_bytes(
    der: Result<ed25519_dalek::pkcs8::SecretDocument, ed25519_dalek::pkcs8::Error>,
    algorithm: KeyAlgorithm,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    der.map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
        .map_err(|_| KeyError::Generation(algorithm))
}
