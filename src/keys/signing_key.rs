//! One key: its id, algorithm, private material (zeroized on drop), the parsed signing key and
//! the ready-made `jsonwebtoken` verification key, built once so signing and verifying parse
//! nothing per token.
//!
//! Signing goes through aws-lc-rs: its RSA is constant time (the `rsa` crate's is not, see
//! RUSTSEC-2023-0071), and a key parsed once signs many tokens, where `jsonwebtoken`'s signers
//! parse the key again for every signature.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use aws_lc_rs::{hmac, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use super::jwks::Jwk;
use super::{KeyAlgorithm, KeyError};

const RSA_GENERATED_SIZE: rsa::KeySize = rsa::KeySize::Rsa2048;
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
    signer: Signer,
    pub(crate) decoding: DecodingKey,
}

/// The private key, parsed. The aws-lc key pairs are not `Clone` and an HMAC key is large, so a
/// cloned [`SigningKey`] shares them.
#[derive(Clone)]
enum Signer {
    Hmac(Arc<hmac::Key>),
    Ed25519(Arc<Ed25519KeyPair>),
    Ecdsa(Arc<EcdsaKeyPair>),
    Rsa(Arc<RsaKeyPair>),
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
                // PKCS#8 v1, as `openssl genpkey` writes it, so the key file stays portable.
                let der = Ed25519KeyPair::generate().and_then(|key| key.to_pkcs8v1());
                secret_der(der.as_ref().map(AsRef::as_ref), algorithm)?
            }
            KeyAlgorithm::ES256 => {
                let der = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .and_then(|key| key.to_pkcs8v1());
                secret_der(der.as_ref().map(AsRef::as_ref), algorithm)?
            }
            KeyAlgorithm::RS256 => {
                let der = RsaKeyPair::generate(RSA_GENERATED_SIZE).and_then(|key| key.as_der());
                secret_der(der.as_ref().map(|der| der.as_ref()), algorithm)?
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
        let (signer, decoding, public) = match algorithm {
            KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512 => {
                let min = algorithm.min_secret_bytes();
                if private.len() < min {
                    return Err(KeyError::SecretTooShort {
                        algorithm,
                        len: private.len(),
                        min,
                    });
                }
                let hash = match algorithm {
                    KeyAlgorithm::HS384 => hmac::HMAC_SHA384,
                    KeyAlgorithm::HS512 => hmac::HMAC_SHA512,
                    _ => hmac::HMAC_SHA256,
                };
                (
                    Signer::Hmac(Arc::new(hmac::Key::new(hash, &private))),
                    DecodingKey::from_secret(&private),
                    None,
                )
            }
            KeyAlgorithm::EdDSA => {
                let key = Ed25519KeyPair::from_pkcs8(&private)
                    .map_err(|_| invalid("PKCS#8 DER of an Ed25519 key"))?;
                let public = key.public_key().as_ref().to_vec();
                (
                    Signer::Ed25519(Arc::new(key)),
                    DecodingKey::from_ed_der(&public),
                    Some(Jwk::okp(&kid, &public)),
                )
            }
            KeyAlgorithm::ES256 => {
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &private)
                    .map_err(|_| invalid("PKCS#8 DER of a P-256 key"))?;
                // The uncompressed point: 0x04, x, y.
                let point = key.public_key().as_ref().to_vec();
                let (Some(&0x04), Some(x), Some(y)) =
                    (point.first(), point.get(1..33), point.get(33..65))
                else {
                    return Err(invalid("PKCS#8 DER of a P-256 key"));
                };
                let jwk = Jwk::ec(&kid, x, y);
                (
                    Signer::Ecdsa(Arc::new(key)),
                    DecodingKey::from_ec_der(&point),
                    Some(jwk),
                )
            }
            KeyAlgorithm::RS256 => {
                let key = RsaKeyPair::from_pkcs8(&private)
                    .map_err(|_| invalid("PKCS#8 DER of an RSA key"))?;
                let bits = key.public_modulus_len() * 8;
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(KeyError::RsaKeySize { bits });
                }
                let public = key.public_key();
                let n = public.modulus().big_endian_without_leading_zero();
                let e = public.exponent().big_endian_without_leading_zero();
                let jwk = Jwk::rsa(&kid, n, e);
                let decoding = DecodingKey::from_rsa_raw_components(n, e);
                (Signer::Rsa(Arc::new(key)), decoding, Some(jwk))
            }
        };
        Ok(Self {
            kid,
            algorithm,
            private,
            public,
            created: None,
            signer,
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

    /// The JWS signature of `message` (the base64url header and payload joined by a dot).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        match &self.signer {
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signer::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            Signer::Ecdsa(key) => Ok(key.sign(&SystemRandom::new(), message)?.as_ref().to_vec()),
            Signer::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )?;
                Ok(signature)
            }
        }
    }
}

fn secret_der(
    der: Result<&[u8], &aws_lc_rs::error::Unspecified>,
    algorithm: KeyAlgorithm,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    der.map(|der| Zeroizing::new(der.to_vec()))
        .map_err(|_| KeyError::Generation(algorithm))
}
