//! The token endpoint's password grant: what a login answers, how a requested scope narrows it,
//! and that a failed or malformed one gives nothing away. Every client meets these first, and
//! the other clause modules take the response shape pinned here for granted.

use std::path::Path;

use serde_json::json;
use tokenward::store::UserStore;

use crate::client::{Client, decode_jwt, tokens};
use crate::error_shapes::assert_oauth_error;
use crate::fixture::{Fixture, open_store};

pub async fn password_grant_response_shape(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--access-ttl", "600"]).await;
    let client = Client::new(&server);
    let reply = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(reply.header("pragma").as_deref(), Some("no-cache"));
    let pair = tokens(reply);
    assert_eq!(pair.body["token_type"], "Bearer");
    assert_eq!(pair.body["expires_in"], 600);
    assert_eq!(pair.body["scope"], "items:read items:write");
    assert_ne!(pair.access, pair.refresh);

    let (header, claims) = decode_jwt(&pair.access);
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert!(matches!(header["alg"].as_str(), Some("EdDSA" | "HS256")));
    for claim in ["iss", "sub", "exp", "iat", "jti", "scope"] {
        assert!(!claims[claim].is_null(), "claim {claim} missing: {claims}");
    }
    assert!(claims["aud"].is_string() || claims["aud"].is_array());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert_eq!(claims["scope"], "items:read items:write");
    let (refresh_header, _) = decode_jwt(&pair.refresh);
    assert_ne!(refresh_header["typ"], "at+jwt");
}

pub async fn scope_grants_narrowing_and_widening(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let alice = &fixture.alice;

    let empty = client
        .form(
            "/token",
            &format!(
                "grant_type=password&username={}&password={}&scope=",
                crate::client::enc(&alice.username),
                crate::client::enc(alice.password)
            ),
        )
        .await;
    assert_eq!(
        tokens(empty).body["scope"],
        "items:read items:write",
        "scope= is no scope"
    );

    let narrow = tokens(
        client
            .password_grant(&alice.username, alice.password, Some("items:read"))
            .await,
    );
    assert_eq!(narrow.body["scope"], "items:read");
    let (_, claims) = decode_jwt(&narrow.access);
    assert_eq!(claims["scope"], "items:read");

    let reply = client
        .password_grant(&alice.username, alice.password, Some("items:read admin"))
        .await;
    assert_oauth_error(&reply, 400, "invalid_scope", "scope the user lacks");

    // Refresh may narrow the grant, never widen it, and a refused widening keeps the token.
    let wide = client.login(alice).await;
    let reply = client
        .refresh_grant(&narrow.refresh, Some("items:write"))
        .await;
    assert_oauth_error(&reply, 400, "invalid_scope", "widening on refresh");
    let narrowed = tokens(
        client
            .refresh_grant(&wide.refresh, Some("items:read"))
            .await,
    );
    assert_eq!(narrowed.body["scope"], "items:read");
    let kept = tokens(client.refresh_grant(&narrow.refresh, None).await);
    assert_eq!(
        kept.body["scope"], "items:read",
        "no scope on refresh keeps the grant"
    );
}

pub async fn bad_credentials_are_indistinguishable(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--max-failed-logins", "100"]).await;
    let client = Client::new(&server);
    let unknown = client
        .password_grant("nobody-at-all", "whatever password", None)
        .await;
    let wrong = client
        .password_grant(&fixture.alice.username, "not alice's password", None)
        .await;
    let disabled = client
        .password_grant(&fixture.carol.username, fixture.carol.password, None)
        .await;
    for (what, reply) in [
        ("unknown", &unknown),
        ("wrong", &wrong),
        ("disabled", &disabled),
    ] {
        assert_oauth_error(reply, 400, "invalid_grant", what);
    }
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(unknown.body, disabled.body);
}

pub async fn malformed_token_requests(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let alice = &fixture.alice;
    let login = format!(
        "grant_type=password&username={}&password={}",
        crate::client::enc(&alice.username),
        crate::client::enc(alice.password)
    );

    let as_json = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .json(&json!({"grant_type": "password", "username": alice.username, "password": alice.password})),
        )
        .await;
    assert_oauth_error(&as_json, 400, "invalid_request", "JSON body");
    let cases = [
        (
            "missing grant_type",
            format!("username={}&password=x", alice.username),
        ),
        (
            "missing password",
            format!("grant_type=password&username={}", alice.username),
        ),
        ("repeated parameter", format!("{login}&username=other")),
        (
            "missing refresh_token",
            "grant_type=refresh_token".to_owned(),
        ),
    ];
    for (what, body) in cases {
        assert_oauth_error(
            &client.form("/token", &body).await,
            400,
            "invalid_request",
            what,
        );
    }
    let reply = client
        .form("/token", "grant_type=implicit&client_id=x")
        .await;
    assert_oauth_error(&reply, 400, "unsupported_grant_type", "other grant type");
}

pub async fn legacy_hash_is_upgraded_on_login(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let store = open_store(&fixture).await;
    let before = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .unwrap();
    assert!(before.password_hash.expose_secret().starts_with("$2b$"));
    client.login(&fixture.bob).await;
    let after = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after
            .password_hash
            .expose_secret()
            .starts_with("$argon2id$"),
        "bcrypt hash upgraded to argon2id"
    );
    // The weak-parameter argon2id hash of the fixture is upgraded too.
    client.login(&fixture.alice).await;
    let alice = store
        .find_by_username(&fixture.alice.username)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !alice.password_hash.expose_secret().contains("m=7168,"),
        "argon2 parameters raised"
    );
    // And the new hashes verify.
    client.login(&fixture.bob).await;
    client.login(&fixture.alice).await;
}
