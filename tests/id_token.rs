//! The id_token key beside the access-token key: the key file, rotation, retirement, and
//! id_tokens that verify with the published JWKS but are never accepted as access tokens.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokenward::keys::{ID_TOKEN_ALGORITHM, KeyAlgorithm, KeyError, KeySet};
use tokenward::token::{IdTokenClaims, Scopes, TokenCodec, TokenError, at_hash};

fn provider_keys() -> KeySet {
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    assert!(
        keys.ensure_id_token_key().unwrap(),
        "an EdDSA set gets an RS256 key"
    );
    assert!(!keys.ensure_id_token_key().unwrap(), "and only once");
    keys
}

#[test]
fn the_id_token_key_survives_the_key_file_rotation_and_retirement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let keys = provider_keys();
    let access_kid = keys.active().kid().to_owned();
    let id_kid = keys.id_token_key().unwrap().kid().to_owned();
    assert_ne!(access_kid, id_kid);
    assert_eq!(keys.id_token_key().unwrap().algorithm(), ID_TOKEN_ALGORITHM);
    keys.save(&path).unwrap();
    let loaded = KeySet::load(&path).unwrap();
    assert_eq!(
        loaded.active().kid(),
        access_kid,
        "the access key stays active"
    );
    assert_eq!(loaded.id_token_key().unwrap().kid(), id_kid);

    // Rotation makes new keys of both kinds; the old ones keep verifying until retired.
    let mut rotated = loaded;
    rotated.rotate_generate().unwrap();
    let new_id_kid = rotated.id_token_key().unwrap().kid().to_owned();
    assert_ne!(new_id_kid, id_kid);
    assert_ne!(rotated.active().kid(), access_kid);
    assert_eq!(rotated.active().algorithm(), KeyAlgorithm::EdDSA);
    assert_eq!(rotated.keys().len(), 4);
    assert!(matches!(
        rotated.retire(&new_id_kid),
        Err(KeyError::RetireActive(_))
    ));
    rotated.retire(&id_kid).unwrap();
    rotated.retire(&access_kid).unwrap();
    assert_eq!(rotated.keys().len(), 2);
    let jwks = rotated.jwks();
    assert!(
        jwks.keys
            .iter()
            .any(|k| k.kid == new_id_kid && k.alg == "RS256")
    );
}

#[test]
fn a_key_file_naming_a_missing_or_symmetric_id_token_key_is_refused() {
    let keys = provider_keys();
    let mut file: Value = serde_json::from_str(&keys.to_json()).unwrap();
    file["id_token"] = Value::from("no-such-kid");
    let err = KeySet::from_json(&file.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("id_token"), "{err}");

    let hmac = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let symmetric = hmac.active().clone();
    let err = provider_keys().with_id_token_key(symmetric).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    assert!(
        hmac.id_token_key().is_none(),
        "an HMAC key never signs id_tokens"
    );
    let eddsa = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    assert!(eddsa.id_token_key().is_none(), "id_tokens are RS256");
    let rsa = KeySet::generate(KeyAlgorithm::RS256).unwrap();
    assert_eq!(rsa.id_token_key().unwrap().kid(), rsa.active().kid());
}

#[test]
fn id_tokens_verify_with_the_jwks_and_are_not_access_tokens() {
    let codec = TokenCodec::builder(provider_keys(), "https://auth.example", "api")
        .build()
        .unwrap();
    let access = codec
        .issue_access("user-1", &Scopes::parse("openid").unwrap(), "s-1")
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = IdTokenClaims {
        iss: "https://auth.example".into(),
        sub: "user-1".into(),
        aud: "client-1".into(),
        exp: now + 300,
        iat: now,
        auth_time: now - 5,
        nonce: Some("n-1".into()),
        at_hash: at_hash(access.token.expose_secret(), ID_TOKEN_ALGORITHM),
    };
    let id_token = codec.issue_id_token(&claims).unwrap();

    let header = jsonwebtoken::decode_header(&id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwks: JwkSet =
        serde_json::from_str(&serde_json::to_string(&codec.keys().jwks()).unwrap()).unwrap();
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["client-1"]);
    validation.set_issuer(&["https://auth.example"]);
    let decoded = jsonwebtoken::decode::<IdTokenClaims>(&id_token, &key, &validation).unwrap();
    assert_eq!(decoded.claims, claims);

    // The same key set's codec never takes an id_token for an access token.
    assert!(matches!(
        codec.validate_access(&id_token),
        Err(TokenError::WrongType)
    ));
}

#[test]
fn a_codec_without_an_rs256_key_cannot_sign_id_tokens() {
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::HS256).unwrap(), "i", "a")
        .build()
        .unwrap();
    let claims = IdTokenClaims {
        iss: "i".into(),
        sub: "s".into(),
        aud: "c".into(),
        exp: 2,
        iat: 1,
        auth_time: 1,
        nonce: None,
        at_hash: String::new(),
    };
    assert!(matches!(
        codec.issue_id_token(&claims),
        Err(TokenError::InvalidConfig(_))
    ));
}
