//! The JOSE header and claims parsers behind a valid signature.
//!
//! Input: `HEADER JSON \0 PAYLOAD JSON`, or just a payload (then the header is
//! `{"alg":"HS256","kid":"py-hs","typ":"at+jwt"}`). The target signs the pair as the header asks
//! (the named key with its own algorithm; for an HMAC `alg` naming an RSA/EC/Ed25519 key, HMAC
//! keyed with that public key, the algorithm-confusion forgery), so the fuzzer reaches the header
//! and claims checks that a bad signature would otherwise stop.
//!
//! Invariants: everything `check_token` asserts except "signed by the fixture before" (here the
//! target itself signs); an accepted token's header names its key's algorithm, its `typ` is
//! RFC 9068's, it has no `crit`, and its claims equal the payload's members; accepted access
//! claims re-serialised and re-signed validate to equal claims (and refresh claims likewise).

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokenward::token::{AccessClaims, TokenError};
use tokenward_fuzz::{JwtFixture, jwt_fixture};

const DEFAULT_HEADER: &[u8] = br#"{"alg":"HS256","kid":"py-hs","typ":"at+jwt"}"#;

fuzz_target!(|data: &[u8]| {
    let fx = jwt_fixture();
    let (header, payload) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (DEFAULT_HEADER, data),
    };
    let token = sign(fx, header, payload);
    check(fx, header, &token);
});

/// `header.payload.signature`, signed as the header asks.
fn sign(fx: &JwtFixture, header: &[u8], payload: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_str(&String::from_utf8_lossy(header)).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = fx.sign_as(field("alg"), field("kid"), signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn check(fx: &JwtFixture, header: &[u8], token: &str) {
    let access = fx
        .codec_uncached
        .validate_access(token)
        .map(|v| v.into_claims());
    assert_eq!(
        fx.codec.validate_access(token).map(|v| v.into_claims()),
        access,
        "cached and uncached validation disagree"
    );
    assert_eq!(
        fx.codec.validate_access(token).map(|v| v.into_claims()),
        access,
        "a second (cached) validation disagrees"
    );
    let jwks = fx.jwks.verify(token).map(|v| v.into_claims());
    if jwks != access {
        let hmac_kid = fx
            .oracle_header_kid(token)
            .is_some_and(|kid| fx.key(&kid).is_some_and(|k| k.alg.is_symmetric()));
        assert!(
            jwks == Err(TokenError::UnknownKid) && hmac_kid,
            "JwksVerifier says {jwks:?} where the codec says {access:?}"
        );
    }
    let refresh = fx
        .codec_uncached
        .validate_refresh(token)
        .map(|v| v.into_claims());
    assert!(
        access.is_err() || refresh.is_err(),
        "a token passed as access and refresh token"
    );

    if let Ok(claims) = &access {
        let (header_json, payload) = fx
            .oracle_signature(token)
            .unwrap_or_else(|e| panic!("accepted access token fails the reference verifier: {e}"));
        if let Err(e) = fx.check_access(claims, &header_json, &payload) {
            panic!("accepted access token: {e}");
        }
        // Round trip: tokenward's own serialisation of the claims validates to the same claims.
        let again = serde_json::to_vec(claims).expect("claims serialise");
        let token = sign(fx, header, &again);
        let reparsed = fx
            .codec_uncached
            .validate_access(&token)
            .map(|v| v.into_claims())
            .expect("re-serialised access claims validate");
        assert!(
            same_claims(&reparsed, claims),
            "access claims do not round-trip: {reparsed:?} vs {claims:?}"
        );
    }
    if let Ok(claims) = &refresh {
        let (header_json, payload) = fx
            .oracle_signature(token)
            .unwrap_or_else(|e| panic!("accepted refresh token fails the reference verifier: {e}"));
        if let Err(e) = fx.check_refresh(claims, &header_json, &payload) {
            panic!("accepted refresh token: {e}");
        }
        let again = serde_json::to_vec(claims).expect("claims serialise");
        let token = sign(fx, header, &again);
        let reparsed = fx
            .codec_uncached
            .validate_refresh(&token)
            .map(|v| v.into_claims());
        assert_eq!(
            reparsed.as_ref(),
            Ok(claims),
            "refresh claims do not round-trip"
        );
    }
}

/// Equal claims, but for floating-point numbers among the extra claims, which may move by an
/// ulp: serde_json (without its `float_roundtrip` feature) does not always parse the shortest
/// representation it prints back to the same `f64`.
fn same_claims(a: &AccessClaims, b: &AccessClaims) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    let (extra_a, extra_b) = (std::mem::take(&mut a.extra), std::mem::take(&mut b.extra));
    a == b && same_json(&Value::Object(extra_a), &Value::Object(extra_b))
}

fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
