//! Fixtures and reference models shared by the fuzz targets (see docs/FUZZING.md).
//!
//! The targets check tokenward against code written here independently of it: a JWS verifier
//! built on aws-lc-rs directly, a model of the form parser, and so on. A target fails when
//! tokenward and the reference disagree, not only when something panics.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::token::{
    AccessClaims, JwksVerifier, REGISTERED_CLAIMS, RefreshClaims, Scopes, SubjectKind, TokenCodec,
    TokenError, TokenSubject,
};

/// PyJWT-made tokens and the key file they were signed with (the interop test vectors).
pub const JWT_VECTORS: &str = include_str!("../../tests/interop/jwt_vectors.json");

/// One key of the fixture key file, parsed by aws-lc-rs directly (not through tokenward).
pub struct KeyMaterial {
    /// The `kid`.
    pub kid: String,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    signer: Signer,
}

enum Signer {
    Hmac(Vec<u8>),
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl KeyMaterial {
    /// The bytes a confused verifier would use as an HMAC secret: the secret itself, or the
    /// public key (raw Ed25519, uncompressed P-256 point, DER RSAPublicKey).
    pub fn hmac_secret(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Hmac(secret) => secret.clone(),
            Signer::Ed25519(key) => key.public_key().as_ref().to_vec(),
            Signer::Ecdsa(key) => key.public_key().as_ref().to_vec(),
            Signer::Rsa(key) => key.public_key().as_ref().to_vec(),
        }
    }

    /// Signs with the key's own algorithm.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Hmac(secret) => hmac_sign(self.alg.name(), secret, message),
            Signer::Ed25519(key) => key.sign(message).as_ref().to_vec(),
            Signer::Ecdsa(key) => key
                .sign(&SystemRandom::new(), message)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Signer::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .expect("RSA signing");
                sig
            }
        }
    }

    /// Whether `sig` is this key's signature of `message` under its own algorithm.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.signer {
            Signer::Hmac(secret) => {
                let algorithm = match self.alg {
                    KeyAlgorithm::HS384 => hmac::HMAC_SHA384,
                    KeyAlgorithm::HS512 => hmac::HMAC_SHA512,
                    _ => hmac::HMAC_SHA256,
                };
                hmac::verify(&hmac::Key::new(algorithm, secret), message, sig).is_ok()
            }
            Signer::Ed25519(key) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, key.public_key().as_ref())
                    .verify(message, sig)
                    .is_ok()
            }
            Signer::Ecdsa(key) => signature::UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                key.public_key().as_ref(),
            )
            .verify(message, sig)
            .is_ok(),
            Signer::Rsa(key) => {
                let public = key.public_key();
                RsaPublicKeyComponents {
                    n: public.modulus().big_endian_without_leading_zero(),
                    e: public.exponent().big_endian_without_leading_zero(),
                }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok()
            }
        }
    }
}

/// HMAC of `message` with the hash `alg` names (HS256 when it names none).
pub fn hmac_sign(alg: &str, secret: &[u8], message: &[u8]) -> Vec<u8> {
    let algorithm = match alg {
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    hmac::sign(&hmac::Key::new(algorithm, secret), message)
        .as_ref()
        .to_vec()
}

/// A compact JWS split into its three parts.
pub struct Jws<'a> {
    /// `header.payload`, what the signature covers.
    pub signing_input: &'a str,
    /// The base64url header.
    pub header_b64: &'a str,
    /// The base64url payload.
    pub payload_b64: &'a str,
    /// The base64url signature.
    pub signature_b64: &'a str,
}

/// Splits a token into exactly three dot-separated parts.
pub fn split_jws(token: &str) -> Option<Jws<'_>> {
    let mut parts = token.splitn(4, '.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(Jws {
        signing_input: &token[..header_b64.len() + 1 + payload_b64.len()],
        header_b64,
        payload_b64,
        signature_b64,
    })
}

/// A genuinely signed token and what validating it gives.
pub struct Genuine {
    /// The compact JWS.
    pub token: String,
}

/// The token fixture: the interop key file (EdDSA active; ES256, RS256, HS256 verify), a clock
/// stopped at the vectors' validation time, codecs with and without the verified-token cache,
/// a `JwksVerifier` with the same public keys, and every token known to be signed with them.
pub struct JwtFixture {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// The clock's unix time.
    pub now: i64,
    /// The codecs' leeway, seconds.
    pub leeway: i64,
    /// The key file, as JSON.
    pub key_file: Value,
    /// The keys, parsed independently of tokenward.
    pub keys: Vec<KeyMaterial>,
    /// Validates with the verified-token cache (the default).
    pub codec: TokenCodec,
    /// Validates without it.
    pub codec_uncached: TokenCodec,
    /// Validates with the public keys only.
    pub jwks: JwksVerifier,
    /// Tokens to mutate: the PyJWT vectors and tokens tokenward issued with each key.
    pub bases: Vec<Genuine>,
    /// The signing inputs of every access token known to validate, with their claims.
    pub known_access: HashMap<String, AccessClaims>,
    /// The signing inputs of every refresh token known to validate, with their claims.
    pub known_refresh: HashMap<String, RefreshClaims>,
}

impl JwtFixture {
    /// The key `kid` names.
    pub fn key(&self, kid: &str) -> Option<&KeyMaterial> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Signs `signing_input` as a header naming `alg` and `kid` asks: the named key with its own
    /// algorithm; for an HMAC `alg` naming an asymmetric key, HMAC keyed with its public key (the
    /// algorithm-confusion forgery); otherwise bytes that are no signature at all.
    pub fn sign_as(&self, alg: Option<&str>, kid: Option<&str>, signing_input: &[u8]) -> Vec<u8> {
        let key = kid.and_then(|kid| self.key(kid));
        match (alg, key) {
            (Some(alg @ ("HS256" | "HS384" | "HS512")), Some(key)) => {
                if key.alg.name() == alg {
                    key.sign(signing_input)
                } else {
                    hmac_sign(alg, &key.hmac_secret(), signing_input)
                }
            }
            (Some(alg), Some(key)) if key.alg.name() == alg => key.sign(signing_input),
            _ => b"not a signature".to_vec(),
        }
    }

    /// The reference verifier: `Ok((header, payload))` when `token` is a compact JWS whose header
    /// names a key of the set with that key's algorithm and whose signature that key made.
    ///
    /// Header and payload are read as lossy UTF-8: serde skips members it ignores without
    /// checking their UTF-8, so tokenward (rightly or not) accepts invalid UTF-8 inside an unknown
    /// header member or an unknown refresh-token claim, and such bytes cannot change the members
    /// compared here (invalid UTF-8 in `alg`, `kid`, `typ` or a claim tokenward reads is refused).
    pub fn oracle_signature(&self, token: &str) -> Result<(Map<String, Value>, Value), String> {
        let jws = split_jws(token).ok_or("not three parts")?;
        let header = URL_SAFE_NO_PAD
            .decode(jws.header_b64)
            .map_err(|_| "header is not base64url")?;
        let header: Map<String, Value> = serde_json::from_str(&String::from_utf8_lossy(&header))
            .map_err(|e| format!("header JSON: {e}"))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or("no string kid")?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or("no string alg")?;
        let key = self.key(kid).ok_or("kid names no key")?;
        if key.alg.name() != alg {
            return Err(format!("header alg {alg} is not the {} key's", key.alg));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(jws.signature_b64)
            .map_err(|_| "signature is not base64url")?;
        if !key.verify(jws.signing_input.as_bytes(), &sig) {
            return Err(format!("signature does not verify under {kid}"));
        }
        let payload = URL_SAFE_NO_PAD
            .decode(jws.payload_b64)
            .map_err(|_| "payload is not base64url")?;
        let payload: Value = serde_json::from_str(&String::from_utf8_lossy(&payload))
            .map_err(|e| format!("payload JSON: {e}"))?;
        Ok((header, payload))
    }

    /// Checks accepted access-token claims against the header and payload as the reference
    /// decoded them: RFC 9068 `typ`, no `crit`, `iss`, `aud`, the time claims with the leeway,
    /// and every claim equal to the payload's member (absent ones at their defaults).
    pub fn check_access(
        &self,
        claims: &AccessClaims,
        header: &Map<String, Value>,
        payload: &Value,
    ) -> Result<(), String> {
        let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
        if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
            return Err(format!("accepted typ {typ:?}"));
        }
        // Any `crit`, `null` included (fuzz/regressions/jwt_claims: it once passed as absent).
        if header.get("crit").is_some() {
            return Err("accepted a header with crit".into());
        }
        let payload = payload.as_object().ok_or("payload is not an object")?;
        let str_claim = |name: &str| payload.get(name).and_then(Value::as_str);
        let int_claim = |name: &str| payload.get(name).and_then(Value::as_i64);
        expect(
            str_claim("iss") == Some(self.issuer.as_str()) && claims.iss == self.issuer,
            "iss",
        )?;
        expect(str_claim("sub") == Some(claims.sub.as_str()), "sub")?;
        expect(str_claim("jti") == Some(claims.jti.as_str()), "jti")?;
        expect(str_claim("sid") == Some(claims.sid.as_str()), "sid")?;
        expect(
            payload.get("client_id").map(|v| v.as_str())
                == claims.client_id.as_ref().map(|c| Some(c.as_str())),
            "client_id",
        )?;
        let aud: Option<Vec<&str>> = match payload.get("aud") {
            Some(Value::String(one)) => Some(vec![one.as_str()]),
            Some(Value::Array(many)) => many.iter().map(Value::as_str).collect(),
            _ => None,
        };
        let aud = aud.ok_or("aud is not a string or an array of strings")?;
        expect(aud == claims.aud, "aud")?;
        expect(aud.len() <= 32, "at most 32 audiences")?;
        expect(
            aud.contains(&self.audience.as_str()),
            "aud names the audience",
        )?;
        expect(int_claim("exp") == Some(claims.exp), "exp")?;
        expect(int_claim("iat") == Some(claims.iat), "iat")?;
        expect(
            payload.get("nbf").map(Value::as_i64) == claims.nbf.map(Some),
            "nbf",
        )?;
        expect(
            self.now < claims.exp.saturating_add(self.leeway),
            "not expired",
        )?;
        expect(
            claims.iat <= self.now.saturating_add(self.leeway),
            "iat not in the future",
        )?;
        expect(
            claims
                .nbf
                .is_none_or(|nbf| nbf <= self.now.saturating_add(self.leeway)),
            "nbf not in the future",
        )?;
        let uint = |name: &str| match payload.get(name) {
            None => Some(0),
            Some(v) => v.as_u64(),
        };
        expect(uint("gen") == Some(claims.generation), "gen")?;
        expect(uint("epoch") == Some(claims.epoch), "epoch")?;
        let scope = match payload.get("scope") {
            None => Some(Scopes::empty()),
            Some(Value::String(text)) => Scopes::parse(text).ok(),
            Some(_) => None,
        };
        expect(scope.as_ref() == Some(&claims.scope), "scope")?;
        let kind = match payload.get("sub_kind") {
            None => Some(SubjectKind::User),
            Some(v) if v.as_str() == Some("client") => Some(SubjectKind::Client),
            Some(_) => None,
        };
        expect(kind == Some(claims.subject_kind), "sub_kind")?;
        let extra: Map<String, Value> = payload
            .iter()
            .filter(|(name, _)| !REGISTERED_CLAIMS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        expect(extra == claims.extra, "extra claims")?;
        Ok(())
    }

    /// Checks accepted refresh-token claims the same way (`typ` exactly `rt+jwt`, `aud` the
    /// issuer, `exp` and `session_exp` both unexpired).
    pub fn check_refresh(
        &self,
        claims: &RefreshClaims,
        header: &Map<String, Value>,
        payload: &Value,
    ) -> Result<(), String> {
        expect(
            header.get("typ").and_then(Value::as_str) == Some("rt+jwt"),
            "refresh typ is rt+jwt",
        )?;
        expect(
            header.get("crit").is_none_or(Value::is_null),
            "no crit (but null)",
        )?;
        let payload = payload.as_object().ok_or("payload is not an object")?;
        let str_claim = |name: &str| payload.get(name).and_then(Value::as_str);
        expect(
            claims.iss == self.issuer && str_claim("iss") == Some(&*self.issuer),
            "iss",
        )?;
        expect(
            claims.aud == self.issuer && str_claim("aud") == Some(&*self.issuer),
            "aud",
        )?;
        expect(str_claim("sub") == Some(claims.sub.as_str()), "sub")?;
        expect(str_claim("jti") == Some(claims.jti.as_str()), "jti")?;
        expect(str_claim("sid") == Some(claims.sid.as_str()), "sid")?;
        let int_claim = |name: &str| payload.get(name).and_then(Value::as_i64);
        expect(int_claim("exp") == Some(claims.exp), "exp")?;
        expect(
            int_claim("session_exp") == Some(claims.session_exp),
            "session_exp",
        )?;
        expect(int_claim("iat") == Some(claims.iat), "iat")?;
        let end = claims.exp.min(claims.session_exp);
        expect(self.now < end.saturating_add(self.leeway), "not expired")?;
        expect(
            claims.iat <= self.now.saturating_add(self.leeway),
            "iat not in the future",
        )?;
        let scope = str_claim("scope").and_then(|s| Scopes::parse(s).ok());
        expect(scope.as_ref() == Some(&claims.scope), "scope")?;
        Ok(())
    }
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what} disagrees"))
    }
}

/// The fixture, built once per process.
pub fn jwt_fixture() -> &'static JwtFixture {
    static FIXTURE: OnceLock<JwtFixture> = OnceLock::new();
    FIXTURE.get_or_init(build_jwt_fixture)
}

fn build_jwt_fixture() -> JwtFixture {
    let vectors: Value = serde_json::from_str(JWT_VECTORS).expect("vectors parse");
    let issuer = vectors["issuer"].as_str().unwrap().to_owned();
    let audience = vectors["audience"].as_str().unwrap().to_owned();
    let now = vectors["validate_at"].as_i64().unwrap();
    let key_file = vectors["key_file"].clone();
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(now).unwrap(),
    ));
    let leeway = 30;
    let codec_for = |active: &str, cache: usize| {
        let mut file = key_file.clone();
        file["active"] = json!(active);
        let keys = KeySet::from_json(&file.to_string()).expect("fixture key file");
        TokenCodec::builder(keys, &issuer, &audience)
            .clock(clock.clone())
            .leeway(Duration::seconds(leeway))
            .verified_cache_tokens(cache)
            .build()
            .expect("fixture codec")
    };
    let active = key_file["active"].as_str().unwrap().to_owned();
    let codec = codec_for(&active, 4096);
    let codec_uncached = codec_for(&active, 0);
    let jwks = JwksVerifier::new(&codec.keys().jwks(), &issuer, &audience)
        .expect("fixture JWKS")
        .clock(clock.clone())
        .leeway(Duration::seconds(leeway))
        .expect("leeway");

    let keys: Vec<KeyMaterial> = key_file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let kid = entry["kid"].as_str().unwrap().to_owned();
            let alg: KeyAlgorithm = entry["alg"].as_str().unwrap().parse().unwrap();
            let der = URL_SAFE_NO_PAD
                .decode(entry["key"].as_str().unwrap())
                .unwrap();
            let signer = match alg {
                KeyAlgorithm::EdDSA => Signer::Ed25519(Ed25519KeyPair::from_pkcs8(&der).unwrap()),
                KeyAlgorithm::ES256 => Signer::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap(),
                ),
                KeyAlgorithm::RS256 => Signer::Rsa(RsaKeyPair::from_pkcs8(&der).unwrap()),
                _ => Signer::Hmac(der),
            };
            KeyMaterial { kid, alg, signer }
        })
        .collect();

    let mut bases: Vec<Genuine> = vectors["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Genuine {
            token: t["token"].as_str().unwrap().to_owned(),
        })
        .collect();
    let scopes = Scopes::parse("items:read items:write").unwrap();
    let subject = TokenSubject {
        user_id: "user-7",
        session_id: "session-7",
        generation: 3,
        epoch: 9,
        session_exp: Some(now + 7200),
    };
    for key in &keys {
        let issuing = codec_for(&key.kid, 0);
        let extra = json!({"tenant": "t1", "roles": ["a", "b"]});
        let access = issuing.issue_access_for(subject, &scopes, &extra).unwrap();
        let refresh = issuing
            .issue_refresh(subject, &scopes, Duration::hours(1), now + 7200)
            .unwrap();
        for token in [access.token, refresh.token] {
            bases.push(Genuine {
                token: secrecy::ExposeSecret::expose_secret(&token).to_owned(),
            });
        }
    }
    let mut known_access = HashMap::new();
    let mut known_refresh = HashMap::new();
    for base in &bases {
        let signing_input = split_jws(&base.token).unwrap().signing_input.to_owned();
        if let Ok(claims) = codec_uncached.validate_access(&base.token) {
            known_access.insert(signing_input.clone(), claims.into_claims());
        }
        if let Ok(claims) = codec_uncached.validate_refresh(&base.token) {
            known_refresh.insert(signing_input, claims.into_claims());
        }
    }
    // 2 typs x 4 PyJWT keys, plus one issued access and refresh token per key.
    assert_eq!(known_access.len(), 8 + keys.len(), "fixture access tokens");
    assert_eq!(known_refresh.len(), keys.len(), "fixture refresh tokens");
    JwtFixture {
        issuer,
        audience,
        now,
        leeway,
        key_file,
        keys,
        codec,
        codec_uncached,
        jwks,
        bases,
        known_access,
        known_refresh,
    }
}

/// Runs every access- and refresh-token validation the fixture has on `token` and checks each
/// verdict: the cached and uncached codecs and the JWKS verifier agree (the JWKS verifier has no
/// HMAC key, so it may only differ by `UnknownKid` for the HMAC kid); an accepted token is
/// signed by the key its header names (reference verifier), is one of the tokens known to be
/// signed, and its claims are the payload's; no token passes as both an access and a refresh
/// token.
pub fn check_token(fx: &JwtFixture, token: &str) {
    let uncached = fx
        .codec_uncached
        .validate_access(token)
        .map(|v| v.into_claims());
    let cached = fx.codec.validate_access(token).map(|v| v.into_claims());
    let cached_again = fx.codec.validate_access(token).map(|v| v.into_claims());
    assert_eq!(cached, uncached, "cached and uncached validation disagree");
    assert_eq!(
        cached_again, uncached,
        "a second (cached) validation disagrees"
    );
    let jwks = fx.jwks.verify(token).map(|v| v.into_claims());
    if jwks != uncached {
        let hmac_kid = fx
            .oracle_header_kid(token)
            .is_some_and(|kid| fx.key(&kid).is_some_and(|k| k.alg.is_symmetric()));
        assert!(
            jwks == Err(TokenError::UnknownKid) && hmac_kid,
            "JwksVerifier says {jwks:?} where the codec says {uncached:?}"
        );
    }
    let refresh = fx
        .codec_uncached
        .validate_refresh(token)
        .map(|v| v.into_claims());
    assert_eq!(
        fx.codec.validate_refresh(token).map(|v| v.into_claims()),
        refresh,
        "refresh validation depends on the codec"
    );
    if let Ok(claims) = &uncached {
        let (header, payload) = fx
            .oracle_signature(token)
            .unwrap_or_else(|e| panic!("accepted access token fails the reference verifier: {e}"));
        if let Err(e) = fx.check_access(claims, &header, &payload) {
            panic!("accepted access token: {e}");
        }
        let signing_input = split_jws(token).unwrap().signing_input;
        assert_eq!(
            fx.known_access.get(signing_input),
            Some(claims),
            "accepted an access token nobody signed"
        );
        assert!(
            refresh.is_err(),
            "a token passed as access and refresh token"
        );
    }
    if let Ok(claims) = &refresh {
        let (header, payload) = fx
            .oracle_signature(token)
            .unwrap_or_else(|e| panic!("accepted refresh token fails the reference verifier: {e}"));
        if let Err(e) = fx.check_refresh(claims, &header, &payload) {
            panic!("accepted refresh token: {e}");
        }
        let signing_input = split_jws(token).unwrap().signing_input;
        assert_eq!(
            fx.known_refresh.get(signing_input),
            Some(claims),
            "accepted a refresh token nobody signed"
        );
    }
}

impl JwtFixture {
    /// The header's `kid` as the reference reads it.
    pub fn oracle_header_kid(&self, token: &str) -> Option<String> {
        let jws = split_jws(token)?;
        let header = URL_SAFE_NO_PAD.decode(jws.header_b64).ok()?;
        let header: Value = serde_json::from_str(&String::from_utf8_lossy(&header)).ok()?;
        header.get("kid")?.as_str().map(str::to_owned)
    }
}

// ---------------------------------------------------------------------------------------------
// Forms (application/x-www-form-urlencoded) as RFC 6749 §3.1 and tokenward's docs describe them.

/// The largest form body tokenward parses.
pub use tokenward::oauth2::MAX_FORM_BYTES;

/// Headers and body for a form request, from fuzz bytes: the first byte picks the
/// `Content-Type` (the form type, the form type with a parameter and odd case, none, two of
/// them, or one taken from the input up to the first newline); the rest is the body.
pub fn form_request(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let Some((&pick, rest)) = data.split_first() else {
        return (headers, data);
    };
    let form = "application/x-www-form-urlencoded";
    let mut body = rest;
    match pick % 5 {
        0 => {
            headers.insert(CONTENT_TYPE, form.parse().unwrap());
        }
        1 => {
            headers.insert(
                CONTENT_TYPE,
                " Application/X-WWW-Form-URLEncoded ;charset=UTF-8"
                    .parse()
                    .unwrap(),
            );
        }
        2 => {}
        3 => {
            headers.append(CONTENT_TYPE, form.parse().unwrap());
            headers.append(CONTENT_TYPE, form.parse().unwrap());
        }
        _ => {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            if let Ok(value) = http::HeaderValue::from_bytes(&rest[..end]) {
                headers.insert(CONTENT_TYPE, value);
            }
            body = rest.get(end + 1..).unwrap_or(&[]);
        }
    }
    (headers, body)
}

/// What a form parse should give: the non-empty parameters, or the reason it is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FormModel {
    /// Parameters with non-empty values, each named once.
    Params(HashMap<String, String>),
    /// Not a form `Content-Type` (exactly one header, media type compared case-insensitively).
    NotAForm,
    /// Larger than [`MAX_FORM_BYTES`].
    TooLarge,
    /// A parameter named twice (empty values count).
    Repeated(String),
}

/// The reference form parser.
pub fn form_model(headers: &HeaderMap, body: &[u8]) -> FormModel {
    let types: Vec<_> = headers.get_all(CONTENT_TYPE).iter().collect();
    let is_form = match types.as_slice() {
        [one] => {
            // Visible ASCII and tab only, as HTTP field values are text.
            let bytes = one.as_bytes();
            bytes
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
                && {
                    let text = std::str::from_utf8(bytes).unwrap();
                    let media = text.split(';').next().unwrap_or("");
                    media
                        .trim_matches(|c: char| c == ' ' || c == '\t')
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                }
        }
        _ => false,
    };
    if !is_form {
        return FormModel::NotAForm;
    }
    if body.len() > MAX_FORM_BYTES {
        return FormModel::TooLarge;
    }
    let mut seen = HashSet::new();
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if !seen.insert(name.to_string()) {
            return FormModel::Repeated(name.into_owned());
        }
        if !value.is_empty() {
            params.insert(name.into_owned(), value.into_owned());
        }
    }
    FormModel::Params(params)
}

/// Checks an error response as every form error must be: status 400, a JSON body with the same
/// `error` and `error_description`, and a description of printable ASCII.
pub fn check_form_error(err: &tokenward::oauth2::ErrorResponse) {
    assert_eq!(err.status, http::StatusCode::BAD_REQUEST, "{err:?}");
    let description = err.description.to_string();
    // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E.
    assert!(
        description
            .chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')),
        "error description outside RFC 6749's characters: {description:?}"
    );
    let response = err.clone().into_response();
    let body: Value = serde_json::from_slice(response.body()).expect("error body is JSON");
    assert_eq!(body["error"], err.error, "error body");
    assert_eq!(body["error_description"], *description, "error body");
}

/// The marker [`with_secrets_replaced`] writes.
pub const MARKER: &str = "SECRET-MARKER-7f3a";

/// The same form with every non-empty value of the parameters named in `secrets` replaced by
/// [`MARKER`]: names, order and empty values stay, so a parser that does not echo credentials
/// answers it exactly as it answered the original.
pub fn with_secrets_replaced(body: &[u8], secrets: &[&str]) -> Vec<u8> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body) {
        if secrets.contains(&name.as_ref()) && !value.is_empty() {
            out.append_pair(&name, MARKER);
        } else {
            out.append_pair(&name, &value);
        }
    }
    out.finish().into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Secrets in files: an error about a file must never quote a secret from it.

/// What [`with_marked_secrets`] appends to secret values: letters and digits only, so a marked
/// value stays in the alphabet of base64, PHC and key material.
pub const SECRET_MARK: &str = "Zz9Qx7Zz9Qx7";

/// `text` (a JSON file: an array of objects, or an object holding one under `array`) with
/// [`SECRET_MARK`] appended to every string member named `member` of those objects. `None` when
/// `text` is not such JSON, has no such member, or contains the mark already (an error could then
/// rightly name it, in an id or a URI).
pub fn with_marked_secrets(text: &str, array: Option<&str>, member: &str) -> Option<String> {
    if text.contains(SECRET_MARK) {
        return None;
    }
    let mut file: Value = serde_json::from_str(text).ok()?;
    let entries = match array {
        Some(name) => file.get_mut(name)?.as_array_mut()?,
        None => file.as_array_mut()?,
    };
    let mut marked = false;
    for entry in entries {
        if let Some(Value::String(secret)) = entry.get_mut(member) {
            secret.push_str(SECRET_MARK);
            marked = true;
        }
    }
    marked.then(|| file.to_string())
}
