//! Password hashing behaviour, including every kind of hostile input.

use secrecy::{SecretBox, SecretString};
use tokenward::password::{
    Argon2Params, HashFormat, PasswordError, PasswordHash, PasswordHasher, PolicyViolation,
    password_from_bytes,
};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Cheapest accepted parameters: these tests are about behaviour, not cost.
fn cheap() -> Argon2Params {
    Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap()
}

fn hasher() -> PasswordHasher {
    PasswordHasher::builder().params(cheap()).build().unwrap()
}

#[test]
fn hash_is_argon2id_phc_with_configured_params_and_random_salt() {
    let h = hasher();
    let a = h.hash(&secret("hunter2hunter2")).unwrap();
    let b = h.hash(&secret("hunter2hunter2")).unwrap();
    assert_eq!(a.format(), HashFormat::Argon2id);
    assert!(
        a.expose_secret()
            .starts_with("$argon2id$v=19$m=7168,t=1,p=1$"),
        "{}",
        a.expose_secret()
    );
    assert_ne!(a.expose_secret(), b.expose_secret(), "salt must differ");
    assert!(h.verify(&secret("hunter2hunter2"), &a).unwrap());
    assert!(!h.verify(&secret("hunter2hunter3"), &a).unwrap());
}

#[test]
fn default_params_are_owasp() {
    let h = PasswordHasher::default();
    let hash = h.hash(&secret("a long enough password")).unwrap();
    assert!(
        hash.expose_secret()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!h.needs_rehash(&hash));
}

#[test]
fn needs_rehash_when_params_are_weaker_than_configured() {
    let weak = hasher().hash(&secret("some password")).unwrap();
    let strong = PasswordHasher::default();
    assert!(strong.needs_rehash(&weak));
    assert!(!hasher().needs_rehash(&weak));
    // More memory but fewer iterations than configured is still weaker in one dimension.
    let mixed = PasswordHasher::builder()
        .params(Argon2Params::new(8192, 1, 1).unwrap())
        .build()
        .unwrap()
        .hash(&secret("some password"))
        .unwrap();
    let configured = PasswordHasher::builder()
        .params(Argon2Params::new(7168, 2, 1).unwrap())
        .build()
        .unwrap();
    assert!(configured.needs_rehash(&mixed));
}

#[test]
fn policy_is_applied_to_new_passwords_only() {
    let h = hasher();
    assert!(matches!(
        h.hash_new_password("alice", &secret("short")),
        Err(PasswordError::Policy(PolicyViolation::TooShort { min: 8 }))
    ));
    assert!(matches!(
        h.hash_new_password("alice", &secret("password123")),
        Err(PasswordError::Policy(PolicyViolation::Common))
    ));
    assert!(matches!(
        h.hash_new_password("alice-in-chains", &secret("Alice-In-Chains")),
        Err(PasswordError::Policy(PolicyViolation::SameAsUsername))
    ));
    // An existing hash of a weak password still verifies: policy is for choosing, not logging in.
    let weak = h.hash(&secret("password123")).unwrap();
    assert!(h.verify(&secret("password123"), &weak).unwrap());
}

#[test]
fn hostile_passwords_get_typed_errors_before_hashing() {
    let h = hasher();
    let hash = h.hash(&secret("legitimate password")).unwrap();
    assert!(matches!(
        h.verify(&secret(""), &hash),
        Err(PasswordError::Empty)
    ));
    let megabyte = "x".repeat(1 << 20);
    assert!(matches!(
        h.verify(&secret(&megabyte), &hash),
        Err(PasswordError::TooLong { max: 1024 })
    ));
    assert!(matches!(
        h.hash(&secret(&megabyte)),
        Err(PasswordError::TooLong { .. })
    ));
    assert!(matches!(
        h.verify(&secret("legit\0imate password"), &hash),
        Err(PasswordError::ContainsNul)
    ));
    assert!(matches!(
        h.hash(&secret("nul\0inside")),
        Err(PasswordError::ContainsNul)
    ));
    assert!(matches!(
        password_from_bytes(vec![0x66, 0x6f, 0xff, 0xfe]),
        Err(PasswordError::NotUtf8)
    ));
    assert!(password_from_bytes("ok".into()).is_ok());
    // Exactly at the limit is fine.
    let at_limit = "y".repeat(1024);
    let long_hash = h.hash(&secret(&at_limit)).unwrap();
    assert!(h.verify(&secret(&at_limit), &long_hash).unwrap());
}

#[test]
fn hostile_hash_strings_get_typed_errors() {
    let good = hasher().hash(&secret("password one")).unwrap();
    let good = good.expose_secret();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "unknown"),
        ("garbage".into(), "unknown"),
        // Stray bits in the last base64 character of salt and hash (found by the `stored_hash`
        // fuzz target): the bcrypt crate would refuse it at every login.
        (format!("$2b$04${}", "a".repeat(53)), "malformed"),
        ("$argon2id$".into(), "malformed"),
        (good[..good.len() / 2].into(), "malformed"),
        (format!("{good}$extra"), "malformed"),
        (
            "$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "malformed",
        ),
        (
            "$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "malformed",
        ),
        (
            "$argon2id$v=19$m=64,t=1,p=1$$aGFzaGhhc2hoYXNo".into(),
            "malformed",
        ),
        (
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ".into(),
            "malformed",
        ),
        (
            "$argon2id$v=19$m=64,t=1,p=1$c2Fs$aGFzaGhhc2hoYXNo".into(),
            "malformed",
        ),
        (
            "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "malformed",
        ),
        // 4 GiB of memory: refused from the string, never attempted.
        (
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            "$argon2id$v=19$m=65536,t=4294967295,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            "$argon2id$v=19$m=65536,t=1,p=255$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            "$argon2id$v=19$m=64,t=1,p=1,keyid=abc$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "unsupported",
        ),
        (
            format!(
                "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ${}",
                "A".repeat(600)
            ),
            "malformed",
        ),
        ("$2b$10$tooShort".into(), "malformed"),
        (format!("$2b$99${}", "a".repeat(53)), "unsupported"),
        (format!("$2b$31${}", "a".repeat(53)), "unsupported"),
        (format!("$2b$xx${}", "a".repeat(53)), "malformed"),
        (format!("$2b$10${}", "!".repeat(53)), "malformed"),
        (format!("$2x$10${}", "a".repeat(53)), "unknown"),
        ("pbkdf2_sha256$1000$salt".into(), "malformed"),
        ("pbkdf2_sha256$lots$salt$aGFzaA==".into(), "malformed"),
        (
            "pbkdf2_sha256$999999999$salt$aGFzaGhhc2hoYXNoaGFzaA==".into(),
            "unsupported",
        ),
        (
            "pbkdf2_sha256$0$salt$aGFzaGhhc2hoYXNoaGFzaA==".into(),
            "unsupported",
        ),
        ("pbkdf2_sha256$1000$salt$not base64!".into(), "malformed"),
        ("pbkdf2_sha256$1000$salt$aGFzaA==".into(), "malformed"),
        (
            "pbkdf2_sha256$1000$$aGFzaGhhc2hoYXNoaGFzaA==".into(),
            "malformed",
        ),
        ("$pbkdf2-sha256$29000$c2FsdA$***".into(), "malformed"),
        ("$pbkdf2-sha256$29000$c2FsdA".into(), "malformed"),
        ("\u{1F600}$argon2id$".into(), "unknown"),
    ];
    for (hash, expected) in cases {
        let result = PasswordHash::parse(hash.clone());
        let kind = match &result {
            Err(PasswordError::UnknownFormat) => "unknown",
            Err(PasswordError::MalformedHash { .. }) => "malformed",
            Err(PasswordError::UnsupportedParameters { .. }) => "unsupported",
            Err(other) => panic!("{hash:?}: unexpected error {other:?}"),
            Ok(_) => "accepted",
        };
        assert_eq!(kind, expected, "{hash:?}: {result:?}");
    }
}

#[test]
fn over_long_hash_string_is_refused() {
    let long = format!("$argon2id${}", "a".repeat(100_000));
    assert!(matches!(
        PasswordHash::parse(long),
        Err(PasswordError::MalformedHash { .. })
    ));
}

#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let h = hasher();
    let hash = h.hash(&secret("my secret password")).unwrap();
    let debug = format!("{hash:?} {h:?}");
    assert!(!debug.contains(hash.expose_secret()), "{debug}");
    assert!(!debug.contains("my secret password"), "{debug}");
    assert!(debug.contains("Argon2id"));

    let planted = format!("$2b$10${}", "!".repeat(53));
    let err = PasswordHash::parse(planted.clone())
        .unwrap_err()
        .to_string();
    assert!(!err.contains(&planted[7..]), "{err}");

    let peppered = PasswordHasher::builder()
        .pepper(SecretBox::new(Box::from(&b"0123456789abcdef-pepper"[..])))
        .build()
        .unwrap();
    assert!(!format!("{peppered:?}").contains("pepper\""));
    assert!(!format!("{peppered:?}").contains("0123456789abcdef"));
}

#[test]
fn pepper_is_required_to_verify_and_too_short_is_refused() {
    let pepper = || SecretBox::new(Box::from(&b"server-side-pepper-32-bytes-long"[..]));
    let peppered = PasswordHasher::builder()
        .params(cheap())
        .pepper(pepper())
        .build()
        .unwrap();
    let hash = peppered.hash(&secret("peppered password")).unwrap();
    assert!(
        peppered
            .verify(&secret("peppered password"), &hash)
            .unwrap()
    );
    assert!(
        !hasher()
            .verify(&secret("peppered password"), &hash)
            .unwrap()
    );
    let other = PasswordHasher::builder()
        .params(cheap())
        .pepper(SecretBox::new(Box::from(
            &b"a-different-pepper-of-32-bytes!!"[..],
        )))
        .build()
        .unwrap();
    assert!(!other.verify(&secret("peppered password"), &hash).unwrap());
    assert!(matches!(
        PasswordHasher::builder()
            .pepper(SecretBox::new(Box::from(&b"short"[..])))
            .build(),
        Err(PasswordError::PepperTooShort { min: 16 })
    ));
}

#[test]
fn dummy_verification_never_matches() {
    let h = hasher();
    assert!(!h.verify_dummy(&secret("any password")));
    assert!(!h.verify_dummy(&secret("")));
}

#[test]
fn bcrypt_over_72_bytes_behaves_like_passlib() {
    let long = "k".repeat(72);
    let hash = PasswordHash::parse(bcrypt::hash(&long, 4).unwrap()).unwrap();
    let h = hasher();
    assert!(
        h.verify(&secret(&format!("{long}anything")), &hash)
            .unwrap()
    );
    assert!(!h.verify(&secret(&long[..71]), &hash).unwrap());
}

#[test]
fn async_api_without_runtime_is_an_error_not_a_panic() {
    let h = hasher();
    let hash = h.hash(&secret("some password")).unwrap();
    // A minimal executor that is not tokio.
    let result = futures_lite_block_on(h.verify_async(&secret("some password"), &hash));
    assert!(matches!(result, Err(PasswordError::NoRuntime)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_api_matches_sync_api() {
    let h = hasher();
    let hash = h.hash_async(&secret("async password")).await.unwrap();
    assert!(
        h.verify_async(&secret("async password"), &hash)
            .await
            .unwrap()
    );
    assert!(
        !h.verify_async(&secret("other password"), &hash)
            .await
            .unwrap()
    );
    assert!(!h.verify_dummy_async(&secret("x")).await.unwrap());
    assert!(matches!(
        h.hash_new_password_async("bob", &secret("bob")).await,
        Err(PasswordError::Policy(_))
    ));
    assert!(matches!(
        h.verify_async(&secret(&"z".repeat(2000)), &hash).await,
        Err(PasswordError::TooLong { .. })
    ));
}

fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
