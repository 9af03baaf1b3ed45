//! What the protected routes (`/users/me`, `/items`) take as a bearer token and what they answer:
//! the challenge, scopes, the routes' own bodies, and tokens the server never issued, forged with
//! its own key file and checked against the keys it publishes. Resource servers built on the
//! library rely on exactly this behaviour, so it is pinned apart from how tokens are obtained.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use secrecy::SecretBox;
use serde_json::{Value, json};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::token::{Scopes, TokenCodec, TokenSubject};

use crate::client::{Client, decode_jwt, tokens};
use crate::error_shapes::assert_invalid_token;
use crate::fixture::Fixture;

pub async fn bearer_errors_and_scopes(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);

    let none = client.get_anonymous("/users/me").await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"tokenward\"")
    );
    for header in ["Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "bearer"] {
        let reply = client
            .execute(
                client
                    .request(reqwest::Method::GET, "/users/me")
                    .header("authorization", header),
            )
            .await;
        assert_eq!(reply.status, 401, "{header}");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap_or_default()
                .starts_with("Bearer realm=\"tokenward\"")
        );
    }
    let pair = client.login(&fixture.dave).await;
    // Only the header counts: not the query string, not a form body.
    let query = client
        .get_anonymous(&format!("/users/me?access_token={}", pair.access))
        .await;
    assert_eq!(query.status, 401, "token in the query string");

    assert_eq!(client.get("/items", &pair.access).await.status, 200);
    let forbidden = client
        .post_json("/items", &pair.access, &json!({"name": "x"}))
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());
    let challenge = forbidden.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"items:write\""),
        "{challenge}"
    );

    // A token granted a narrower scope than the user has is held to it.
    let narrow = tokens(
        client
            .password_grant(
                &fixture.alice.username,
                fixture.alice.password,
                Some("items:read"),
            )
            .await,
    );
    assert_eq!(
        client
            .post_json("/items", &narrow.access, &json!({"name": "x"}))
            .await
            .status,
        403
    );
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Signs access tokens with the server's own key file, to show the server checks more than the
/// signature: expiry, issuer, audience.
fn forging_codec(keys: KeySet, iss: &str, aud: &str, clock_offset: time::Duration) -> TokenCodec {
    let clock = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + clock_offset,
    ));
    TokenCodec::builder(keys, iss, aud)
        .clock(clock)
        .build()
        .expect("codec")
}

pub async fn forged_and_misissued_tokens_are_rejected(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let real = client.login(&fixture.alice).await;
    let (header, claims) = decode_jwt(&real.access);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let iss = claims["iss"].as_str().unwrap().to_owned();
    let aud = match &claims["aud"] {
        Value::Array(values) => values[0].as_str().unwrap().to_owned(),
        other => other.as_str().unwrap().to_owned(),
    };
    let subject = TokenSubject {
        user_id: claims["sub"].as_str().unwrap(),
        session_id: claims["sid"].as_str().unwrap_or("forged-session"),
        generation: claims["gen"].as_u64().unwrap_or(0),
        epoch: claims["epoch"].as_u64().unwrap_or(0),
        session_exp: None,
    };
    let scopes = Scopes::parse("items:read items:write").unwrap();
    let keys = || KeySet::load(fixture.dir.path("tokenward-key.json")).expect("server key file");
    let sign = |codec: &TokenCodec| {
        let issued = codec
            .issue_access_for(subject, &scopes, &json!({}))
            .unwrap();
        secrecy::ExposeSecret::expose_secret(&issued.token).to_owned()
    };

    // The harness works: a token from the server's own key and settings is accepted.
    let genuine = sign(&forging_codec(keys(), &iss, &aud, time::Duration::ZERO));
    assert_eq!(
        client.get("/users/me", &genuine).await.status,
        200,
        "control token"
    );

    let hour = time::Duration::hours(1);
    let cases = [
        (
            "expired",
            sign(&forging_codec(keys(), &iss, &aud, -hour * 2)),
        ),
        (
            "not yet valid",
            sign(&forging_codec(keys(), &iss, &aud, hour * 2)),
        ),
        (
            "wrong issuer",
            sign(&forging_codec(
                keys(),
                "https://evil.example",
                &aud,
                time::Duration::ZERO,
            )),
        ),
        (
            "wrong audience",
            sign(&forging_codec(
                keys(),
                &iss,
                "another-api",
                time::Duration::ZERO,
            )),
        ),
        ("unknown kid", {
            let evil = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
            sign(&forging_codec(evil, &iss, &aud, time::Duration::ZERO))
        }),
    ];
    for (what, token) in &cases {
        assert_invalid_token(&client.get("/users/me", token).await, what);
    }

    let payload = |claims: &Value| B64.encode(claims.to_string());
    let header_b64 = |header: &Value| B64.encode(header.to_string());
    let mut escalated = claims.clone();
    escalated["scope"] = json!("items:read items:write admin");
    escalated["sub"] = json!("someone-else");
    let signature = real.access.rsplit('.').next().unwrap();
    let tampered = format!(
        "{}.{}.{signature}",
        real.access.split('.').next().unwrap(),
        payload(&escalated)
    );
    assert_invalid_token(
        &client.get("/users/me", &tampered).await,
        "tampered payload",
    );

    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
    let alg_none = format!("{}.{}.", header_b64(&none_header), payload(&claims));
    assert_invalid_token(&client.get("/users/me", &alg_none).await, "alg none");

    // HS256 keyed with the published public key, under the real kid (the RS/HS confusion).
    let jwks = client.get_anonymous("/.well-known/jwks.json").await.json();
    if let Some(x) = jwks["keys"][0]["x"].as_str() {
        let public = B64.decode(x).unwrap();
        let confused = SigningKey::from_secret(
            kid.clone(),
            KeyAlgorithm::HS256,
            SecretBox::new(public.into_boxed_slice()),
        )
        .unwrap();
        let token = sign(&forging_codec(
            KeySet::new(confused),
            &iss,
            &aud,
            time::Duration::ZERO,
        ));
        assert_invalid_token(
            &client.get("/users/me", &token).await,
            "HS256 with the public key",
        );
    }
    // The server's key under a forged kid.
    let mut forged_kid_header = header.clone();
    forged_kid_header["kid"] = json!("../../etc/passwd");
    let mut parts = real.access.split('.');
    let _ = parts.next();
    let forged = format!(
        "{}.{}.{}",
        header_b64(&forged_kid_header),
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    assert_invalid_token(&client.get("/users/me", &forged).await, "forged kid");
}

pub async fn users_me_and_items(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;

    let me = client.get("/users/me", &pair.access).await;
    assert_eq!(me.status, 200);
    let sub = crate::client::decode_jwt(&pair.access).1["sub"].clone();
    assert_eq!(
        me.json(),
        json!({"sub": sub, "username": fixture.alice.username, "full_name": "Alice Example",
               "email": "alice@example.com", "scopes": ["items:read", "items:write"],
               "disabled": false})
    );
    assert!(!me.text().contains("argon2") && !me.text().contains("password"));

    let items = client.get("/items", &pair.access).await;
    assert_eq!(items.status, 200);
    let before = items.json().as_array().expect("a JSON array").len();
    let created = client
        .post_json("/items", &pair.access, &json!({"name": "wrench"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["name"], "wrench");
    let after = client.get("/items", &pair.access).await.json();
    assert_eq!(after.as_array().unwrap().len(), before + 1);

    let not_json = client
        .execute(
            client
                .request(reqwest::Method::POST, "/items")
                .header("authorization", format!("Bearer {}", pair.access))
                .header("content-type", "text/plain")
                .body("name=wrench"),
        )
        .await;
    assert_eq!(not_json.status, 415);
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": 5}),
        json!([1]),
    ] {
        let reply = client.post_json("/items", &pair.access, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
    }
}

pub async fn jwks_publishes_public_keys_only(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;
    let (header, _) = decode_jwt(&pair.access);
    let reply = client.get_anonymous("/.well-known/jwks.json").await;
    assert_eq!(reply.status, 200);
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().expect("keys array");
    if header["alg"] == "HS256" {
        assert!(keys.is_empty());
    } else {
        assert!(keys.iter().any(|k| k["kid"] == header["kid"]), "{jwks}");
    }
    for key in keys {
        for private in ["d", "p", "q", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
}
