//! Tokens signed by PyJWT with keys made by Python's `cryptography`
//! (tests/interop/jwt_vectors.json) get the expected verdicts.

use std::sync::Arc;

use serde::Deserialize;
use time::OffsetDateTime;
use tokenward::clock::ManualClock;
use tokenward::keys::KeySet;
use tokenward::token::{TokenCodec, TokenError};

#[derive(Deserialize)]
struct Vectors {
    issuer: String,
    audience: String,
    validate_at: i64,
    key_file: serde_json::Value,
    tokens: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    expect: String,
    token: String,
}

#[test]
fn pyjwt_tokens_get_the_expected_verdicts() {
    let v: Vectors =
        serde_json::from_str(include_str!("interop/jwt_vectors.json")).expect("vectors parse");
    let keys = KeySet::from_json(&v.key_file.to_string()).expect("python-made key file loads");
    assert_eq!(keys.keys().len(), 4);
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(v.validate_at).unwrap(),
    ));
    let codec = TokenCodec::builder(keys, &v.issuer, &v.audience)
        .clock(clock)
        .build()
        .unwrap();
    assert!(v.tokens.len() >= 20);
    for t in &v.tokens {
        let verdict = match codec.validate_access(&t.token) {
            Ok(claims) => {
                assert_eq!(claims.sub, "user-7", "{}", t.name);
                assert_eq!(claims.scope.to_string(), "items:read items:write");
                "ok".to_owned()
            }
            Err(TokenError::WrongType) => "WrongType".into(),
            Err(TokenError::WrongAudience) => "WrongAudience".into(),
            Err(TokenError::Expired) => "Expired".into(),
            Err(TokenError::UnsupportedAlgorithm) => "UnsupportedAlgorithm".into(),
            Err(TokenError::AlgorithmMismatch) => "AlgorithmMismatch".into(),
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(verdict, t.expect, "{}", t.name);
    }
}
