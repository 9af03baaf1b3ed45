//! Stored password hashes: `PasswordHash::parse` and `PasswordHasher::verify` on every format
//! (argon2id/i/d PHC, bcrypt, Django and passlib PBKDF2-SHA256).
//!
//! Input: the first byte picks the mode.
//! - Even, "parse": `HASH \0 PASSWORD`. The hash string is parsed; an accepted one is verified
//!   against the password when its cost is within a small budget (argon2 m*t <= 1024 KiB, bcrypt
//!   cost <= 5, PBKDF2 <= 5000 iterations; dearer hashes that are still within the hasher's
//!   limits are skipped so the fuzzer does not stall, and hashes above the limits are always
//!   checked, since they must be refused before any work).
//! - Odd, "construct": the fuzzer picks a format, cost, salt and password; the target makes the
//!   hash with the reference crates (argon2, bcrypt, pbkdf2) and checks tokenward verifies it.
//!
//! Invariants: parsing never panics; `parse` accepts exactly what a reference model of each
//! format accepts (prefix, field syntax, base64, hard limits from src/password/stored.rs and
//! params.rs); an accepted hash keeps its text and re-parses to the same format, and an argon2
//! hash re-serialised as canonical PHC parses and verifies the same; verification agrees with a
//! reference computation (argon2 and PBKDF2 recomputed here), never reports a parsed hash as
//! malformed, refuses hashes above the configured `HashLimits` with `UnsupportedParameters`, and
//! honours the pepper (argon2 only). Constructed hashes verify with the right password, fail
//! with a wrong one, and bcrypt ignores bytes past 72 as documented.

#![no_main]

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Version};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use libfuzzer_sys::fuzz_target;
use secrecy::{SecretBox, SecretString};
use sha2::Sha256;
use tokenward::password::{
    Argon2Params, HashFormat, HashLimits, MAX_BCRYPT_COST, MAX_HASH_BYTES, MAX_PASSWORD_BYTES,
    MAX_PBKDF2_ITERATIONS, PasswordError, PasswordHash, PasswordHasher,
};

const PEPPER: &[u8] = b"fuzzing pepper, 32 bytes long..";

/// The configured limits (the hasher's own params, 7 MiB/t=1/p=1, are admitted on top).
const LIMIT_ARGON2: (u32, u32, u32) = (Argon2Params::MIN_MEMORY_KIB, 2, 4);
const LIMIT_BCRYPT: u32 = 5;
const LIMIT_PBKDF2: u32 = 5000;
/// Verifications cheaper than this run; dearer ones within the limits are skipped.
const BUDGET_ARGON2_KIB_PASSES: u64 = 1024;

fn hashers() -> &'static (PasswordHasher, PasswordHasher) {
    static HASHERS: OnceLock<(PasswordHasher, PasswordHasher)> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let limits = HashLimits::DEFAULT
            .argon2(LIMIT_ARGON2.0, LIMIT_ARGON2.1, LIMIT_ARGON2.2)
            .unwrap()
            .bcrypt_cost(LIMIT_BCRYPT)
            .unwrap()
            .pbkdf2_iterations(LIMIT_PBKDF2)
            .unwrap();
        let builder = || {
            PasswordHasher::builder()
                .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
                .hash_limits(limits)
                .max_concurrent(1)
        };
        let plain = builder().build().unwrap();
        let peppered = builder()
            .pepper(SecretBox::new(Box::from(PEPPER)))
            .build()
            .unwrap();
        (plain, peppered)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        parse_and_verify(rest);
    } else {
        construct(rest);
    }
});

// ---------------------------------------------------------------------------------------------
// The reference model of each format.

/// What verifying a hash costs, read by the model.
#[derive(Clone, Copy, Debug)]
enum Cost {
    Argon2 { m: u32, t: u32, p: u32 },
    Bcrypt(u32),
    Pbkdf2(u32),
}

/// A hash as the model reads it.
struct Model {
    format: HashFormat,
    cost: Cost,
}

fn model(text: &str) -> Option<Model> {
    if text.len() > MAX_HASH_BYTES {
        return None;
    }
    if text.starts_with("$argon2") {
        model_argon2(text)
    } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
        let b = text.as_bytes();
        if b.len() != 60 || b[6] != b'$' {
            return None;
        }
        let cost: u32 = text.get(4..6)?.parse().ok()?;
        if !(4..=MAX_BCRYPT_COST).contains(&cost) {
            return None;
        }
        (b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
            && bcrypt_canonical(text))
        .then_some(Model {
                format: HashFormat::Bcrypt,
                cost: Cost::Bcrypt(cost),
            })
    } else if let Some(rest) = text.strip_prefix("pbkdf2_sha256$") {
        let [iterations, salt, hash] = fields(rest)?;
        let iterations = iterations_ok(iterations)?;
        let dk = STANDARD.decode(hash).ok()?;
        (!salt.is_empty() && (16..=64).contains(&dk.len())).then_some(Model {
            format: HashFormat::DjangoPbkdf2Sha256,
            cost: Cost::Pbkdf2(iterations),
        })
    } else if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
        let [iterations, salt, hash] = fields(rest)?;
        let iterations = iterations_ok(iterations)?;
        let salt = ab64(salt)?;
        let dk = ab64(hash)?;
        (!salt.is_empty() && (16..=64).contains(&dk.len())).then_some(Model {
            format: HashFormat::PasslibPbkdf2Sha256,
            cost: Cost::Pbkdf2(iterations),
        })
    } else {
        None
    }
}

fn fields(rest: &str) -> Option<[&str; 3]> {
    let parts: Vec<&str> = rest.split('$').collect();
    parts.try_into().ok()
}

fn iterations_ok(text: &str) -> Option<u32> {
    text.parse()
        .ok()
        .filter(|i| (1..=MAX_PBKDF2_ITERATIONS).contains(i))
}

/// passlib's adapted base64: '.' for '+', no padding required.
fn ab64(text: &str) -> Option<Vec<u8>> {
    if text.contains('+') {
        return None;
    }
    let standard = text.replace('.', "+");
    STANDARD_NO_PAD.decode(standard.trim_end_matches('=')).ok()
}

fn model_argon2(text: &str) -> Option<Model> {
    let phc = password_hash::PasswordHash::new(text).ok()?;
    let format = match phc.algorithm.as_str() {
        "argon2id" => HashFormat::Argon2id,
        "argon2i" => HashFormat::Argon2i,
        "argon2d" => HashFormat::Argon2d,
        _ => return None,
    };
    if !matches!(phc.version, None | Some(0x10) | Some(0x13)) {
        return None;
    }
    if phc
        .params
        .iter()
        .any(|(name, _)| !["m", "t", "p"].contains(&name.as_str()))
    {
        return None;
    }
    let (m, t, p) = (
        phc.params.get_decimal("m")?,
        phc.params.get_decimal("t")?,
        phc.params.get_decimal("p")?,
    );
    if m > Argon2Params::MAX_MEMORY_KIB
        || t > Argon2Params::MAX_ITERATIONS
        || p > Argon2Params::MAX_PARALLELISM
        || t < 1
        || p < 1
        || u64::from(m) < 8 * u64::from(p)
    {
        return None;
    }
    let mut buf = [0u8; 64];
    if phc.salt?.decode_b64(&mut buf).ok()?.len() < 8 {
        return None;
    }
    phc.hash?;
    Some(Model {
        format,
        cost: Cost::Argon2 { m, t, p },
    })
}

/// The format a prefix announces, for accepted hashes.
fn prefix_format(text: &str) -> Option<HashFormat> {
    let prefixes = [
        ("$argon2id$", HashFormat::Argon2id),
        ("$argon2i$", HashFormat::Argon2i),
        ("$argon2d$", HashFormat::Argon2d),
        ("$2a$", HashFormat::Bcrypt),
        ("$2b$", HashFormat::Bcrypt),
        ("$2y$", HashFormat::Bcrypt),
        ("pbkdf2_sha256$", HashFormat::DjangoPbkdf2Sha256),
        ("$pbkdf2-sha256$", HashFormat::PasslibPbkdf2Sha256),
    ];
    prefixes
        .iter()
        .find(|(prefix, _)| text.starts_with(prefix))
        .map(|(_, format)| *format)
}

/// Whether the last base64 character of a bcrypt hash's 22-character salt and of its
/// 31-character checksum carries no bits beyond the 16 and 23 bytes they encode (bcrypt's
/// alphabet is `./A-Za-z0-9`, in that order).
fn bcrypt_canonical(text: &str) -> bool {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let index = |c: u8| ALPHABET.iter().position(|&a| a == c).unwrap_or(0);
    let bytes = text.as_bytes();
    index(bytes[7 + 21]) & 0x0f == 0 && index(bytes[59]) & 0x03 == 0
}

fn above_limits(cost: Cost) -> bool {
    let (m, t, p) = LIMIT_ARGON2;
    match cost {
        Cost::Argon2 {
            m: hm,
            t: ht,
            p: hp,
        } => hm > m || ht > t || hp > p,
        Cost::Bcrypt(c) => c > LIMIT_BCRYPT,
        Cost::Pbkdf2(i) => i > LIMIT_PBKDF2,
    }
}

fn within_budget(cost: Cost) -> bool {
    match cost {
        Cost::Argon2 { m, t, .. } => u64::from(m) * u64::from(t) <= BUDGET_ARGON2_KIB_PASSES,
        Cost::Bcrypt(c) => c <= LIMIT_BCRYPT,
        Cost::Pbkdf2(i) => i <= LIMIT_PBKDF2,
    }
}

/// The reference verdict for argon2 and PBKDF2 (bcrypt has no second implementation here).
fn reference_verify(text: &str, password: &[u8]) -> Option<bool> {
    if text.starts_with("$argon2") {
        let phc = password_hash::PasswordHash::new(text).ok()?;
        let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
        let version = match phc.version {
            None | Some(0x10) => Version::V0x10,
            _ => Version::V0x13,
        };
        let expected = phc.hash?;
        let params = argon2::Params::new(
            phc.params.get_decimal("m")?,
            phc.params.get_decimal("t")?,
            phc.params.get_decimal("p")?,
            Some(expected.len()),
        )
        .ok()?;
        let mut buf = [0u8; 64];
        let salt = phc.salt?.decode_b64(&mut buf).ok()?;
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into(password, salt, &mut out)
            .ok()?;
        Some(out == expected.as_bytes())
    } else if let Some(rest) = text.strip_prefix("pbkdf2_sha256$") {
        let [iterations, salt, hash] = fields(rest)?;
        Some(pbkdf2_matches(
            password,
            salt.as_bytes(),
            iterations.parse().ok()?,
            &STANDARD.decode(hash).ok()?,
        ))
    } else if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
        let [iterations, salt, hash] = fields(rest)?;
        Some(pbkdf2_matches(
            password,
            &ab64(salt)?,
            iterations.parse().ok()?,
            &ab64(hash)?,
        ))
    } else {
        None
    }
}

fn pbkdf2_matches(password: &[u8], salt: &[u8], iterations: u32, expected: &[u8]) -> bool {
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out == expected
}

fn is_argon2(format: HashFormat) -> bool {
    matches!(
        format,
        HashFormat::Argon2id | HashFormat::Argon2i | HashFormat::Argon2d
    )
}

/// Whether tokenward accepts `password` as input at all (not empty, not too long, no NUL).
fn password_ok(password: &str) -> bool {
    !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES && !password.contains('\0')
}

// ---------------------------------------------------------------------------------------------

fn parse_and_verify(data: &[u8]) {
    let (hash, password) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"correct horse"[..]),
    };
    let text = String::from_utf8_lossy(hash).into_owned();
    let parsed = PasswordHash::parse(text.clone());
    let expected = model(&text);
    let (hash, modelled) = match (parsed, expected) {
        (Ok(hash), Some(modelled)) => (hash, modelled),
        (Err(_), None) => return,
        (Ok(hash), None) => panic!("accepted a {} hash the model refuses", hash.format()),
        (Err(e), Some(m)) => panic!("refused a {} hash the model accepts: {e}", m.format),
    };
    assert_eq!(hash.format(), modelled.format, "format");
    assert_eq!(
        Some(hash.format()),
        prefix_format(&text),
        "format vs prefix"
    );
    assert_eq!(hash.expose_secret(), text, "the stored text changed");
    let again = PasswordHash::parse(hash.expose_secret().to_owned()).expect("re-parse");
    assert_eq!(again.format(), hash.format(), "re-parse format");

    let (plain, peppered) = hashers();
    if hash.format() != HashFormat::Argon2id || !text.starts_with("$argon2id$v=19$") {
        assert!(plain.needs_rehash(&hash), "a legacy hash needs no rehash");
    }

    // argon2: the canonical PHC serialisation of the same hash is accepted too.
    let canonical = is_argon2(hash.format()).then(|| {
        let phc = password_hash::PasswordHash::new(&text).expect("accepted argon2 is PHC");
        let canonical = PasswordHash::parse(phc.to_string())
            .unwrap_or_else(|e| panic!("canonical PHC form refused: {e}"));
        assert_eq!(canonical.format(), hash.format(), "canonical PHC format");
        canonical
    });

    let password_text = String::from_utf8_lossy(password).into_owned();
    let secret = SecretString::from(password_text.clone());
    if above_limits(modelled.cost) {
        let verdict = plain.verify(&secret, &hash);
        if password_ok(&password_text) {
            assert!(
                matches!(verdict, Err(PasswordError::UnsupportedParameters { .. })),
                "a hash above the limits gave {verdict:?}"
            );
        } else {
            assert!(verdict.is_err(), "a refused password gave {verdict:?}");
        }
        return;
    }
    if !within_budget(modelled.cost) {
        return;
    }
    let verdict = plain.verify(&secret, &hash);
    if !password_ok(&password_text) {
        assert!(
            matches!(
                verdict,
                Err(PasswordError::Empty
                    | PasswordError::TooLong { .. }
                    | PasswordError::ContainsNul)
            ),
            "a password tokenward refuses gave {verdict:?}"
        );
        return;
    }
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(e) => panic!("verifying a parsed {} hash failed: {e}", hash.format()),
    };
    if let Some(reference) = reference_verify(&text, password_text.as_bytes()) {
        assert_eq!(verdict, reference, "verdict differs from the reference");
    }
    if let Some(canonical) = &canonical {
        assert_eq!(
            plain.verify(&secret, canonical).ok(),
            Some(verdict),
            "the canonical PHC form verifies differently"
        );
    }
    let with_pepper = peppered.verify(&secret, &hash).ok();
    if is_argon2(hash.format()) {
        if verdict {
            assert_eq!(
                with_pepper,
                Some(false),
                "an unpeppered hash verified with a pepper"
            );
        }
    } else {
        assert_eq!(
            with_pepper,
            Some(verdict),
            "the pepper changed a legacy verdict"
        );
    }
}

// ---------------------------------------------------------------------------------------------

fn construct(data: &[u8]) {
    if data.len() < 20 {
        return;
    }
    let (params, rest) = data.split_at(4);
    let (salt, password) = rest.split_at(16);
    let mut password: String = String::from_utf8_lossy(password).replace('\0', "");
    while password.len() > MAX_PASSWORD_BYTES {
        password.pop();
    }
    if password.is_empty() {
        password.push('p');
    }
    // A different password: the first character replaced.
    let first = password.chars().next().unwrap();
    let wrong = format!(
        "{}{}",
        if first == 'a' { 'b' } else { 'a' },
        &password[first.len_utf8()..]
    );
    let (plain, peppered) = hashers();
    let [pick, x, y, z] = [params[0], params[1], params[2], params[3]];
    let (text, format, pepper_only) = match pick % 5 {
        0 => {
            let iterations = 1 + u32::from(u16::from_le_bytes([x, y])) % 2000;
            let salt: String = salt
                .iter()
                .take(1 + usize::from(z) % 16)
                .map(|b| {
                    char::from(
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            [usize::from(*b) % 62],
                    )
                })
                .collect();
            let mut dk = vec![0u8; 16 + usize::from(z) % 49];
            pbkdf2::pbkdf2_hmac::<Sha256>(
                password.as_bytes(),
                salt.as_bytes(),
                iterations,
                &mut dk,
            );
            let text = format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(&dk));
            (text, HashFormat::DjangoPbkdf2Sha256, false)
        }
        1 => {
            let iterations = 1 + u32::from(u16::from_le_bytes([x, y])) % 2000;
            let salt = &salt[..1 + usize::from(z) % 16];
            let mut dk = vec![0u8; 16 + usize::from(z) % 49];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut dk);
            let ab64 = |b: &[u8]| STANDARD_NO_PAD.encode(b).replace('+', ".");
            let text = format!("$pbkdf2-sha256${iterations}${}${}", ab64(salt), ab64(&dk));
            (text, HashFormat::PasslibPbkdf2Sha256, false)
        }
        2 => {
            let version = match x % 3 {
                0 => bcrypt::Version::TwoA,
                1 => bcrypt::Version::TwoB,
                _ => bcrypt::Version::TwoY,
            };
            let parts = bcrypt::hash_with_salt(&password, 4, salt.try_into().unwrap()).unwrap();
            (parts.format_for_version(version), HashFormat::Bcrypt, false)
        }
        n => {
            let (algorithm, format) = match x % 3 {
                0 => (Algorithm::Argon2id, HashFormat::Argon2id),
                1 => (Algorithm::Argon2i, HashFormat::Argon2i),
                _ => (Algorithm::Argon2d, HashFormat::Argon2d),
            };
            let version = if y % 2 == 0 {
                Version::V0x13
            } else {
                Version::V0x10
            };
            let p = 1 + u32::from(z % 4);
            let m = 8 * p + u32::from(y / 2) % 64;
            let t = 1 + u32::from(z / 4) % 2;
            let out_len = 10 + usize::from(x / 3) % 55;
            let salt = &salt[..8 + usize::from(z / 16) % 9];
            let params = argon2::Params::new(m, t, p, Some(out_len)).unwrap();
            // pick 4: made with the pepper as argon2's secret.
            let with_secret = n == 4;
            let argon2 = if with_secret {
                Argon2::new_with_secret(PEPPER, algorithm, version, params).unwrap()
            } else {
                Argon2::new(algorithm, version, params)
            };
            let mut out = vec![0u8; out_len];
            argon2
                .hash_password_into(password.as_bytes(), salt, &mut out)
                .unwrap();
            // v=16 is written both ways: with `v=16`, and without `v=` (what it means then).
            let v = match (version, y % 4 < 2) {
                (Version::V0x13, _) => "v=19$",
                (_, true) => "v=16$",
                (_, false) => "",
            };
            let text = format!(
                "${}${v}m={m},t={t},p={p}${}${}",
                algorithm.as_str(),
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(&out)
            );
            (text, format, with_secret)
        }
    };
    let hash = PasswordHash::parse(text.clone())
        .unwrap_or_else(|e| panic!("a reference-made {format} hash is refused: {e}"));
    assert_eq!(hash.format(), format, "format of a reference-made hash");
    let right = SecretString::from(password.clone());
    let wrong = SecretString::from(wrong);
    let (with, without) = if pepper_only {
        (peppered, plain)
    } else {
        (plain, peppered)
    };
    assert_eq!(
        with.verify(&right, &hash).ok(),
        Some(true),
        "right password refused: {text}"
    );
    assert_eq!(
        with.verify(&wrong, &hash).ok(),
        Some(false),
        "wrong password accepted"
    );
    let other_pepper = without.verify(&right, &hash).ok();
    if is_argon2(format) {
        assert_eq!(other_pepper, Some(false), "verified with the wrong pepper");
    } else {
        assert_eq!(
            other_pepper,
            Some(true),
            "the pepper changed a legacy verdict"
        );
    }
    assert!(
        plain.needs_rehash(&hash),
        "a weak or legacy hash needs no rehash"
    );
    if format == HashFormat::Bcrypt
        && password.len() >= 72
        && password.len() + 2 <= MAX_PASSWORD_BYTES
    {
        let longer = SecretString::from(format!("{password}zz"));
        assert_eq!(
            plain.verify(&longer, &hash).ok(),
            Some(true),
            "bcrypt must ignore bytes past 72"
        );
    }
}
