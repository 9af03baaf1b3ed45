//! Key generation, the key file, rotation and the JWKS.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk as JwtJwk;
use jsonwebtoken::{DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeyError, KeySet, SigningKey};
use tokenward::token::{Scopes, TokenCodec};

const ALL: [KeyAlgorithm; 6] = [
    KeyAlgorithm::HS256,
    KeyAlgorithm::HS384,
    KeyAlgorithm::HS512,
    KeyAlgorithm::EdDSA,
    KeyAlgorithm::ES256,
    KeyAlgorithm::RS256,
];

#[test]
fn key_file_round_trips_for_every_algorithm_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ALL {
        let path = dir.path().join(format!("{alg}.json"));
        let mut set = KeySet::generate(alg).unwrap();
        set.rotate_generate().unwrap();
        set.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg}");
        }
        let loaded = KeySet::load(&path).unwrap();
        assert_eq!(loaded.active().kid(), set.active().kid());
        assert_eq!(loaded.keys().len(), 2);
        assert_eq!(loaded.keys()[1].kid(), set.keys()[1].kid());
        assert_eq!(loaded.jwks(), set.jwks());
        // A token signed by the original verifies with the loaded copy.
        let clock = Arc::new(ManualClock::starting_now());
        let codec = |keys| {
            TokenCodec::builder(keys, "iss", "aud")
                .clock(clock.clone())
                .build()
                .unwrap()
        };
        let token = codec(set).issue_access("u", &Scopes::empty(), "s").unwrap();
        assert!(
            codec(loaded)
                .validate_access(token.token.expose_secret())
                .is_ok(),
            "{alg}"
        );
    }
}

#[test]
fn load_or_generate_creates_once_and_then_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let first = KeySet::load_or_generate(&path, KeyAlgorithm::EdDSA).unwrap();
    let second = KeySet::load_or_generate(&path, KeyAlgorithm::EdDSA).unwrap();
    assert_eq!(first.active().kid(), second.active().kid());
    std::fs::write(&path, "{broken").unwrap();
    assert!(matches!(
        KeySet::load_or_generate(&path, KeyAlgorithm::EdDSA),
        Err(KeyError::File { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{broken");
}

#[test]
fn concurrent_first_starts_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let barrier = std::sync::Barrier::new(8);
    let kids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let set = KeySet::load_or_generate(&path, KeyAlgorithm::HS256).unwrap();
                    set.active().kid().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let on_disk = KeySet::load(&path).unwrap();
    assert!(
        kids.iter().all(|kid| kid == on_disk.active().kid()),
        "{kids:?}"
    );
}

fn valid_file() -> Value {
    serde_json::from_str(&KeySet::generate(KeyAlgorithm::EdDSA).unwrap().to_json()).unwrap()
}

fn error_field(file: &Value) -> (String, String) {
    match KeySet::from_json(&file.to_string()) {
        Err(KeyError::File { field, reason, .. }) => (field, reason),
        other => panic!("expected a file error for {file}, got {other:?}"),
    }
}

#[test]
fn every_malformed_key_file_field_is_named() {
    let base = valid_file();
    let kid = base["active"].as_str().unwrap().to_owned();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    // A 1024-bit RSA key (PKCS#8, base64url), made with
    // `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -outform DER`: too small to accept.
    let rsa_1024 = concat!(
        "MIICXQIBAAKBgQDWFoibJMWWqXhH4lXcjfpy5wm1ZuRg3GDtfdZHAyIfAnnfrX5odXrXPCpwwM_-zq4dsaW8gcYOUs",
        "KjXBIOx2rJlPPO1UoW0xTyABlrxvptW9zvk6x3qsDuSQagcCbzUUOJVisOo3YCESHBdlS1hsn3kGrW_wCqjgkBSnLW",
        "R5YRzQIDAQABAoGBAJArCoEXaSvFIeeehl2JCr_3z7Tl_iMwJOGpXPPjK0Ygn7u-FKL5geiRbq8RWL_ppJ0AdXCVH6",
        "-jkcj6hnqHVeQAZgtOK2f8N4mFg5c9h58i6kwcZftK68_KStfzpCTI4oKfT_AX16dyB0PCdMDASeJ4hKyBYos-4h3Q",
        "kXP6mu7hAkEA7FmsxucsrXqkfNITUtdo_mlV8TLEosPo-1zODPJp3DxmCnwKbL6Of7SOVHC7wGlIy7adbCXwb9r1GE",
        "_oDrX1uQJBAOfjCwg9R3VS5fiPtEhz8Z66wyhQLhqnfGzEwLjDpGsbaH-XJPohW6XmEyqoe6gv-d31jTl12CO6n07T",
        "LJ0VBrUCQGUGa7jVZZ59dsO30_SsCL_-bHLd3XkpPnP7FkQodiFiW8eNf7M9vJFPryreyRIUrr4Mv7tTeDOHpw4OUc",
        "W_91kCQADDps2oJgwk8c0X7Cgw-aLkSrBfU0eTNb3GCDyTqH8R4A5LmTuZ0IuDbpy9YWr0fYZVwNlnoga8HrpLx-Hc",
        "p-ECQQCkxeOH1o42FZBi1HFKWkKAQGR1nRukt61g0B67Xnfr9gQ4X96pLDaj9YlUaTfnTE4BY5xc5fcZV28MYEBv9t",
        "9i",
    );
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "wrong format",
            edit(&|v| v["format"] = json!("tokenward-keys/2")),
            "format",
        ),
        (
            "active names no key",
            edit(&|v| v["active"] = json!("nope")),
            "active",
        ),
        ("no keys", edit(&|v| v["keys"] = json!([])), "keys"),
        (
            "unknown alg",
            edit(&|v| v["keys"][0]["alg"] = json!("HS999")),
            "keys[0].alg",
        ),
        (
            "alg none",
            edit(&|v| v["keys"][0]["alg"] = json!("none")),
            "keys[0].alg",
        ),
        (
            "key not base64url",
            edit(&|v| v["keys"][0]["key"] = json!("***")),
            "keys[0].key",
        ),
        (
            "key of another type",
            edit(&|v| v["keys"][0]["alg"] = json!("ES256")),
            "keys[0].key",
        ),
        (
            "key garbage DER",
            edit(&|v| v["keys"][0]["key"] = json!("AAAA")),
            "keys[0].key",
        ),
        (
            "HMAC secret too short",
            edit(&|v| {
                v["keys"][0]["alg"] = json!("HS256");
                v["keys"][0]["key"] = json!("c2hvcnQ");
            }),
            "keys[0].key",
        ),
        (
            "RSA 1024",
            edit(&|v| {
                v["keys"][0]["alg"] = json!("RS256");
                v["keys"][0]["key"] = json!(rsa_1024);
            }),
            "keys[0].key",
        ),
        (
            "bad kid",
            edit(&|v| {
                v["keys"][0]["kid"] = json!("has space");
                v["active"] = json!("has space");
            }),
            "keys[0].kid",
        ),
        (
            "empty kid",
            edit(&|v| {
                v["keys"][0]["kid"] = json!("");
                v["active"] = json!("");
            }),
            "keys[0].kid",
        ),
        (
            "duplicate kid",
            edit(&|v| {
                let k = v["keys"][0].clone();
                v["keys"].as_array_mut().unwrap().push(k);
            }),
            "keys[1].kid",
        ),
        (
            "unknown field",
            edit(&|v| v["keys"][0]["private"] = json!(true)),
            "line 1",
        ),
        (
            "missing key",
            edit(&|v| {
                v["keys"][0].as_object_mut().unwrap().remove("key");
            }),
            "line 1",
        ),
        (
            "created not a number",
            edit(&|v| v["keys"][0]["created"] = json!("yesterday")),
            "line 1",
        ),
        ("not an object", json!([1, 2, 3]), "line 1"),
    ];
    for (name, file, field) in cases {
        let (got_field, reason) = error_field(&file);
        assert!(
            got_field.starts_with(field),
            "{name}: field {got_field:?} ({reason})"
        );
        assert!(!reason.is_empty(), "{name}");
        let secret = base["keys"][0]["key"].as_str().unwrap();
        assert!(
            !reason.contains(secret) && !got_field.contains(secret),
            "{name} leaks the key"
        );
    }
    assert_eq!(kid.len(), 16);
}

#[test]
fn missing_unreadable_and_huge_files_are_io_or_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        KeySet::load(dir.path().join("absent.json")),
        Err(KeyError::Io { .. })
    ));
    let huge = dir.path().join("huge.json");
    std::fs::write(&huge, vec![b' '; (1 << 20) + 10]).unwrap();
    private(&huge);
    assert!(matches!(KeySet::load(&huge), Err(KeyError::File { .. })));
    let message = KeySet::load(dir.path().join("absent.json"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("absent.json"), "{message}");
}

#[test]
fn weak_and_mismatched_keys_are_refused() {
    let secret = |n: usize| SecretBox::new(Box::from(vec![1u8; n]));
    for (alg, min) in [
        (KeyAlgorithm::HS256, 32),
        (KeyAlgorithm::HS384, 48),
        (KeyAlgorithm::HS512, 64),
    ] {
        assert!(matches!(
            SigningKey::from_secret("k", alg, secret(min - 1)),
            Err(KeyError::SecretTooShort { .. })
        ));
        assert!(SigningKey::from_secret("k", alg, secret(min)).is_ok());
    }
    assert!(matches!(
        SigningKey::from_secret("k", KeyAlgorithm::EdDSA, secret(64)),
        Err(KeyError::InvalidKey { .. })
    ));
    assert!(matches!(
        SigningKey::from_pkcs8_der("k", KeyAlgorithm::HS256, &[0u8; 64]),
        Err(KeyError::InvalidKey { .. })
    ));
    assert!(matches!(
        SigningKey::from_pkcs8_der("k", KeyAlgorithm::EdDSA, b"garbage"),
        Err(KeyError::InvalidKey { .. })
    ));
    assert!(matches!(
        SigningKey::from_secret("bad kid", KeyAlgorithm::HS256, secret(32)),
        Err(KeyError::InvalidKid)
    ));
    let set = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let dup = set.active().clone();
    assert!(matches!(
        set.with_verification_key(dup),
        Err(KeyError::DuplicateKid(_))
    ));
}

#[test]
fn jwks_publishes_exactly_the_public_keys_and_verifies_tokens() {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    for alg in [
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
    ] {
        let mut set = KeySet::generate(alg).unwrap();
        set.rotate_generate().unwrap();
        let jwks = set.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[0].kid, set.active().kid());
        let json = serde_json::to_value(&jwks).unwrap();
        for key in json["keys"].as_array().unwrap() {
            assert_eq!(key["use"], "sig");
            assert_eq!(key["alg"], alg.name());
            assert!(key.get("d").is_none(), "private exponent published");
            let expected_kty = match alg {
                KeyAlgorithm::EdDSA => "OKP",
                KeyAlgorithm::ES256 => "EC",
                _ => "RSA",
            };
            assert_eq!(key["kty"], expected_kty);
        }
        // Independent check: jsonwebtoken builds a key from our JWK and verifies our token.
        let codec = TokenCodec::builder(set, "iss", "aud")
            .clock(clock.clone())
            .build()
            .unwrap();
        let token = codec.issue_access("u", &Scopes::empty(), "s").unwrap();
        let jwk: JwtJwk = serde_json::from_value(json["keys"][0].clone()).unwrap();
        let mut validation = Validation::new(alg_to_jwt(alg));
        validation.validate_exp = false;
        validation.set_audience(&["aud"]);
        let decoded = jsonwebtoken::decode::<Value>(
            token.token.expose_secret(),
            &DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        );
        assert!(decoded.is_ok(), "{alg}: {decoded:?}");
    }
    let hs = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    assert!(hs.jwks().keys.is_empty());
    assert_eq!(serde_json::to_string(&hs.jwks()).unwrap(), r#"{"keys":[]}"#);
}

fn alg_to_jwt(alg: KeyAlgorithm) -> jsonwebtoken::Algorithm {
    match alg {
        KeyAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        KeyAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::RS256,
    }
}

#[test]
fn debug_never_shows_key_material() {
    for alg in ALL {
        let set = KeySet::generate(alg).unwrap();
        let file: Value = serde_json::from_str(&set.to_json()).unwrap();
        let private = file["keys"][0]["key"].as_str().unwrap().to_owned();
        let debug = format!("{set:?} {:?}", set.active());
        assert!(!debug.contains(&private), "{alg}: {debug}");
        assert!(!debug.contains(&private[..16]), "{alg}");
        let codec = TokenCodec::builder(set, "i", "a").build().unwrap();
        assert!(!format!("{codec:?}").contains(&private[..16]));
    }
}

/// Owner-only permissions, as `KeySet::save` writes them.
fn private(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Issue #13.4: a key file group or others can read is refused with the fix in the message,
/// as ssh refuses such private keys; the same file with owner-only permissions loads.
#[cfg(unix)]
#[test]
fn key_files_others_can_read_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    KeySet::generate(KeyAlgorithm::EdDSA)
        .unwrap()
        .save(&path)
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "saved owner-only");
    for loose in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
        let err = KeySet::load(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::InsecureFile { .. }),
            "{loose:o}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains("chmod 600"), "{message}");
        assert!(
            KeySet::load_or_generate(&path, KeyAlgorithm::EdDSA).is_err(),
            "never replaced either"
        );
    }
    private(&path);
    KeySet::load(&path).unwrap();
}
