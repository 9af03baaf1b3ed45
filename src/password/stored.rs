//! Stored hash formats: recognising a hash string, checking its parameters against hard limits
//! before any work is done, and verifying a password against it.
//!
//! Every limit here exists because a stored hash can be planted (an imported users file, a
//! compromised database row): without them `m=4194304` would allocate 4 GiB per login.

use argon2::{Algorithm, Argon2, Version};
use base64::Engine as _;
use base64::alphabet::Alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::limits::HashCost;
use super::memory::BlockPool;
use super::{Argon2Params, PasswordError};

/// The longest stored hash string accepted, in bytes. Real hashes are under 200.
pub const MAX_HASH_BYTES: usize = 512;
/// The highest bcrypt cost accepted for verification (cost 16 is about 4 s on one core).
pub const MAX_BCRYPT_COST: u32 = 16;
/// The highest PBKDF2 iteration count accepted for verification (Django 6 uses 1.2 million).
pub const MAX_PBKDF2_ITERATIONS: u32 = 3_000_000;

/// The formats a stored password hash can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashFormat {
    /// argon2id PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`): what tokenward writes.
    Argon2id,
    /// argon2i PHC string (verified, then upgraded).
    Argon2i,
    /// argon2d PHC string (verified, then upgraded).
    Argon2d,
    /// bcrypt `$2a$`, `$2b$` or `$2y$`. Passwords over 72 bytes are truncated, as passlib and
    /// every C implementation do.
    Bcrypt,
    /// Django's `pbkdf2_sha256$iterations$salt$hash`.
    DjangoPbkdf2Sha256,
    /// passlib's `$pbkdf2-sha256$rounds$salt$checksum` (adapted base64).
    PasslibPbkdf2Sha256,
}

impl HashFormat {
    /// A short name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Argon2i => "argon2i",
            Self::Argon2d => "argon2d",
            Self::Bcrypt => "bcrypt",
            Self::DjangoPbkdf2Sha256 => "pbkdf2_sha256 (Django)",
            Self::PasslibPbkdf2Sha256 => "pbkdf2-sha256 (passlib)",
        }
    }
}

impl std::fmt::Display for HashFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed stored hash with everything a verification needs.
pub(crate) enum StoredHash<'a> {
    Argon2 {
        algorithm: Algorithm,
        version: Version,
        params: Argon2Params,
        salt: Zeroizing<Vec<u8>>,
        expected: Zeroizing<Vec<u8>>,
    },
    Bcrypt {
        encoded: &'a str,
        cost: u32,
    },
    Pbkdf2Sha256 {
        format: HashFormat,
        iterations: u32,
        salt: Zeroizing<Vec<u8>>,
        expected: Zeroizing<Vec<u8>>,
    },
}

// passlib's "ab64": the standard alphabet with '.' in place of '+', padding omitted.
const PASSLIB_AB64: GeneralPurpose = GeneralPurpose::new(
    &match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./") {
        Ok(alphabet) => alphabet,
        Err(_) => panic!("static alphabet is valid"),
    },
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn malformed(format: &'static str, reason: &'static str) -> PasswordError {
    PasswordError::MalformedHash { format, reason }
}

fn unsupported(format: &'static str, reason: &'static str) -> PasswordError {
    PasswordError::UnsupportedParameters { format, reason }
}

impl<'a> StoredHash<'a> {
    pub(crate) fn parse(encoded: &'a str) -> Result<Self, PasswordError> {
        if encoded.len() > MAX_HASH_BYTES {
            return Err(malformed("any", "hash string is longer than 512 bytes"));
        }
        if encoded.starts_with("$argon2") {
            parse_argon2(encoded)
        } else if encoded.starts_with("$2a$")
            || encoded.starts_with("$2b$")
            || encoded.starts_with("$2y$")
        {
            parse_bcrypt(encoded)
        } else if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
            parse_django(rest)
        } else if let Some(rest) = encoded.strip_prefix("$pbkdf2-sha256$") {
            parse_passlib(rest)
        } else {
            Err(PasswordError::UnknownFormat)
        }
    }

    pub(crate) fn format(&self) -> HashFormat {
        match self {
            Self::Argon2 { algorithm, .. } => match algorithm {
                Algorithm::Argon2id => HashFormat::Argon2id,
                Algorithm::Argon2i => HashFormat::Argon2i,
                Algorithm::Argon2d => HashFormat::Argon2d,
            },
            Self::Bcrypt { .. } => HashFormat::Bcrypt,
            Self::Pbkdf2Sha256 { format, .. } => *format,
        }
    }

    /// What verifying against this hash costs.
    pub(crate) fn cost(&self) -> HashCost {
        match self {
            Self::Argon2 { params, .. } => HashCost::Argon2 {
                memory_kib: params.memory_kib(),
                iterations: params.iterations(),
                parallelism: params.parallelism(),
            },
            Self::Bcrypt { cost, .. } => HashCost::Bcrypt { cost: *cost },
            Self::Pbkdf2Sha256 { iterations, .. } => HashCost::Pbkdf2 {
                iterations: *iterations,
            },
        }
    }

    /// Whether this hash is weaker than what `current` would produce now.
    pub(crate) fn is_outdated(&self, current: &Argon2Params) -> bool {
        match self {
            Self::Argon2 {
                algorithm: Algorithm::Argon2id,
                version: Version::V0x13,
                params,
                ..
            } => current.is_stronger_than(params),
            _ => true,
        }
    }

    /// Runs the hash function; `Ok(false)` is a wrong password. The comparison is constant-time.
    pub(crate) fn verify(
        &self,
        password: &[u8],
        pepper: Option<&[u8]>,
        memory: &BlockPool,
    ) -> Result<bool, PasswordError> {
        match self {
            Self::Argon2 {
                algorithm,
                version,
                params,
                salt,
                expected,
            } => {
                let argon2_params = argon2::Params::new(
                    params.memory_kib(),
                    params.iterations(),
                    params.parallelism(),
                    Some(expected.len()),
                )
                .map_err(|_| unsupported("argon2", "parameters rejected by argon2"))?;
                let hasher = match pepper {
                    Some(pepper) => {
                        Argon2::new_with_secret(pepper, *algorithm, *version, argon2_params)
                            .map_err(|_| PasswordError::Hashing)?
                    }
                    None => Argon2::new(*algorithm, *version, argon2_params),
                };
                let mut actual = Zeroizing::new(vec![0u8; expected.len()]);
                memory
                    .with_blocks(hasher.params().block_count(), |blocks| {
                        hasher.hash_password_into_with_memory(password, salt, &mut actual, blocks)
                    })
                    .map_err(|_| malformed("argon2", "salt or output length out of range"))?;
                Ok(bool::from(actual.ct_eq(expected)))
            }
            Self::Bcrypt { encoded, .. } => bcrypt::verify(password, encoded)
                .map_err(|_| malformed("bcrypt", "hash rejected by bcrypt")),
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                expected,
                ..
            } => {
                let mut actual = Zeroizing::new(vec![0u8; expected.len()]);
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut actual);
                Ok(bool::from(actual.ct_eq(expected)))
            }
        }
    }
}

fn parse_argon2(encoded: &str) -> Result<StoredHash<'_>, PasswordError> {
    const F: &str = "argon2";
    let phc = password_hash::PasswordHash::new(encoded)
        .map_err(|_| malformed(F, "not a valid PHC string"))?;
    let algorithm = match phc.algorithm.as_str() {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return Err(malformed(F, "unknown argon2 variant")),
    };
    // The PHC format for argon2 predates the version field: a hash without `v=` is 0x10.
    let version = match phc.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err(unsupported(F, "unknown argon2 version")),
    };
    let mut memory = None;
    let mut iterations = None;
    let mut parallelism = None;
    for (name, value) in phc.params.iter() {
        let slot = match name.as_str() {
            "m" => &mut memory,
            "t" => &mut iterations,
            "p" => &mut parallelism,
            _ => {
                return Err(unsupported(
                    F,
                    "unsupported parameter (only m, t and p are)",
                ));
            }
        };
        let value = value
            .decimal()
            .map_err(|_| malformed(F, "parameter value is not a decimal number"))?;
        *slot = Some(value);
    }
    let (Some(m), Some(t), Some(p)) = (memory, iterations, parallelism) else {
        return Err(malformed(F, "missing one of the m, t, p parameters"));
    };
    let params = Argon2Params::from_stored(m, t, p)?;
    let salt = phc.salt.ok_or_else(|| malformed(F, "missing salt"))?;
    let mut salt_buf = [0u8; password_hash::Salt::MAX_LENGTH];
    let salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|_| malformed(F, "salt is not valid base64"))?;
    if salt.len() < 8 {
        return Err(malformed(F, "salt is shorter than 8 bytes"));
    }
    let expected = phc
        .hash
        .ok_or_else(|| malformed(F, "missing hash output"))?;
    Ok(StoredHash::Argon2 {
        algorithm,
        version,
        params,
        salt: Zeroizing::new(salt.to_vec()),
        expected: Zeroizing::new(expected.as_bytes().to_vec()),
    })
}

fn parse_bcrypt(encoded: &str) -> Result<StoredHash<'_>, PasswordError> {
    const F: &str = "bcrypt";
    let bytes = encoded.as_bytes();
    if bytes.len() != 60 || bytes[6] != b'$' {
        return Err(malformed(
            F,
            "expected 60 characters: $2b$NN$ and 53 of salt and hash",
        ));
    }
    let cost: u32 = encoded[4..6]
        .parse()
        .map_err(|_| malformed(F, "cost is not a two-digit number"))?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(unsupported(F, "cost outside 4..=16"));
    }
    if !bytes[7..]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/')
    {
        return Err(malformed(
            F,
            "salt and hash contain characters outside bcrypt's base64",
        ));
    }
    // The bcrypt crate refuses a salt or hash whose last base64 character carries stray bits,
    // at every verification: refused here, an import cannot store a hash nobody can log in with.
    if encoded.parse::<bcrypt::HashParts>().is_err() {
        return Err(malformed(F, "salt or hash is not canonical bcrypt base64"));
    }
    Ok(StoredHash::Bcrypt { encoded, cost })
}

/// Django: `pbkdf2_sha256$<iterations>$<salt as text>$<standard base64 hash>`.
fn parse_django(rest: &str) -> Result<StoredHash<'_>, PasswordError> {
    const F: &str = "pbkdf2_sha256 (Django)";
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(F, "expected pbkdf2_sha256$iterations$salt$hash"));
    };
    let iterations = parse_iterations(F, iterations)?;
    if salt.is_empty() {
        return Err(malformed(F, "empty salt"));
    }
    let expected = STANDARD
        .decode(hash)
        .map_err(|_| malformed(F, "hash is not valid base64"))?;
    pbkdf2_hash(
        HashFormat::DjangoPbkdf2Sha256,
        iterations,
        salt.as_bytes().to_vec(),
        expected,
    )
}

/// passlib: `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 checksum>`.
fn parse_passlib(rest: &str) -> Result<StoredHash<'_>, PasswordError> {
    const F: &str = "pbkdf2-sha256 (passlib)";
    let mut parts = rest.split('$');
    let (Some(rounds), Some(salt), Some(checksum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(F, "expected $pbkdf2-sha256$rounds$salt$checksum"));
    };
    let iterations = parse_iterations(F, rounds)?;
    let salt = PASSLIB_AB64
        .decode(salt)
        .map_err(|_| malformed(F, "salt is not valid adapted base64"))?;
    if salt.is_empty() {
        return Err(malformed(F, "empty salt"));
    }
    let expected = PASSLIB_AB64
        .decode(checksum)
        .map_err(|_| malformed(F, "checksum is not valid adapted base64"))?;
    pbkdf2_hash(HashFormat::PasslibPbkdf2Sha256, iterations, salt, expected)
}

fn parse_iterations(format: &'static str, text: &str) -> Result<u32, PasswordError> {
    let iterations: u32 = text
        .parse()
        .map_err(|_| malformed(format, "iteration count is not a number"))?;
    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
        return Err(unsupported(format, "iteration count outside 1..=3000000"));
    }
    Ok(iterations)
}

fn pbkdf2_hash(
    format: HashFormat,
    iterations: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
) -> Result<StoredHash<'static>, PasswordError> {
    if !(16..=64).contains(&expected.len()) {
        return Err(malformed(
            format.name(),
            "derived key is not 16 to 64 bytes",
        ));
    }
    Ok(StoredHash::Pbkdf2Sha256 {
        format,
        iterations,
        salt: Zeroizing::new(salt),
        expected: Zeroizing::new(expected),
    })
}
