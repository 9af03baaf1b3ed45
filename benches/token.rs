//! Issuing and validating access tokens through tokenward vs raw `jsonwebtoken` with the same key
//! and the same claims. Target: tokenward within 1.3x of the raw figure.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::token::{Scopes, TokenCodec};

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";

/// The claims tokenward issues, as a plain struct for the raw baseline.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    scope: String,
    sid: String,
}

struct Pair {
    codec: TokenCodec,
    encoding: EncodingKey,
    decoding: DecodingKey,
    alg: Algorithm,
    kid: String,
}

fn hs256() -> Pair {
    let secret = [42u8; 32];
    let key = SigningKey::from_secret(
        "hs",
        KeyAlgorithm::HS256,
        SecretBox::new(Box::from(&secret[..])),
    )
    .expect("key");
    Pair {
        // Without the verified-token memory: each validation does the full work, as the raw
        // `jsonwebtoken` call does. `validate_*/tokenward_remembered` shows the memory's effect.
        codec: TokenCodec::builder(KeySet::new(key), ISS, AUD)
            .verified_cache_tokens(0)
            .build()
            .expect("codec"),
        encoding: EncodingKey::from_secret(&secret),
        decoding: DecodingKey::from_secret(&secret),
        alg: Algorithm::HS256,
        kid: "hs".into(),
    }
}

fn eddsa() -> Pair {
    let key = Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).expect("seed");
    let der = key.to_pkcs8v1().expect("der");
    let signing = SigningKey::from_pkcs8_der("ed", KeyAlgorithm::EdDSA, der.as_ref()).expect("key");
    Pair {
        codec: TokenCodec::builder(KeySet::new(signing), ISS, AUD)
            .verified_cache_tokens(0)
            .build()
            .expect("codec"),
        encoding: EncodingKey::from_ed_der(der.as_ref()),
        decoding: DecodingKey::from_ed_der(key.public_key().as_ref()),
        alg: Algorithm::EdDSA,
        kid: "ed".into(),
    }
}

fn bench_pair(c: &mut Criterion, name: &str, pair: Pair) {
    let scopes = Scopes::parse("items:read items:write").expect("scopes");
    let issued = pair
        .codec
        .issue_access("user-1", &scopes, "session-1")
        .expect("issue");
    let token = issued.token.expose_secret().to_owned();
    let claims = Claims {
        iss: ISS.into(),
        sub: "user-1".into(),
        aud: AUD.into(),
        exp: issued.claims.exp,
        iat: issued.claims.iat,
        nbf: issued.claims.iat,
        jti: issued.claims.jti.clone(),
        scope: scopes.to_string(),
        sid: "session-1".into(),
    };
    let mut header = Header::new(pair.alg);
    header.typ = Some("at+jwt".into());
    header.kid = Some(pair.kid.clone());
    let mut validation = Validation::new(pair.alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.leeway = 30;

    let mut group = c.benchmark_group(format!("issue_{name}"));
    group.bench_function("tokenward", |b| {
        b.iter(|| {
            pair.codec
                .issue_access("user-1", &scopes, "session-1")
                .expect("issue")
        })
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::encode(&header, &claims, &pair.encoding).expect("encode"))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("validate_{name}"));
    group.bench_function("tokenward", |b| {
        b.iter(|| pair.codec.validate_access(&token).expect("valid"))
    });
    let remembering = TokenCodec::builder(pair.codec.keys().clone(), ISS, AUD)
        .build()
        .expect("codec");
    group.bench_function("tokenward_remembered", |b| {
        b.iter(|| remembering.validate_access(&token).expect("valid"))
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(&token, &pair.decoding, &validation).expect("valid")
        })
    });
    group.finish();
}

/// RS256, the id_token algorithm: a fixed 2048-bit key (made with openssl, in `benches/keys/`),
/// PKCS#8 for tokenward and PKCS#1 for `jsonwebtoken`'s `EncodingKey`.
fn rs256() -> Pair {
    let signing = SigningKey::from_pkcs8_der(
        "rs",
        KeyAlgorithm::RS256,
        include_bytes!("keys/rs256.pkcs8.der"),
    )
    .expect("key");
    let jwk = signing.public_jwk().expect("public key").clone();
    Pair {
        codec: TokenCodec::builder(KeySet::new(signing), ISS, AUD)
            .verified_cache_tokens(0)
            .build()
            .expect("codec"),
        encoding: EncodingKey::from_rsa_der(include_bytes!("keys/rs256.pkcs1.der")),
        decoding: DecodingKey::from_rsa_components(
            jwk.n.as_deref().expect("n"),
            jwk.e.as_deref().expect("e"),
        )
        .expect("public key"),
        alg: Algorithm::RS256,
        kid: "rs".into(),
    }
}

fn token_benches(c: &mut Criterion) {
    bench_pair(c, "hs256", hs256());
    bench_pair(c, "eddsa", eddsa());
    bench_pair(c, "rs256", rs256());
}

criterion_group!(benches, token_benches);
criterion_main!(benches);
