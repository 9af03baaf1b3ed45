//! [`JwksVerifier`]: a resource server's validation with nothing but the issuer's JWKS.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::json;
use time::Duration;
use tokenward::clock::ManualClock;
use tokenward::keys::{Jwks, KeyAlgorithm, KeyError, KeySet};
use tokenward::token::{JwksVerifier, Scopes, TokenCodec, TokenError};

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";

fn codec(algorithm: KeyAlgorithm, clock: Arc<ManualClock>) -> TokenCodec {
    TokenCodec::builder(KeySet::generate(algorithm).unwrap(), ISS, AUD)
        .clock(clock)
        .build()
        .unwrap()
}

fn jwks_from(value: serde_json::Value) -> Jwks {
    serde_json::from_value(value).unwrap()
}

#[test]
fn tokens_of_every_asymmetric_algorithm_verify_with_the_published_keys() {
    let clock = Arc::new(ManualClock::starting_now());
    for algorithm in [
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
    ] {
        let codec = codec(algorithm, clock.clone());
        // Through JSON, as a resource server receives it.
        let jwks: Jwks =
            serde_json::from_str(&serde_json::to_string(&codec.keys().jwks()).unwrap()).unwrap();
        let verifier = JwksVerifier::new(&jwks, ISS, AUD)
            .unwrap()
            .clock(clock.clone());
        let issued = codec
            .issue_access("user-1", &Scopes::parse("items:read").unwrap(), "s1")
            .unwrap();
        let claims = verifier.verify(issued.token.expose_secret()).unwrap();
        assert_eq!(claims.sub, "user-1", "{algorithm}");
        assert!(claims.scope.contains("items:read"));
    }
}

#[test]
fn expiry_issuer_audience_and_token_type_are_checked() {
    let clock = Arc::new(ManualClock::starting_now());
    let codec = codec(KeyAlgorithm::EdDSA, clock.clone());
    let jwks = codec.keys().jwks();
    let issued = codec
        .issue_access("user-1", &Scopes::empty(), "s1")
        .unwrap();
    let token = issued.token.expose_secret();

    let wrong_issuer = JwksVerifier::new(&jwks, "https://other.example", AUD).unwrap();
    assert_eq!(
        wrong_issuer.verify(token).err(),
        Some(TokenError::WrongIssuer)
    );
    let wrong_audience = JwksVerifier::new(&jwks, ISS, "other-api").unwrap();
    assert_eq!(
        wrong_audience.verify(token).err(),
        Some(TokenError::WrongAudience)
    );

    // A refresh token is not an access token, whatever key signed it.
    let refresh = codec
        .issue_refresh(
            tokenward::token::TokenSubject {
                user_id: "user-1",
                session_id: "s1",
                generation: 0,
                epoch: 0,
                session_exp: None,
            },
            &Scopes::empty(),
            Duration::hours(1),
            i64::MAX,
        )
        .unwrap();
    let verifier = JwksVerifier::new(&jwks, ISS, AUD)
        .unwrap()
        .leeway(Duration::seconds(5))
        .unwrap()
        .clock(clock.clone());
    assert_eq!(
        verifier.verify(refresh.token.expose_secret()).err(),
        Some(TokenError::WrongType)
    );

    assert!(verifier.verify(token).is_ok());
    clock.advance(codec.access_ttl() + Duration::seconds(5));
    assert_eq!(verifier.verify(token).err(), Some(TokenError::Expired));
}

#[test]
fn a_rotated_key_is_unknown_until_the_jwks_is_fetched_again() {
    let clock = Arc::new(ManualClock::starting_now());
    let old = codec(KeyAlgorithm::EdDSA, clock.clone());
    let verifier = JwksVerifier::new(&old.keys().jwks(), ISS, AUD).unwrap();
    let mut keys = old.keys().clone();
    let new_kid = keys.rotate_generate().unwrap();
    let rotated = TokenCodec::builder(keys, ISS, AUD).build().unwrap();
    let token = rotated
        .issue_access("user-1", &Scopes::empty(), "s1")
        .unwrap()
        .token;
    assert!(!verifier.has_key(&new_kid));
    assert_eq!(
        verifier.verify(token.expose_secret()).err(),
        Some(TokenError::UnknownKid)
    );
    let refetched = JwksVerifier::new(&rotated.keys().jwks(), ISS, AUD).unwrap();
    assert!(refetched.has_key(&new_kid));
    assert!(refetched.verify(token.expose_secret()).is_ok());
}

#[test]
fn keys_it_cannot_use_are_left_out_and_broken_ones_refused() {
    let ed = codec(KeyAlgorithm::EdDSA, Arc::new(ManualClock::starting_now()));
    let good = serde_json::to_value(&ed.keys().jwks().keys[0]).unwrap();
    // An HMAC key, an unknown algorithm, an encryption key: left out.
    let set = jwks_from(json!({"keys": [
        good.clone(),
        {"kty": "oct", "kid": "h", "alg": "HS256", "use": "sig"},
        {"kty": "OKP", "kid": "x", "alg": "Ed448", "use": "sig", "crv": "Ed448", "x": "AAAA"},
        {"kty": "RSA", "kid": "enc", "alg": "RS256", "use": "enc", "n": "AQAB", "e": "AQAB"},
    ]}));
    let verifier = JwksVerifier::new(&set, ISS, AUD).unwrap();
    assert_eq!(verifier.key_count(), 1);
    assert!(!verifier.has_key("h"));

    // A key that says EdDSA but is an EC point, one with no x, one with garbage: errors.
    for broken in [
        json!({"kty": "EC", "kid": "b", "alg": "EdDSA", "use": "sig", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
        json!({"kty": "OKP", "kid": "b", "alg": "EdDSA", "use": "sig", "crv": "Ed25519"}),
        json!({"kty": "RSA", "kid": "b", "alg": "RS256", "use": "sig", "n": "!!!", "e": "AQAB"}),
    ] {
        let set = jwks_from(json!({ "keys": [broken.clone()] }));
        assert!(
            matches!(
                JwksVerifier::new(&set, ISS, AUD),
                Err(KeyError::InvalidPublicKey { .. })
            ),
            "{broken}"
        );
    }
    let duplicate = jwks_from(json!({ "keys": [good.clone(), good] }));
    assert!(matches!(
        JwksVerifier::new(&duplicate, ISS, AUD),
        Err(KeyError::DuplicateKid(_))
    ));
}

#[test]
fn short_rsa_moduli_and_silly_limits_are_refused() {
    // A 1024-bit modulus (128 bytes of 0xff, base64url) is forgeable: refused like the issuer
    // side refuses it.
    let short_n = "_".repeat(170) + "w";
    let set = jwks_from(json!({"keys": [
        {"kty": "RSA", "kid": "short", "alg": "RS256", "use": "sig", "n": short_n, "e": "AQAB"},
    ]}));
    assert!(matches!(
        JwksVerifier::new(&set, ISS, AUD),
        Err(KeyError::RsaKeySize { bits: 1024 })
    ));
    let ok = JwksVerifier::new(&Jwks::default(), ISS, AUD).unwrap();
    assert!(ok.clone().max_token_bytes(10).is_err());
    assert!(ok.max_token_bytes(4096).is_ok());
}
