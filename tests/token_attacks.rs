//! Access-token validation as an attacker would probe it: one table of forged, tampered and
//! mis-scoped tokens, each mapped to the exact rejection reason.

use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::token::{JwksVerifier, Scopes, TokenCodec, TokenError};

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";
const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn start() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

struct Fixture {
    clock: Arc<ManualClock>,
    codec: TokenCodec,
    ed_der: Vec<u8>,
    ed_public: Vec<u8>,
}

/// An EdDSA active key ("ed") and an HS256 verification key ("hs"), with known private bytes so
/// the tests can forge tokens by hand.
fn fixture() -> Fixture {
    let ed = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap();
    let ed_der = ed.to_pkcs8v1().unwrap().as_ref().to_vec();
    let ed_public = ed.public_key().as_ref().to_vec();
    let keys = KeySet::new(SigningKey::from_pkcs8_der("ed", KeyAlgorithm::EdDSA, &ed_der).unwrap())
        .with_verification_key(
            SigningKey::from_secret(
                "hs",
                KeyAlgorithm::HS256,
                SecretBox::new(Box::from(HS_SECRET)),
            )
            .unwrap(),
        )
        .unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let codec = TokenCodec::builder(keys, ISS, AUD)
        .clock(clock.clone())
        .leeway(Duration::seconds(30))
        .build()
        .unwrap();
    Fixture {
        clock,
        codec,
        ed_der,
        ed_public,
    }
}

fn claims() -> Value {
    let now = start().unix_timestamp();
    json!({
        "iss": ISS, "sub": "user-1", "aud": AUD, "exp": now + 900, "iat": now, "nbf": now,
        "jti": "jti-1", "scope": "items:read", "sid": "session-1",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn header(alg: Algorithm, kid: Option<&str>, typ: Option<&str>) -> Header {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    h.typ = typ.map(str::to_owned);
    h
}

fn sign(f: &Fixture, header: Header, claims: &Value) -> String {
    let key = match header.alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(&f.ed_der),
        _ => EncodingKey::from_secret(HS_SECRET),
    };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn ed(f: &Fixture, claims: &Value) -> String {
    sign(
        f,
        header(Algorithm::EdDSA, Some("ed"), Some("at+jwt")),
        claims,
    )
}

/// A token from raw header/payload JSON text and a raw signature.
fn raw(header: &str, payload: &str, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        signature
    )
}

fn replace_part(token: &str, index: usize, new: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = new.to_owned();
    parts.join(".")
}

#[test]
fn attack_table() {
    let f = fixture();
    let good = ed(&f, &claims());
    let good_parts: Vec<&str> = good.split('.').collect();
    let payload = claims().to_string();

    // HS256 keyed with the Ed25519 public key (what a JWKS publishes): the classic RS/HS
    // confusion, aimed at the EdDSA kid.
    let confused = jsonwebtoken::encode(
        &header(Algorithm::HS256, Some("ed"), Some("at+jwt")),
        &claims(),
        &EncodingKey::from_secret(&f.ed_public),
    )
    .unwrap();
    let tampered_payload = {
        let forged = with(claims(), "scope", json!("items:read admin"));
        replace_part(&good, 1, &URL_SAFE_NO_PAD.encode(forged.to_string()))
    };
    let tampered_header = replace_part(
        &good,
        0,
        &URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"ed","typ":"application/at+jwt"}"#),
    );
    let tampered_signature = {
        let mut sig = URL_SAFE_NO_PAD.decode(good_parts[2]).unwrap();
        sig[0] ^= 1;
        replace_part(&good, 2, &URL_SAFE_NO_PAD.encode(sig))
    };

    use TokenError::*;
    let cases: Vec<(&str, String, TokenError)> = vec![
        (
            "alg none, no signature",
            raw(r#"{"alg":"none","kid":"ed","typ":"at+jwt"}"#, &payload, ""),
            UnsupportedAlgorithm,
        ),
        (
            "alg none, with signature",
            raw(
                r#"{"alg":"none","kid":"ed","typ":"at+jwt"}"#,
                &payload,
                "c2ln",
            ),
            UnsupportedAlgorithm,
        ),
        (
            "alg None",
            raw(
                r#"{"alg":"None","kid":"ed","typ":"at+jwt"}"#,
                &payload,
                "c2ln",
            ),
            UnsupportedAlgorithm,
        ),
        (
            "alg HS1",
            raw(
                r#"{"alg":"HS1","kid":"hs","typ":"at+jwt"}"#,
                &payload,
                "c2ln",
            ),
            UnsupportedAlgorithm,
        ),
        (
            "alg missing",
            raw(r#"{"kid":"ed","typ":"at+jwt"}"#, &payload, "c2ln"),
            Malformed("header is not a valid JOSE header"),
        ),
        (
            "HS256 keyed with the EdDSA public key",
            confused,
            AlgorithmMismatch,
        ),
        (
            "EdDSA token naming the HS256 kid",
            sign(
                &f,
                header(Algorithm::EdDSA, Some("hs"), Some("at+jwt")),
                &claims(),
            ),
            AlgorithmMismatch,
        ),
        (
            "unknown kid",
            sign(
                &f,
                header(Algorithm::EdDSA, Some("forged"), Some("at+jwt")),
                &claims(),
            ),
            UnknownKid,
        ),
        (
            "kid with path traversal",
            sign(
                &f,
                header(Algorithm::EdDSA, Some("../../etc/passwd"), Some("at+jwt")),
                &claims(),
            ),
            UnknownKid,
        ),
        (
            "no kid",
            sign(
                &f,
                header(Algorithm::EdDSA, None, Some("at+jwt")),
                &claims(),
            ),
            MissingKid,
        ),
        ("tampered payload", tampered_payload, BadSignature),
        ("tampered header", tampered_header, BadSignature),
        ("tampered signature", tampered_signature, BadSignature),
        (
            "signature from another token",
            replace_part(
                &good,
                2,
                ed(&f, &with(claims(), "jti", json!("other")))
                    .split('.')
                    .nth(2)
                    .unwrap(),
            ),
            BadSignature,
        ),
        (
            "truncated signature",
            replace_part(&good, 2, &good_parts[2][..20]),
            BadSignature,
        ),
        (
            "signature not base64url",
            replace_part(&good, 2, "!!!"),
            BadSignature,
        ),
        (
            "typ missing",
            sign(&f, header(Algorithm::EdDSA, Some("ed"), None), &claims()),
            WrongType,
        ),
        (
            "typ JWT",
            sign(
                &f,
                header(Algorithm::EdDSA, Some("ed"), Some("JWT")),
                &claims(),
            ),
            WrongType,
        ),
        (
            "typ of a refresh token",
            sign(
                &f,
                header(Algorithm::EdDSA, Some("ed"), Some("rt+jwt")),
                &claims(),
            ),
            WrongType,
        ),
        (
            "wrong issuer",
            ed(&f, &with(claims(), "iss", json!("https://evil.example"))),
            WrongIssuer,
        ),
        (
            "wrong audience",
            ed(&f, &with(claims(), "aud", json!("other-api"))),
            WrongAudience,
        ),
        (
            "audience list without ours",
            ed(&f, &with(claims(), "aud", json!(["a", "b"]))),
            WrongAudience,
        ),
        (
            "expired",
            ed(
                &f,
                &with(claims(), "exp", json!(start().unix_timestamp() - 31)),
            ),
            Expired,
        ),
        (
            "exp exactly now minus leeway",
            ed(
                &f,
                &with(claims(), "exp", json!(start().unix_timestamp() - 30)),
            ),
            Expired,
        ),
        (
            "not yet valid",
            ed(
                &f,
                &with(claims(), "nbf", json!(start().unix_timestamp() + 31)),
            ),
            NotYetValid,
        ),
        (
            "issued in the future",
            ed(
                &f,
                &with(claims(), "iat", json!(start().unix_timestamp() + 120)),
            ),
            NotYetValid,
        ),
        (
            "missing sub",
            ed(&f, &without(claims(), "sub")),
            MissingClaim("sub"),
        ),
        (
            "missing exp",
            ed(&f, &without(claims(), "exp")),
            MissingClaim("exp"),
        ),
        (
            "missing jti",
            ed(&f, &without(claims(), "jti")),
            MissingClaim("jti"),
        ),
        (
            "missing sid",
            ed(&f, &without(claims(), "sid")),
            MissingClaim("sid"),
        ),
        (
            "missing aud",
            ed(&f, &without(claims(), "aud")),
            MissingClaim("aud"),
        ),
        (
            "exp as a string",
            ed(&f, &with(claims(), "exp", json!("never"))),
            Malformed("claims are not a valid JSON claims object"),
        ),
        (
            "illegal scope",
            ed(&f, &with(claims(), "scope", json!("a\"b"))),
            InvalidClaim("scope"),
        ),
        (
            "oversized",
            format!("{}.{}.{}", good_parts[0], "A".repeat(9000), good_parts[2]),
            Oversized { max: 8192 },
        ),
        (
            "empty",
            String::new(),
            Malformed("expected three dot-separated parts"),
        ),
        (
            "two parts",
            format!("{}.{}", good_parts[0], good_parts[1]),
            Malformed("expected three dot-separated parts"),
        ),
        (
            "four parts",
            format!("{good}.x"),
            Malformed("expected three dot-separated parts"),
        ),
        (
            "header not base64",
            replace_part(&good, 0, "%%%"),
            Malformed("header is not base64url"),
        ),
        (
            "header not JSON",
            replace_part(&good, 0, &URL_SAFE_NO_PAD.encode("not json")),
            Malformed("header is not a valid JOSE header"),
        ),
        (
            "header a JSON array",
            replace_part(&good, 0, &URL_SAFE_NO_PAD.encode("[1,2]")),
            Malformed("header is not a valid JOSE header"),
        ),
        (
            "crit header",
            sign(
                &f,
                {
                    let mut h = header(Algorithm::EdDSA, Some("ed"), Some("at+jwt"));
                    h.crit = Some(vec!["exp".into()]);
                    h
                },
                &claims(),
            ),
            Malformed("unsupported critical header extension"),
        ),
        (
            "non-ASCII garbage",
            "\u{1F600}.\u{1F600}.\u{1F600}".into(),
            Malformed("header is not base64url"),
        ),
    ];
    // A resource server with only the public keys (the JWKS has no HMAC key) refuses the same
    // tokens for the same reasons, except that a token naming the HMAC key's id names a key it
    // does not have.
    let verifier = JwksVerifier::new(&f.codec.keys().jwks(), ISS, AUD)
        .unwrap()
        .leeway(Duration::seconds(30))
        .unwrap()
        .clock(f.clock.clone());
    for (name, token, expected) in cases {
        let names_hmac_key = jsonwebtoken::decode_header(&token)
            .ok()
            .and_then(|h| h.kid)
            .is_some_and(|kid| kid == "hs");
        let before_key_lookup = matches!(
            expected,
            UnsupportedAlgorithm | Malformed(_) | Oversized { .. } | MissingKid
        );
        let expected_remote = if names_hmac_key && !before_key_lookup {
            UnknownKid
        } else {
            expected.clone()
        };
        assert_eq!(
            f.codec.validate_access(&token).err(),
            Some(expected),
            "{name}"
        );
        assert_eq!(
            verifier.verify(&token).err(),
            Some(expected_remote),
            "{name} (JwksVerifier)"
        );
    }
}

#[test]
fn duplicate_claims_are_refused() {
    let f = fixture();
    let now = start().unix_timestamp();
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"user-1","sub":"admin","aud":"{AUD}","exp":{},"iat":{now},"jti":"j","sid":"s"}}"#,
        now + 60
    );
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"hs","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let sig = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    )
    .unwrap();
    let token = format!("{signing_input}.{sig}");
    assert!(matches!(
        f.codec.validate_access(&token),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn a_null_crit_is_a_crit() {
    // Found by the `jwt_claims` fuzz target's reading: serde took `"crit": null` for no `crit`.
    let f = fixture();
    let now = start().unix_timestamp();
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"user-1","aud":"{AUD}","exp":{},"iat":{now},"jti":"j","sid":"s"}}"#,
        now + 60
    );
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"hs","typ":"at+jwt","crit":null}"#),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let sig = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(HS_SECRET),
        Algorithm::HS256,
    )
    .unwrap();
    let token = format!("{signing_input}.{sig}");
    assert_eq!(
        f.codec.validate_access(&token).err(),
        Some(TokenError::Malformed(
            "unsupported critical header extension"
        ))
    );
}

#[test]
fn valid_tokens_pass_including_edge_cases() {
    let f = fixture();
    let ok = |token: &str| f.codec.validate_access(token).map(|v| v.sub.clone());
    assert_eq!(ok(&ed(&f, &claims())), Ok("user-1".into()));
    // HS256 verification-only key still verifies.
    assert!(
        ok(&sign(
            &f,
            header(Algorithm::HS256, Some("hs"), Some("at+jwt")),
            &claims()
        ))
        .is_ok()
    );
    assert!(
        ok(&sign(
            &f,
            header(Algorithm::EdDSA, Some("ed"), Some("application/at+jwt")),
            &claims()
        ))
        .is_ok()
    );
    assert!(
        ok(&sign(
            &f,
            header(Algorithm::EdDSA, Some("ed"), Some("AT+JWT")),
            &claims()
        ))
        .is_ok()
    );
    // Within the leeway on both ends.
    assert!(
        ok(&ed(
            &f,
            &with(claims(), "exp", json!(start().unix_timestamp() - 29))
        ))
        .is_ok()
    );
    assert!(
        ok(&ed(
            &f,
            &with(claims(), "nbf", json!(start().unix_timestamp() + 29))
        ))
        .is_ok()
    );
    // aud as an array including ours; nbf absent.
    assert!(ok(&ed(&f, &with(claims(), "aud", json!(["other", AUD])))).is_ok());
    assert!(ok(&ed(&f, &without(claims(), "nbf"))).is_ok());
}

#[test]
fn issued_tokens_round_trip_and_expire_on_the_clock() {
    let f = fixture();
    let scopes = Scopes::parse("items:read items:write").unwrap();
    let issued = f.codec.issue_access("user-42", &scopes, "sid-1").unwrap();
    let token = issued.token.expose_secret();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], "ed");
    assert_eq!(header["alg"], "EdDSA");

    let verified = f.codec.validate_access(token).unwrap();
    assert_eq!(verified.sub, "user-42");
    assert_eq!(verified.scope, scopes);
    assert_eq!(verified.sid, "sid-1");
    assert_eq!(verified.aud, vec![AUD.to_owned()]);
    assert_eq!(verified.exp - verified.iat, 900);
    assert_eq!(URL_SAFE_NO_PAD.decode(&verified.jti).unwrap().len(), 16);
    let other = f.codec.issue_access("user-42", &scopes, "sid-1").unwrap();
    assert_ne!(other.claims.jti, verified.jti);

    f.clock.advance(Duration::seconds(900 + 29));
    assert!(f.codec.validate_access(token).is_ok());
    f.clock.advance(Duration::seconds(1));
    assert_eq!(
        f.codec.validate_access(token).err(),
        Some(TokenError::Expired)
    );
}

#[test]
fn extra_claims_round_trip_and_cannot_override_registered_ones() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Tenant {
        tenant: String,
        roles: Vec<String>,
    }
    let f = fixture();
    let extra = Tenant {
        tenant: "acme".into(),
        roles: vec!["admin".into()],
    };
    let issued = f
        .codec
        .issue_access_with_extra("u", &Scopes::empty(), "s", &extra)
        .unwrap();
    let verified = f
        .codec
        .validate_access(issued.token.expose_secret())
        .unwrap();
    assert_eq!(verified.extra_as::<Tenant>().unwrap(), extra);

    for reserved in ["sub", "scope", "exp", "iss", "aud", "sid", "jti"] {
        assert_eq!(
            f.codec
                .issue_access_with_extra("u", &Scopes::empty(), "s", &json!({ reserved: "x" }))
                .err(),
            Some(TokenError::ReservedClaim(reserved.into()))
        );
    }
    assert_eq!(
        f.codec
            .issue_access_with_extra("u", &Scopes::empty(), "s", &json!(["not", "an object"]))
            .err(),
        Some(TokenError::ExtraClaimsNotObject)
    );
}

#[test]
fn wrong_issuer_or_audience_configuration_rejects() {
    let f = fixture();
    let token = f
        .codec
        .issue_access("u", &Scopes::empty(), "s")
        .unwrap()
        .token;
    let other_aud = TokenCodec::builder(f.codec.keys().clone(), ISS, "other")
        .clock(f.clock.clone())
        .build()
        .unwrap();
    let other_iss = TokenCodec::builder(f.codec.keys().clone(), "https://other", AUD)
        .clock(f.clock.clone())
        .build()
        .unwrap();
    assert_eq!(
        other_aud.validate_access(token.expose_secret()).err(),
        Some(TokenError::WrongAudience)
    );
    assert_eq!(
        other_iss.validate_access(token.expose_secret()).err(),
        Some(TokenError::WrongIssuer)
    );
}

#[test]
fn configuration_limits() {
    let keys = || KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let err = |b: tokenward::token::TokenCodecBuilder| b.build().err();
    assert!(matches!(
        err(TokenCodec::builder(keys(), ISS, AUD).leeway(Duration::seconds(61))),
        Some(TokenError::InvalidConfig(_))
    ));
    assert!(matches!(
        err(TokenCodec::builder(keys(), ISS, AUD).leeway(Duration::seconds(-1))),
        Some(TokenError::InvalidConfig(_))
    ));
    assert!(matches!(
        err(TokenCodec::builder(keys(), "", AUD)),
        Some(TokenError::InvalidConfig(_))
    ));
    assert!(matches!(
        err(TokenCodec::builder(keys(), ISS, AUD).access_ttl(Duration::ZERO)),
        Some(TokenError::InvalidConfig(_))
    ));
    assert!(
        TokenCodec::builder(keys(), ISS, AUD)
            .leeway(Duration::seconds(60))
            .build()
            .is_ok()
    );
}

#[test]
fn rotation_keeps_old_tokens_until_retirement() {
    let clock = Arc::new(ManualClock::new(start()));
    let build = |keys: KeySet| {
        TokenCodec::builder(keys, ISS, AUD)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    let old_kid = keys.active().kid().to_owned();
    let old_token = build(keys.clone())
        .issue_access("u", &Scopes::empty(), "s")
        .unwrap()
        .token;

    let new_kid = keys.rotate_generate().unwrap();
    assert_ne!(new_kid, old_kid);
    let rotated = build(keys.clone());
    let new_token = rotated
        .issue_access("u", &Scopes::empty(), "s")
        .unwrap()
        .token;
    assert!(new_token.expose_secret().len() > 10);
    assert!(rotated.validate_access(old_token.expose_secret()).is_ok());
    assert!(rotated.validate_access(new_token.expose_secret()).is_ok());

    assert!(
        keys.retire(&new_kid).is_err(),
        "active key cannot be retired"
    );
    keys.retire(&old_kid).unwrap();
    let retired = build(keys);
    assert_eq!(
        retired.validate_access(old_token.expose_secret()).err(),
        Some(TokenError::UnknownKid)
    );
    assert!(retired.validate_access(new_token.expose_secret()).is_ok());
}

#[test]
fn every_algorithm_round_trips_and_rejects_the_others_keys() {
    let clock = Arc::new(ManualClock::new(start()));
    let mut codecs = Vec::new();
    for alg in [
        KeyAlgorithm::HS256,
        KeyAlgorithm::HS384,
        KeyAlgorithm::HS512,
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
    ] {
        let codec = TokenCodec::builder(KeySet::generate(alg).unwrap(), ISS, AUD)
            .clock(clock.clone())
            .build()
            .unwrap();
        let token = codec
            .issue_access("u", &Scopes::parse("a").unwrap(), "s")
            .unwrap()
            .token;
        assert!(
            codec.validate_access(token.expose_secret()).is_ok(),
            "{alg}"
        );
        codecs.push((alg, codec, token));
    }
    for (alg, codec, _) in &codecs {
        for (other_alg, _, token) in &codecs {
            if alg != other_alg {
                assert_eq!(
                    codec.validate_access(token.expose_secret()).err(),
                    Some(TokenError::UnknownKid),
                    "{alg} accepted a {other_alg} token"
                );
            }
        }
    }
}

#[test]
fn remembered_tokens_still_expire_and_tampering_is_never_served_from_memory() {
    let f = fixture();
    let scopes = Scopes::parse("items:read").unwrap();
    let issued = f.codec.issue_access("alice", &scopes, "s1").unwrap();
    let token = issued.token.expose_secret().to_owned();
    // Validated twice: the second answer comes from the verified-token memory.
    assert_eq!(f.codec.validate_access(&token).unwrap().sub, "alice");
    assert_eq!(f.codec.validate_access(&token).unwrap().sub, "alice");

    // Same header and claims, other signature bytes: a different token, checked in full.
    let signature = token.rsplit('.').next().unwrap();
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[0] ^= 1;
    let tampered = replace_part(&token, 2, &URL_SAFE_NO_PAD.encode(flipped));
    assert_eq!(
        f.codec.validate_access(&tampered).unwrap_err(),
        TokenError::BadSignature
    );
    let mut escalated = claims();
    escalated["sub"] = json!("mallory");
    let payload = URL_SAFE_NO_PAD.encode(escalated.to_string());
    assert!(
        f.codec
            .validate_access(&replace_part(&token, 1, &payload))
            .is_err()
    );
    let oversized = format!("{token}{}", "A".repeat(9000));
    assert!(matches!(
        f.codec.validate_access(&oversized),
        Err(TokenError::Oversized { .. })
    ));

    // Time claims are checked on every use, remembered or not.
    f.clock
        .advance(Duration::minutes(15) + Duration::seconds(31));
    assert_eq!(
        f.codec.validate_access(&token).unwrap_err(),
        TokenError::Expired
    );

    // With the memory off, the same answers.
    let uncached = TokenCodec::builder(f.codec.keys().clone(), ISS, AUD)
        .clock(f.clock.clone())
        .verified_cache_tokens(0)
        .build()
        .unwrap();
    assert_eq!(
        uncached.validate_access(&token).unwrap_err(),
        TokenError::Expired
    );
    let fresh = uncached.issue_access("bob", &scopes, "s2").unwrap();
    let fresh = fresh.token.expose_secret();
    assert_eq!(uncached.validate_access(fresh).unwrap().sub, "bob");
    assert_eq!(f.codec.validate_access(fresh).unwrap().sub, "bob");
}
