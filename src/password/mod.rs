//! Password hashing and verification.
//!
//! New passwords are hashed with argon2id ([`Argon2Params::DEFAULT`] is OWASP's m = 19 MiB, t = 2,
//! p = 1). Verification also accepts the formats services migrate from (argon2i/argon2d, bcrypt,
//! Django's and passlib's PBKDF2-SHA256), and [`PasswordHasher::needs_rehash`] says when a hash
//! should be replaced after a successful login.
//!
//! Hashing is slow on purpose. In async code use [`PasswordHasher::hash_async`] and
//! [`PasswordHasher::verify_async`]: they run on tokio's blocking pool, at most
//! [`PasswordHasherBuilder::max_concurrent`] at a time, so memory stays bounded at
//! `permits x argon2 memory` and executor threads never stall.
//!
//! ```
//! use secrecy::SecretString;
//! use tokenward::password::{Argon2Params, PasswordHasher};
//!
//! # fn main() -> Result<(), tokenward::password::PasswordError> {
//! let hasher = PasswordHasher::builder()
//!     .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1)?)
//!     .build()?;
//! let password = SecretString::from("correct horse battery staple");
//! let hash = hasher.hash_new_password("alice", &password)?;
//! assert!(hasher.verify(&password, &hash)?);
//! assert!(!hasher.verify(&SecretString::from("wrong password"), &hash)?);
//! assert!(!hasher.needs_rehash(&hash));
//! # Ok(())
//! # }
//! ```

mod hasher;
mod limits;
mod memory;
mod params;
mod policy;
mod stored;
mod verify_times;

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

pub use hasher::{HasherStats, PasswordHasher, PasswordHasherBuilder};
pub use limits::HashLimits;
pub use params::Argon2Params;
pub use policy::{COMMON_PASSWORDS, MAX_PASSWORD_BYTES, PasswordPolicy, PolicyViolation};
pub use stored::{HashFormat, MAX_BCRYPT_COST, MAX_HASH_BYTES, MAX_PBKDF2_ITERATIONS};

use stored::StoredHash;

/// A stored password hash in one of the [`HashFormat`]s, checked when it is constructed.
///
/// It is secret (an offline guessing attack starts from it): `Debug` shows only its format.
#[derive(Clone)]
pub struct PasswordHash {
    encoded: SecretString,
    format: HashFormat,
}

impl PasswordHash {
    /// Parses a stored hash, refusing unknown formats, malformed strings and parameters beyond
    /// the verification limits (so a planted hash cannot make a login allocate gigabytes).
    pub fn parse(encoded: impl Into<String>) -> Result<Self, PasswordError> {
        let encoded = SecretString::from(encoded.into());
        let format = StoredHash::parse(encoded.expose_secret())?.format();
        Ok(Self { encoded, format })
    }

    /// The format this hash is in.
    pub fn format(&self) -> HashFormat {
        self.format
    }

    /// The encoded hash, for writing to storage.
    pub fn expose_secret(&self) -> &str {
        self.encoded.expose_secret()
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Turns raw bytes (say, a form field) into a password, refusing invalid UTF-8.
///
/// The bytes are zeroized when they are refused.
pub fn password_from_bytes(bytes: Vec<u8>) -> Result<SecretString, PasswordError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SecretString::from(text)),
        Err(err) => {
            zeroize::Zeroize::zeroize(&mut err.into_bytes());
            Err(PasswordError::NotUtf8)
        }
    }
}

/// Everything that can go wrong hashing or verifying a password. No variant carries a password
/// or a hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is empty.
    #[error("password is empty")]
    Empty,
    /// The password is longer than [`MAX_PASSWORD_BYTES`]; refused before any hashing.
    #[error("password is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The password contains a NUL character (C bcrypt implementations stop reading at it).
    #[error("password contains a NUL character")]
    ContainsNul,
    /// The password bytes are not UTF-8.
    #[error("password is not valid UTF-8")]
    NotUtf8,
    /// A new password breaks the [`PasswordPolicy`].
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The stored hash is in no supported format.
    #[error(
        "password hash is in no supported format (argon2 PHC, bcrypt $2a$/$2b$/$2y$, \
         Django pbkdf2_sha256, passlib $pbkdf2-sha256$)"
    )]
    UnknownFormat,
    /// The stored hash is recognisably in `format` but malformed.
    #[error("malformed {format} hash: {reason}")]
    MalformedHash {
        /// The format it claims to be.
        format: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The stored hash asks for parameters outside what tokenward will run.
    #[error("unsupported {format} hash: {reason}")]
    UnsupportedParameters {
        /// The format.
        format: &'static str,
        /// Which limit it exceeds.
        reason: &'static str,
    },
    /// A configuration value is out of range.
    #[error("argon2 {field} is {value}, outside the accepted range {min}..={max}")]
    InvalidParameters {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u32,
        /// The lowest accepted value.
        min: u32,
        /// The highest accepted value.
        max: u32,
    },
    /// The configured pepper is too short to add any security.
    #[error("pepper must be at least {min} bytes")]
    PepperTooShort {
        /// The minimum length.
        min: usize,
    },
    /// The hash function itself failed (should not happen with validated parameters).
    #[error("password hashing failed")]
    Hashing,
    /// An async method was called outside a tokio runtime.
    #[error("the async password API needs a tokio runtime; use the sync methods instead")]
    NoRuntime,
    /// The blocking task running the hash was cancelled or panicked.
    #[error("password hashing task did not complete")]
    WorkerFailed,
    /// More hashes are already waiting for a permit than the hasher queues
    /// ([`PasswordHasherBuilder::max_waiting`]); refused at once instead of queueing. Retry
    /// shortly.
    #[error("too many password checks are waiting; retry shortly")]
    Busy,
}
