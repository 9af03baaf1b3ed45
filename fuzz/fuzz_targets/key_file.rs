//! `KeySet::from_json`: the JSON key file (`tokenward-keys/1`).
//!
//! Input: the file's text (lossy UTF-8).
//!
//! Invariants: parsing never panics; an accepted file has exactly its entries as keys, with
//! their algorithms and `created` times, the named active key, and the named id_token key (else
//! the active key when it is RS256); `to_json` of the set parses to the same set and is a fixed
//! point; the JWKS lists exactly the asymmetric keys; a token the set issues validates with the
//! re-parsed set (and, for an asymmetric active key, with a `JwksVerifier` of its JWKS); and a
//! file's error never quotes a `key` value (the private key material): the file with a marker
//! appended to every key is parsed again, and its error must not contain the marker.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::token::{JwksVerifier, Scopes, TokenCodec};
use tokenward_fuzz::{SECRET_MARK, with_marked_secrets};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(set) = KeySet::from_json(&text) {
        accepted(&text, &set);
    }
    no_key_in_errors(&text);
});

fn summary(set: &KeySet) -> Vec<(String, KeyAlgorithm, Option<i64>)> {
    set.keys()
        .iter()
        .map(|k| (k.kid().to_owned(), k.algorithm(), k.created()))
        .collect()
}

fn accepted(text: &str, set: &KeySet) {
    let file: Value = serde_json::from_str(text).expect("an accepted key file is JSON");
    let entries = file["keys"].as_array().expect("keys is an array");
    assert_eq!(set.keys().len(), entries.len(), "keys dropped or added");
    assert_eq!(
        Some(set.active().kid()),
        file["active"].as_str(),
        "active key"
    );
    for entry in entries {
        let kid = entry["kid"].as_str().expect("kid is a string");
        let key = set.get(kid).expect("every entry is in the set");
        assert_eq!(Some(key.algorithm().name()), entry["alg"].as_str(), "alg");
        assert_eq!(
            key.created(),
            entry.get("created").and_then(Value::as_i64),
            "created"
        );
        assert!(
            (1..=64).contains(&kid.len())
                && kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "kid {kid:?}"
        );
    }
    let id_token = set.id_token_key().map(|k| k.kid().to_owned());
    match file.get("id_token").and_then(Value::as_str) {
        Some(kid) => {
            assert_eq!(id_token.as_deref(), Some(kid), "id_token key");
            assert_ne!(
                kid,
                set.active().kid(),
                "the active key doubles as id_token key"
            );
            assert!(!set.get(kid).unwrap().algorithm().is_symmetric());
        }
        None => assert_eq!(
            id_token.as_deref(),
            (set.active().algorithm() == KeyAlgorithm::RS256).then(|| set.active().kid()),
            "implicit id_token key"
        ),
    }

    let json = set.to_json();
    let again = KeySet::from_json(&json).expect("to_json output parses");
    assert_eq!(summary(&again), summary(set), "keys do not round-trip");
    assert_eq!(again.active().kid(), set.active().kid());
    assert_eq!(
        again.id_token_key().map(|k| k.kid().to_owned()),
        id_token,
        "id_token key does not round-trip"
    );
    assert_eq!(*again.to_json(), *json, "to_json is not a fixed point");

    let jwks = set.jwks();
    let asymmetric: Vec<&str> = set
        .keys()
        .iter()
        .filter(|k| !k.algorithm().is_symmetric())
        .map(|k| k.kid())
        .collect();
    let published: Vec<&str> = jwks.keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(published, asymmetric, "JWKS");
    for jwk in &jwks.keys {
        assert_eq!(
            Some(jwk.alg.as_str()),
            set.get(&jwk.kid).map(|k| k.algorithm().name())
        );
    }

    let (iss, aud) = ("https://issuer.example", "api");
    let codec = TokenCodec::builder(set.clone(), iss, aud).build().unwrap();
    let scopes = Scopes::parse("items:read").unwrap();
    let issued = codec.issue_access("user-1", &scopes, "session-1").unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&issued.token);
    let other = TokenCodec::builder(again, iss, aud).build().unwrap();
    let claims = other
        .validate_access(token)
        .expect("re-parsed keys validate");
    assert_eq!(*claims, issued.claims, "claims");
    if !set.active().algorithm().is_symmetric() {
        let verifier = JwksVerifier::new(&jwks, iss, aud).expect("own JWKS loads");
        assert_eq!(
            verifier.verify(token).map(|c| c.into_claims()).as_ref(),
            Ok(&issued.claims),
            "JWKS verification"
        );
    }
}

fn no_key_in_errors(text: &str) {
    let Some(marked) = with_marked_secrets(text, Some("keys"), "key") else {
        return;
    };
    if let Err(err) = KeySet::from_json(&marked) {
        let message = err.to_string();
        assert!(
            !message.contains(SECRET_MARK),
            "the error quotes key material: {message}"
        );
    }
}
