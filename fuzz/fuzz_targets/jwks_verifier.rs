//! A JWK Set as a resource server fetches it: `Jwks` deserialisation and `JwksVerifier::new`.
//!
//! Input: JSON bytes.
//!
//! Invariants: parsing never panics; a parsed set re-serialises to JSON that parses to an equal
//! set; the verifier only holds keys the set lists with a supported asymmetric `alg` and
//! `use: sig`; and whenever the verifier accepts one of the fixture's genuine tokens (the PyJWT
//! EdDSA, ES256 and RS256 vectors), the set's key under that token's `kid` is the real public
//! key: a set cannot make a token verify under a key other than the one that signed it.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use tokenward::keys::{Jwk, Jwks};
use tokenward::token::JwksVerifier;
use tokenward_fuzz::{jwt_fixture, split_jws};

fuzz_target!(|data: &[u8]| {
    let fx = jwt_fixture();
    let Ok(jwks) = serde_json::from_slice::<Jwks>(data) else {
        return;
    };
    let text = serde_json::to_string(&jwks).expect("a JWKS serialises");
    let again: Jwks = serde_json::from_str(&text).expect("a serialised JWKS parses");
    assert_eq!(again, jwks, "JWKS does not round-trip");

    let Ok(verifier) = JwksVerifier::new(&jwks, &fx.issuer, &fx.audience) else {
        return;
    };
    let verifier = verifier
        .clock(fx.codec.clock().clone())
        .leeway(time::Duration::seconds(fx.leeway))
        .expect("leeway");
    let usable: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| matches!(k.alg.as_str(), "EdDSA" | "ES256" | "RS256") && k.use_ == "sig")
        .collect();
    assert!(
        verifier.key_count() <= usable.len(),
        "more keys than the set has"
    );
    for jwk in &jwks.keys {
        if verifier.has_key(&jwk.kid) {
            assert!(
                usable.iter().any(|k| k.kid == jwk.kid),
                "verifier holds {:?}, which is no usable signature key",
                jwk.kid
            );
        }
    }

    let real = fx.codec.keys().jwks();
    for base in &fx.bases {
        let Ok(claims) = verifier.verify(&base.token) else {
            continue;
        };
        let kid = fx
            .oracle_header_kid(&base.token)
            .expect("a verified token has a kid");
        let ours = real
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .expect("verified token names a fixture key");
        let theirs: Vec<&&Jwk> = usable.iter().filter(|k| k.kid == kid).collect();
        assert_eq!(
            theirs.len(),
            1,
            "verified through a kid the set lists {} times",
            theirs.len()
        );
        assert!(
            same_key(ours, theirs[0]),
            "token of {kid} verified under a different key: {:?}",
            theirs[0]
        );
        let signing_input = split_jws(&base.token).unwrap().signing_input;
        assert_eq!(
            fx.known_access.get(signing_input),
            Some(claims.claims()),
            "JWKS verification accepted a token the codec does not"
        );
    }
});

/// Base64 in any of the common alphabets, padded or not.
fn decode(text: &str) -> Option<Vec<u8>> {
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

fn strip(bytes: Vec<u8>) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

fn member(value: &Option<String>) -> Option<Vec<u8>> {
    value.as_deref().and_then(decode).map(strip)
}

/// Whether two JWKs hold the same public key of the same algorithm.
fn same_key(ours: &Jwk, theirs: &Jwk) -> bool {
    ours.alg == theirs.alg
        && ours.kty == theirs.kty
        && match ours.kty.as_str() {
            "OKP" => decode(ours.x.as_deref().unwrap()) == theirs.x.as_deref().and_then(decode),
            "EC" => member(&ours.x) == member(&theirs.x) && member(&ours.y) == member(&theirs.y),
            "RSA" => member(&ours.n) == member(&theirs.n) && member(&ours.e) == member(&theirs.e),
            _ => false,
        }
}
