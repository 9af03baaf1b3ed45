//! Signing keys: a [`KeySet`] holds one active key that signs and any number of older keys that
//! still verify, each named by a `kid`; it loads from and saves to a JSON key file and publishes
//! the public halves as a JWKS (RFC 7517).
//!
//! The default algorithm is **EdDSA (Ed25519)**: asymmetric, so resource servers can verify with
//! the public JWKS alone and never hold a key that can mint tokens; small keys and signatures;
//! deterministic signatures with no nonce to get wrong; and verification fast enough that the
//! public-key choice costs little. HS256 stays available for a single service that both issues and
//! verifies.
//!
//! # Key file
//!
//! ```json
//! {
//!   "format": "tokenward-keys/1",
//!   "active": "k7Qe2vYx0cM",
//!   "id_token": "Jq1Nw8rT3bLs",
//!   "keys": [
//!     {"kid": "k7Qe2vYx0cM", "alg": "EdDSA", "key": "<base64url>", "created": 1763884800},
//!     {"kid": "Jq1Nw8rT3bLs", "alg": "RS256", "key": "<base64url>", "created": 1763884800}
//!   ]
//! }
//! ```
//!
//! `id_token` (optional) names the RS256 key that signs OpenID Connect id_tokens, beside an
//! active key of another algorithm; see [`KeySet::with_id_token_key`].
//!
//! `key` is unpadded base64url of the private key: the raw secret for HS256/384/512 (at least as
//! many bytes as the hash output), PKCS#8 DER for EdDSA, ES256 and RS256 (RSA at least 2048
//! bits). `created` (unix seconds) is optional and informational. Files are written atomically
//! with mode 0600.

mod algorithm;
mod file;
mod jwks;
mod key_set;
mod signing_key;

pub use algorithm::KeyAlgorithm;
pub use jwks::{Jwk, Jwks};
pub use key_set::{ID_TOKEN_ALGORITHM, KeySet};
pub use signing_key::SigningKey;
pub(crate) use signing_key::{RSA_MAX_BITS, RSA_MIN_BITS};

use std::path::PathBuf;

/// Errors building, loading or saving keys. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An algorithm name tokenward does not support.
    #[error(
        "unsupported key algorithm {0:?} (supported: HS256, HS384, HS512, EdDSA, ES256, RS256)"
    )]
    UnsupportedAlgorithm(String),
    /// An HMAC secret shorter than the hash output.
    #[error("{algorithm} secret is {len} bytes; at least {min} are required")]
    SecretTooShort {
        /// The algorithm.
        algorithm: KeyAlgorithm,
        /// The length given.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// An RSA key outside 2048..=8192 bits.
    #[error("RSA key is {bits} bits; 2048 to 8192 are accepted")]
    RsaKeySize {
        /// The modulus size.
        bits: usize,
    },
    /// Private key bytes that do not parse as the algorithm's key type.
    #[error("key is not a valid {algorithm} private key (expected {expected})")]
    InvalidKey {
        /// The algorithm.
        algorithm: KeyAlgorithm,
        /// The encoding expected.
        expected: &'static str,
    },
    /// A `kid` that is empty, too long or uses characters outside `[A-Za-z0-9._-]`.
    #[error("key id must be 1 to 64 characters of A-Z a-z 0-9 . _ -")]
    InvalidKid,
    /// A public key in a JWK Set that does not hold what its `kty`, `crv` and `alg` say.
    #[error("public key {kid:?} is not a valid {algorithm} key ({reason})")]
    InvalidPublicKey {
        /// The key's id.
        kid: String,
        /// What its `alg` says.
        algorithm: KeyAlgorithm,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two keys share a `kid`.
    #[error("duplicate key id {0:?}")]
    DuplicateKid(String),
    /// A key file others could read or replace: refused, as ssh refuses such private keys.
    #[error("key file {path} {reason}")]
    InsecureFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// No key with this `kid`.
    #[error("no key with id {0:?}")]
    UnknownKid(String),
    /// The active key (or the id_token key) cannot be retired; rotate first.
    #[error("key {0:?} is an active signing key; rotate to a new key before retiring it")]
    RetireActive(String),
    /// Key generation failed.
    #[error("key generation failed for {0}")]
    Generation(KeyAlgorithm),
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file is malformed; `field` says where (for example `keys[1].alg`).
    #[error("key file {path}: {field}: {reason}")]
    File {
        /// The file (empty when parsing from a string).
        path: PathBuf,
        /// The JSON path of the bad field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}
