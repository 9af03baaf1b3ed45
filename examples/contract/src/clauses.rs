//! One function per clause of the contract, each against a fresh server process.

pub use crate::code_flow::*;
pub use crate::openid::*;
pub use crate::openid_rp::*;
pub use crate::upstream::*;

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use secrecy::SecretBox;
use serde_json::{Value, json};
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::store::UserStore;
use tokenward::store::sqlite::SqliteStore;
use tokenward::token::{Scopes, TokenCodec, TokenSubject};

use crate::client::{Client, Reply, Tokens, decode_jwt, tokens};
use crate::fixture::Fixture;
use crate::server::{PrivateRedis, Server, Workdir};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn assert_invalid_token(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"tokenward\"")
            && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    assert_eq!(reply.error(), error, "{what}: {}", reply.text());
    assert!(
        reply.json()["error_description"].is_string(),
        "{what}: error_description missing"
    );
}

pub async fn demo_user_on_first_start_and_keys_kept_across_restarts(bin: &Path) {
    let dir = Workdir::new();
    let args = vec![
        "--database-url".to_owned(),
        dir.sqlite_url(),
        "--issuer".to_owned(),
        crate::fixture::ISSUER.to_owned(),
    ];
    let server = Server::start(bin, &args).await;
    let password = server
        .demo_password()
        .expect("the demo password is printed once");
    let client = Client::new(&server);
    let reply = client.password_grant("johndoe", &password, None).await;
    let first = tokens(reply);
    assert_eq!(first.body["scope"], "items:read items:write");
    assert!(
        dir.path("tokenward-key.json").exists(),
        "key file next to the database"
    );
    drop(server);

    let server = Server::start(bin, &args).await;
    assert_eq!(server.demo_password(), None, "no second demo user");
    let client = Client::new(&server);
    assert_eq!(
        client.get("/users/me", &first.access).await.status,
        200,
        "a restart keeps the keys, so tokens stay valid"
    );
    tokens(client.password_grant("johndoe", &password, None).await);
}

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

pub async fn refresh_rotation_and_replay_revokes_the_family(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let first = client.login(&fixture.alice).await;
    let other_login = client.login(&fixture.alice).await;

    let second = tokens(client.refresh_grant(&first.refresh, None).await);
    assert_ne!(
        second.refresh, first.refresh,
        "each refresh returns a new refresh token"
    );
    assert_ne!(second.access, first.access);
    assert_eq!(client.get("/users/me", &second.access).await.status, 200);

    let replay = client.refresh_grant(&first.refresh, None).await;
    assert_oauth_error(&replay, 400, "invalid_grant", "replayed refresh token");
    assert_invalid_token(
        &client.get("/users/me", &second.access).await,
        "access token of the replayed family",
    );
    assert_invalid_token(
        &client.get("/users/me", &first.access).await,
        "first access token of the replayed family",
    );
    assert_oauth_error(
        &client.refresh_grant(&second.refresh, None).await,
        400,
        "invalid_grant",
        "newest refresh token of the replayed family",
    );
    // The same user's other login is untouched.
    assert_eq!(
        client.get("/users/me", &other_login.access).await.status,
        200
    );
    tokens(client.refresh_grant(&other_login.refresh, None).await);
}

pub async fn concurrent_refreshes_exactly_one_wins(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Arc::new(Client::new(&server));
    let pair = client.login(&fixture.alice).await;
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, refresh) = (client.clone(), pair.refresh.clone());
        racers.spawn(async move { client.refresh_grant(&refresh, None).await.status });
    }
    let statuses = racers.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

pub async fn access_and_refresh_tokens_are_not_interchangeable(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;
    assert_invalid_token(
        &client.get("/users/me", &pair.refresh).await,
        "refresh token as Bearer",
    );
    assert_oauth_error(
        &client.refresh_grant(&pair.access, None).await,
        400,
        "invalid_grant",
        "access token as refresh token",
    );
    // Neither attempt burned anything.
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    tokens(client.refresh_grant(&pair.refresh, None).await);
}

pub async fn throttling_after_failed_logins(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &["--max-failed-logins", "3", "--throttle-window", "600"],
        )
        .await;
    let client = Client::new(&server);
    let alice = &fixture.alice;
    for attempt in 0..3 {
        let reply = client
            .password_grant(&alice.username, "wrong password!", None)
            .await;
        assert_oauth_error(&reply, 400, "invalid_grant", &format!("failure {attempt}"));
    }
    let locked = client
        .password_grant(&alice.username, alice.password, None)
        .await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert_eq!(locked.error(), "too_many_attempts");
    let retry_after: u64 = locked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    // Another user's counter is separate, and their success does not unlock alice.
    client.login(&fixture.dave).await;
    let still = client
        .password_grant(&alice.username, alice.password, None)
        .await;
    assert_eq!(still.status, 429);
}

async fn open_store(fixture: &Fixture) -> SqliteStore {
    SqliteStore::open(&fixture.dir.sqlite_url())
        .await
        .expect("open the server's SQLite database")
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

pub async fn revocation_endpoint(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);

    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form("/revoke", &format!("token={}", pair.access))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "revoked access token",
    );
    assert_eq!(
        client
            .form("/revoke", &format!("token={}", pair.access))
            .await
            .status,
        200,
        "already revoked"
    );
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            client
                .form("/revoke", &format!("token={garbage}"))
                .await
                .status,
            200
        );
    }
    assert_oauth_error(
        &client.form("/revoke", "").await,
        400,
        "invalid_request",
        "no token",
    );

    // A wrong hint does not stop it.
    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form(
            "/revoke",
            &format!("token={}&token_type_hint=refresh_token", pair.access),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "revoked with wrong hint",
    );

    // Revoking a refresh token revokes its family's access tokens too.
    let pair = client.login(&fixture.alice).await;
    let reply = client
        .form(
            "/revoke",
            &format!("token={}&token_type_hint=refresh_token", pair.refresh),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_oauth_error(
        &client.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "revoked refresh token",
    );
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "family of a revoked refresh",
    );
}

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

pub async fn disabled_user_loses_access(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.dave).await;
    let store = open_store(&fixture).await;
    let dave = store
        .find_by_username(&fixture.dave.username)
        .await
        .unwrap()
        .unwrap();
    store.set_disabled(&dave.id, true).await.unwrap();
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "disabled user's token",
    );
    assert_oauth_error(
        &client.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "disabled user's refresh",
    );
    assert_oauth_error(
        &client
            .password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await,
        400,
        "invalid_grant",
        "disabled user's login",
    );
}

pub async fn users_me_and_items(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;

    let me = client.get("/users/me", &pair.access).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.json(),
        json!({"username": fixture.alice.username, "full_name": "Alice Example",
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

pub async fn password_change_cuts_off_earlier_tokens(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let alice = &fixture.alice;
    let old = client.login(alice).await;
    let other = client.login(alice).await;

    let wrong = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": "not it", "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant", "wrong current password");
    let weak = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": alice.password, "new_password": "short"}),
        )
        .await;
    assert_oauth_error(&weak, 400, "invalid_request", "weak new password");
    assert!(!weak.text().contains(alice.password));

    let new_password = "a brand new passphrase";
    let changed = client
        .post_json(
            "/users/me/password",
            &old.access,
            &json!({"current_password": alice.password, "new_password": new_password}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    // A login right after (same second) works; every earlier token is cut off.
    let fresh = tokens(
        client
            .password_grant(&alice.username, new_password, None)
            .await,
    );
    assert_eq!(client.get("/users/me", &fresh.access).await.status, 200);
    for (what, token) in [("old", &old), ("other", &other)] {
        assert_invalid_token(&client.get("/users/me", &token.access).await, what);
        assert_oauth_error(
            &client.refresh_grant(&token.refresh, None).await,
            400,
            "invalid_grant",
            what,
        );
    }
    assert_oauth_error(
        &client
            .password_grant(&alice.username, alice.password, None)
            .await,
        400,
        "invalid_grant",
        "old password",
    );
}

pub async fn logout_all_cuts_off_every_token(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let first = client.login(&fixture.alice).await;
    let second = client.login(&fixture.alice).await;
    let bystander = client.login(&fixture.dave).await;
    let reply = client
        .post_empty("/users/me/logout-all", &first.access)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let fresh: Tokens = client.login(&fixture.alice).await;
    for (what, pair) in [("first", &first), ("second", &second)] {
        assert_invalid_token(&client.get("/users/me", &pair.access).await, what);
        assert_oauth_error(
            &client.refresh_grant(&pair.refresh, None).await,
            400,
            "invalid_grant",
            what,
        );
    }
    assert_eq!(
        client.get("/users/me", &fresh.access).await.status,
        200,
        "login right after"
    );
    assert_eq!(
        client.get("/users/me", &bystander.access).await.status,
        200,
        "other users"
    );
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

pub async fn health_unknown_paths_and_methods(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let health = client.get_anonymous("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    assert_eq!(client.get_anonymous("/no/such/path").await.status, 404);
    // The load script's unauthenticated baseline route is never there in a normal run.
    let baseline = client
        .execute(
            client
                .request(reqwest::Method::GET, "/baseline/users/me")
                .header("x-user-id", "x"),
        )
        .await;
    assert_eq!(baseline.status, 404);
    for (method, path, allowed) in [
        (reqwest::Method::GET, "/token", vec!["POST"]),
        (reqwest::Method::DELETE, "/items", vec!["GET", "POST"]),
        (reqwest::Method::POST, "/health", vec!["GET"]),
    ] {
        let reply = client.execute(client.request(method.clone(), path)).await;
        assert_eq!(reply.status, 405, "{method} {path}");
        let allow = reply.header("allow").unwrap_or_default();
        for m in allowed {
            assert!(allow.contains(m), "{method} {path}: Allow {allow:?}");
        }
    }
}

pub async fn hostile_input_never_yields_5xx(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::unpooled(&server);
    let pair = client.login(&fixture.alice).await;
    let big = "a".repeat(1024 * 1024);

    // A server may answer 413 and close without reading the rest of the body, in which case
    // the client can see the reset before the answer; either way the body was refused.
    let refused = |what: &str, result: Result<Reply, reqwest::Error>| match result {
        Ok(reply) => assert_eq!(reply.status, 413, "{what}: {}", reply.text()),
        Err(err) => assert!(err.is_request() || err.is_body(), "{what}: {err}"),
    };
    let huge_form = client
        .request(reqwest::Method::POST, "/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username={big}&password=x"));
    refused("1 MiB form", client.try_execute(huge_form).await);
    let huge_json = client
        .request(reqwest::Method::POST, "/items")
        .header("authorization", format!("Bearer {}", pair.access))
        .json(&json!({"name": big}));
    refused("1 MiB JSON", client.try_execute(huge_json).await);
    let long_name = client
        .password_grant(&"u".repeat(10_000), "password", None)
        .await;
    assert_oauth_error(&long_name, 400, "invalid_grant", "10 kB username");
    let huge_token = client.get("/users/me", &"x".repeat(100_000)).await;
    assert!(
        (400..500).contains(&huge_token.status),
        "100 kB bearer token: {}",
        huge_token.status
    );
    let huge_header = client
        .execute(
            client
                .request(reqwest::Method::GET, "/health")
                .header("x-padding", "p".repeat(512 * 1024)),
        )
        .await;
    assert!(
        (400..500).contains(&huge_header.status),
        "512 KiB header: {}",
        huge_header.status
    );
    let binary = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![0xff, 0xfe, b'=', 0x00, b'&', 0x80]),
        )
        .await;
    assert_eq!(binary.status, 400, "binary form");
    let bad_escape = client
        .form("/token", "grant_type=password&username=%ZZ&password=%")
        .await;
    assert!((400..500).contains(&bad_escape.status));
    let deep = client
        .execute(
            client
                .request(reqwest::Method::POST, "/items")
                .header("authorization", format!("Bearer {}", pair.access))
                .header("content-type", "application/json")
                .body("[".repeat(10_000)),
        )
        .await;
    assert_eq!(deep.status, 400, "deeply nested JSON");
    // Still alive and well.
    assert_eq!(client.get_anonymous("/health").await.status, 200);
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
}

/// A client that announces a body and never sends it is answered (503) once the request timeout
/// passes, and the server keeps serving others meanwhile.
pub async fn slow_body_is_cut_off(bin: &Path) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--request-timeout", "1"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\ngrant_type=pass",
    )
    .await
    .unwrap();
    // Others are served while the slow request waits.
    let client = Client::new(&server);
    assert_eq!(client.get_anonymous("/health").await.status, 200);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body within 20 s");
    let head = String::from_utf8_lossy(&answer);
    assert!(
        head.starts_with("HTTP/1.1 503") || head.starts_with("HTTP/1.1 408"),
        "stalled body: {head:?}"
    );
    assert_eq!(client.get_anonymous("/health").await.status, 200);
}

pub async fn startup_errors_exit_2_with_one_line(bin: &Path) {
    let dir = Workdir::new();
    let db = dir.sqlite_url();
    let missing = dir.path("missing.json").display().to_string();
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            db.clone(),
            "--users".into(),
            missing.clone(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains(&missing), "{}", exit.stderr);
    assert_eq!(exit.stderr.trim().lines().count(), 1, "{}", exit.stderr);
    assert!(
        !dir.path("tokenward.db").exists(),
        "nothing written before the users file checks out"
    );

    let unknown = dir.path("unknown.json");
    std::fs::write(
        &unknown,
        r#"[{"username": "mallory", "password_hash": "{MD5}X03MO1qnZdYdgyfeuILPmQ=="}]"#,
    )
    .unwrap();
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            db.clone(),
            "--users".into(),
            unknown.display().to_string(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(
        exit.stderr.contains("mallory"),
        "names the user: {}",
        exit.stderr
    );
    assert!(
        !exit.stderr.contains("X03MO1qnZdYdgyfeuILPmQ"),
        "never the hash"
    );
    assert!(!dir.path("tokenward.db").exists());

    let exit = Server::refused(bin, &["--access-ttl".into(), "soon".into()]).await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("--access-ttl"), "{}", exit.stderr);

    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            "postgres://admin:hunter2@127.0.0.1:1/app".into(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("127.0.0.1:1"), "{}", exit.stderr);
    assert!(
        !exit.stderr.contains("hunter2"),
        "password leaked: {}",
        exit.stderr
    );
    assert_eq!(exit.stderr.trim().lines().count(), 1, "{}", exit.stderr);

    let exit = Server::refused(
        bin,
        &["--database-url".into(), "mysql://localhost/db".into()],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("mysql://"), "{}", exit.stderr);

    let garbage_keys = dir.path("keys.json");
    std::fs::write(&garbage_keys, "{not json").unwrap();
    set_mode(&garbage_keys, 0o600);
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            "memory:".into(),
            "--key-file".into(),
            garbage_keys.display().to_string(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("keys.json"), "{}", exit.stderr);
    assert_eq!(
        std::fs::read_to_string(&garbage_keys).unwrap(),
        "{not json",
        "never replaced"
    );
}

pub async fn graceful_shutdown_on_sigterm(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    assert_eq!(
        Client::new(&server).get_anonymous("/health").await.status,
        200
    );
    assert_eq!(server.terminate().await, Some(0), "clean exit on SIGTERM");
}

/// The PostgreSQL database and Redis of the shared-state clauses. The clause is `#[ignore]`d
/// by default, so reaching here means it was asked for: missing URLs are a failure.
async fn shared_backends() -> (String, String, DropDatabase) {
    let (Ok(pg), Ok(redis)) = (
        std::env::var("TOKENWARD_TEST_POSTGRES_URL"),
        std::env::var("TOKENWARD_TEST_REDIS_URL"),
    ) else {
        panic!(
            "set TOKENWARD_TEST_POSTGRES_URL and TOKENWARD_TEST_REDIS_URL to run the two-instance clause"
        );
    };
    // A database of its own, so parallel runs never share users.
    let name = format!(
        "tw_contract_{}_{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let admin = sqlx::PgPool::connect(&pg)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create a test database");
    let (base, _) = pg.rsplit_once('/').expect("a database name in the URL");
    (
        format!("{base}/{name}"),
        redis,
        DropDatabase { admin, name },
    )
}

/// The test's database, dropped when the clause passes (`.ci/run` clears what failed runs left).
struct DropDatabase {
    admin: sqlx::PgPool,
    name: String,
}

impl DropDatabase {
    async fn drop_now(self) {
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await;
    }
}

pub async fn two_instances_share_postgres_and_redis(bin: &Path) {
    let (pg, redis, database) = shared_backends().await;
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let args = |users: bool| {
        let mut args = vec![
            "--issuer".to_owned(),
            crate::fixture::ISSUER.to_owned(),
            "--database-url".to_owned(),
            pg.clone(),
            "--redis-url".to_owned(),
            redis.clone(),
            "--key-file".to_owned(),
            key_file.clone(),
            "--max-failed-logins".to_owned(),
            "4".to_owned(),
        ];
        if users {
            args.extend([
                "--users".to_owned(),
                fixture.users_file().display().to_string(),
            ]);
        }
        args
    };
    let a = Server::start(bin, &args(true)).await;
    let b = Server::start(bin, &args(false)).await;
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));

    let pair = on_a.login(&fixture.alice).await;
    assert_eq!(
        on_b.get("/users/me", &pair.access).await.status,
        200,
        "B accepts A's token"
    );
    assert_eq!(
        on_a.form("/revoke", &format!("token={}", pair.access))
            .await
            .status,
        200
    );
    assert_invalid_token(
        &on_b.get("/users/me", &pair.access).await,
        "revoked on A, used on B",
    );

    let pair = on_a.login(&fixture.alice).await;
    let next = tokens(on_b.refresh_grant(&pair.refresh, None).await);
    assert_oauth_error(
        &on_a.refresh_grant(&pair.refresh, None).await,
        400,
        "invalid_grant",
        "used on B, replayed on A",
    );
    assert_invalid_token(
        &on_a.get("/users/me", &next.access).await,
        "family revoked by the replay",
    );

    // Throttling counts attempts on both instances together, even when they arrive at once.
    let both = [Arc::new(Client::new(&a)), Arc::new(Client::new(&b))];
    let (refused, throttled) = concurrent_guesses(&both, &fixture.dave.username, 20).await;
    assert_eq!(
        (refused, throttled),
        (4, 16),
        "4 allowed across both instances"
    );
    assert_eq!(
        on_a.password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await
            .status,
        429
    );
    assert_eq!(
        on_b.password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await
            .status,
        429
    );

    let pair = on_b.login(&fixture.bob).await;
    assert_eq!(
        on_a.post_empty("/users/me/logout-all", &pair.access)
            .await
            .status,
        204
    );
    assert_invalid_token(
        &on_b.get("/users/me", &pair.access).await,
        "logout-all on A",
    );
    let fresh = on_b.login(&fixture.bob).await;
    assert_eq!(on_a.get("/users/me", &fresh.access).await.status, 200);
    drop((a, b));
    database.drop_now().await;
}

pub async fn redis_outage_gives_503_then_recovers(bin: &Path) {
    let mut redis = PrivateRedis::start().expect("redis-server on PATH");
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--redis-url", &redis.url()]).await;
    let client = Client::new(&server);
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);

    redis.stop();
    let me = client.get("/users/me", &pair.access).await;
    assert_oauth_error(
        &me,
        503,
        "temporarily_unavailable",
        "protected call while Redis is down",
    );
    assert!(me.header("retry-after").is_some());
    let login = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_oauth_error(
        &login,
        503,
        "temporarily_unavailable",
        "login while Redis is down",
    );
    let health = client.get_anonymous("/health").await;
    assert_eq!(health.status, 503);
    assert!(
        health.text().contains("redis"),
        "names the failing store: {}",
        health.text()
    );
    assert!(!health.text().contains("database"), "{}", health.text());

    assert!(redis.restart(), "redis-server restarted");
    // The same server recovers without a restart; the reconnect takes a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let health = client.get_anonymous("/health").await;
        if health.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery: {}",
            health.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // This Redis keeps nothing, so the restart lost every revocation: tokens from before it are
    // refused (issue #12.3), and a new login works at once.
    assert_invalid_token(
        &client.get("/users/me", &pair.access).await,
        "token from before a restart that lost Redis's state",
    );
    let fresh = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &fresh.access).await.status, 200);
}

/// Sends `count` wrong-password logins for `username` at once through `clients` (round robin)
/// and returns how many got 400 and how many 429.
async fn concurrent_guesses(
    clients: &[Arc<Client>],
    username: &str,
    count: usize,
) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..count {
        let client = clients[i % clients.len()].clone();
        let username = username.to_owned();
        tasks.push(tokio::spawn(async move {
            client
                .password_grant(&username, &format!("wrong guess {i}"), None)
                .await
        }));
    }
    let (mut refused, mut throttled) = (0, 0);
    for task in tasks {
        let reply = task.await.expect("guess task");
        match reply.status {
            400 => refused += 1,
            429 => {
                assert!(
                    reply.header("retry-after").is_some(),
                    "429 without Retry-After"
                );
                throttled += 1;
            }
            other => panic!("guess answered {other}: {}", reply.text()),
        }
    }
    (refused, throttled)
}

/// Issue #12.1: guesses sent at once are counted before any password is checked, so no more
/// than the limit are checked however many arrive together.
pub async fn concurrent_guesses_are_counted_before_checking(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &["--max-failed-logins", "5", "--throttle-window", "600"],
        )
        .await;
    let client = Arc::new(Client::new(&server));
    let (refused, throttled) =
        concurrent_guesses(std::slice::from_ref(&client), &fixture.alice.username, 40).await;
    assert_eq!((refused, throttled), (5, 35));
    let locked = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(locked.status, 429, "the right password while locked");
}

/// Issue #12.2: one client address cannot spray usernames past its own limit; behind a trusted
/// proxy the forwarded address counts, and a forwarded address from an untrusted peer does not.
pub async fn client_address_limit_spans_usernames(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture
        .start(
            bin,
            &[
                "--max-logins-per-client",
                "3",
                "--trusted-proxy",
                "127.0.0.1",
            ],
        )
        .await;
    let client = Client::new(&server);
    let from = |address: &'static str, username: String| {
        client
            .request(reqwest::Method::POST, "/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", address)
            .body(format!(
                "grant_type=password&username={}&password=wrong",
                crate::client::enc(&username)
            ))
    };
    for i in 0..3 {
        let reply = client
            .execute(from("198.51.100.1", format!("sprayed-{i}")))
            .await;
        assert_oauth_error(&reply, 400, "invalid_grant", &format!("guess {i}"));
    }
    let reply = client
        .execute(from("198.51.100.1", "sprayed-3".into()))
        .await;
    assert_eq!(
        reply.status,
        429,
        "fourth username from one client: {}",
        reply.text()
    );
    // Another client behind the same proxy is not affected.
    let reply = client
        .execute(from("198.51.100.2", fixture.alice.username.clone()))
        .await;
    assert_oauth_error(&reply, 400, "invalid_grant", "another forwarded client");

    // Without --trusted-proxy the header is the client's own claim and changes nothing.
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--max-logins-per-client", "3"]).await;
    let client = Client::new(&server);
    for (i, forwarded) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let reply = client
            .execute(
                client
                    .request(reqwest::Method::POST, "/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-forwarded-for", *forwarded)
                    .body(format!(
                        "grant_type=password&username=spoofer-{i}&password=wrong"
                    )),
            )
            .await;
        assert_eq!(reply.status, 400, "guess {i}: {}", reply.text());
    }
    let reply = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(
        reply.status,
        429,
        "spoofed X-Forwarded-For was counted: {}",
        reply.text()
    );
}

/// Issue #12.2: logins past the hashing queue's bound are answered at once (503 with
/// Retry-After) instead of queueing, and protected calls keep working during the storm.
pub async fn login_storm_past_the_queue_bound_gets_503(bin: &Path) {
    let fixture = Fixture::new();
    // No waiting at all: a login that finds every hashing slot busy is refused.
    let server = fixture.start(bin, &["--max-queued-logins", "0"]).await;
    let client = Arc::new(Client::new(&server));
    let pair = client.login(&fixture.alice).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let client = client.clone();
        // Distinct unknown usernames: the per-username throttle never interferes.
        tasks.push(tokio::spawn(async move {
            client
                .password_grant(&format!("storm-{i}"), "wrong password", None)
                .await
        }));
    }
    let me = client.get("/users/me", &pair.access).await;
    assert_eq!(me.status, 200, "protected call during the storm");
    let (mut refused, mut busy) = (0, 0);
    for task in tasks {
        let reply = task.await.expect("storm task");
        match reply.status {
            400 => refused += 1,
            503 => {
                assert_eq!(reply.error(), "temporarily_unavailable");
                assert!(
                    reply.header("retry-after").is_some(),
                    "503 without Retry-After"
                );
                busy += 1;
            }
            other => panic!("storm login answered {other}: {}", reply.text()),
        }
    }
    assert!(refused >= 1 && busy >= 1, "{refused} refused, {busy} busy");
}

/// Issue #12.3: Redis loses everything (FLUSHALL, then a restart of a server that keeps
/// nothing) under two instances: no token issued before works on either afterwards, revoked,
/// used or live alike, and logins afterwards work at once.
pub async fn redis_data_loss_refuses_earlier_tokens(bin: &Path) {
    let mut redis = PrivateRedis::start().expect("redis-server on PATH");
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let url = redis.url();
    let a = fixture
        .start(bin, &["--redis-url", &url, "--key-file", &key_file])
        .await;
    let b = fixture
        .start(bin, &["--redis-url", &url, "--key-file", &key_file])
        .await;
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));

    for loss in ["FLUSHALL", "restart"] {
        let revoked = on_a.login(&fixture.alice).await;
        assert_eq!(
            on_b.form("/revoke", &format!("token={}", revoked.access))
                .await
                .status,
            200
        );
        let used = on_a.login(&fixture.alice).await;
        let rotated = tokens(on_b.refresh_grant(&used.refresh, None).await);
        let cut = on_a.login(&fixture.dave).await;
        assert_eq!(
            on_b.post_empty("/users/me/logout-all", &cut.access)
                .await
                .status,
            204
        );
        let live = on_b.login(&fixture.alice).await;
        assert_eq!(on_a.get("/users/me", &live.access).await.status, 200);

        match loss {
            "FLUSHALL" => assert!(redis.flush_all(), "FLUSHALL"),
            _ => assert!(redis.restart(), "redis-server restarted"),
        }
        // The instances reconnect by themselves after a restart.
        for client in [&on_a, &on_b] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while client.get_anonymous("/health").await.status != 200 {
                assert!(std::time::Instant::now() < deadline, "{loss}: no recovery");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        for client in [&on_a, &on_b] {
            for (what, token) in [
                ("revoked", &revoked.access),
                ("rotated", &rotated.access),
                ("cut off", &cut.access),
                ("live", &live.access),
            ] {
                assert_invalid_token(
                    &client.get("/users/me", token).await,
                    &format!("{loss}: {what}"),
                );
            }
            for (what, token) in [("used", &used.refresh), ("live", &live.refresh)] {
                assert_oauth_error(
                    &client.refresh_grant(token, None).await,
                    400,
                    "invalid_grant",
                    &format!("{loss}: {what} refresh token"),
                );
            }
        }
        let fresh = on_a.login(&fixture.alice).await;
        assert_eq!(
            on_b.get("/users/me", &fresh.access).await.status,
            200,
            "{loss}: fresh login"
        );
        tokens(on_b.refresh_grant(&fresh.refresh, None).await);
    }
    // Issue #13.2: recorded for the CLI, which then refuses cutoffs without --redis-url.
    assert_eq!(
        open_store(&fixture)
            .await
            .setting(tokenward::store::REVOCATION_STORE_SETTING)
            .await
            .unwrap()
            .as_deref(),
        Some(tokenward::store::REVOCATION_IN_REDIS)
    );
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// Issue #13.4: the SQLite database (password hashes) is created readable by its owner only, and
/// a key file others can read stops the start with a one-line error saying how to fix it.
pub async fn files_holding_secrets_are_private(bin: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    client.login(&fixture.alice).await;
    drop(server);
    for name in ["tokenward.db", "tokenward-key.json"] {
        let path = fixture.dir.path(name);
        let mode = std::fs::metadata(&path).expect(name).permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{name} has mode {mode:o}");
    }
    let key_file = fixture.dir.path("tokenward-key.json");
    set_mode(&key_file, 0o644);
    let exit = Server::refused(bin, &fixture.args(&[])).await;
    assert_eq!(exit.code, Some(2));
    assert!(
        exit.stderr.contains("chmod 600") && exit.stderr.trim().lines().count() == 1,
        "{}",
        exit.stderr
    );
}

/// Issue #13.1: a restart with the same `--users` file never undoes what happened since: a
/// password change, a hash upgrade at login, a disable.
pub async fn restart_with_the_users_file_undoes_nothing(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    // alice changes her password; bob's bcrypt hash is upgraded by his login; carol (disabled
    // in the file) is enabled and dave disabled by an operator.
    let alice = client.login(&fixture.alice).await;
    let changed = client
        .post_json(
            "/users/me/password",
            &alice.access,
            &json!({"current_password": fixture.alice.password,
                    "new_password": "alice's brand new passphrase"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    client.login(&fixture.bob).await;
    drop(server);
    let store = open_store(&fixture).await;
    let bob_hash = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .expect("bob")
        .password_hash;
    assert_eq!(
        bob_hash.format().to_string(),
        "argon2id",
        "upgraded at login"
    );
    let dave = store
        .find_by_username(&fixture.dave.username)
        .await
        .unwrap()
        .expect("dave");
    store.set_disabled(&dave.id, true).await.unwrap();
    drop(store);

    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    assert_oauth_error(
        &client
            .password_grant(&fixture.alice.username, fixture.alice.password, None)
            .await,
        400,
        "invalid_grant",
        "alice's old password came back",
    );
    assert_eq!(
        client
            .password_grant(
                &fixture.alice.username,
                "alice's brand new passphrase",
                None
            )
            .await
            .status,
        200
    );
    assert_oauth_error(
        &client
            .password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await,
        400,
        "invalid_grant",
        "dave was enabled again",
    );
    drop(server);
    let store = open_store(&fixture).await;
    let bob_after = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .expect("bob");
    assert_eq!(
        bob_after.password_hash.expose_secret(),
        bob_hash.expose_secret(),
        "bob's upgraded hash was replaced by the file's bcrypt"
    );
}

/// Issue #13.1: two instances starting at once with the same `--users` file on one database end
/// with one row per user.
pub async fn two_instances_importing_at_once_make_one_row_per_user(bin: &Path) {
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let args = fixture.args(&["--key-file", &key_file]);
    let (a, b) = tokio::join!(Server::start(bin, &args), Server::start(bin, &args));
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));
    let pair = on_a.login(&fixture.alice).await;
    assert_eq!(on_b.get("/users/me", &pair.access).await.status, 200);
    drop((a, b));
    let store = open_store(&fixture).await;
    let users = store.list(None, 100).await.unwrap();
    let mut names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(users.len(), 4, "one row per user: {names:?}");
    assert_eq!(names.len(), 4);
}

/// Opens a connection to `address` and sends `request` one byte every 250 ms; returns how long
/// until the server closed the connection (or answered it), or `None` if it took everything
/// without doing either.
async fn dribble(address: String, request: &'static [u8]) -> Option<std::time::Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&address).await.ok()?;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 256];
    for byte in request {
        if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
            return Some(started.elapsed());
        }
        // Anything from the server (a 408, or the end of the stream) means it cut us off.
        let pace = std::time::Duration::from_millis(250);
        if tokio::time::timeout(pace, stream.read(&mut buffer))
            .await
            .is_ok()
        {
            return Some(started.elapsed());
        }
    }
    None
}

/// Issue #13.3: 200 connections sending their headers a byte at a time do not keep a normal
/// client from an answer within 1 s, and are closed within the header timeout; a kept-alive
/// connection that goes idle is closed too.
pub async fn slow_and_idle_connections_are_closed(bin: &Path) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: tokenward.test\r\nAccept: */*\r\n\r\n";
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--header-timeout", "2"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let slow: Vec<_> = (0..200)
        .map(|_| tokio::spawn(dribble(address.clone(), REQUEST)))
        .collect();
    // Let the slow connections take their places first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let client = Client::new(&server);
    let reply = client
        .try_execute(
            client
                .request(reqwest::Method::GET, "/health")
                .timeout(std::time::Duration::from_secs(1)),
        )
        .await
        .expect("a normal client is answered within 1 s during the slow storm");
    assert_eq!(reply.status, 200);
    for task in slow {
        let cut = task.await.expect("dribbling task");
        let took = cut.expect("a slow client sent its whole request without being cut off");
        assert!(
            took < std::time::Duration::from_secs(5),
            "slow client cut off only after {took:?} (header timeout 2 s)"
        );
    }

    // Idle: one request answered, then silence.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(REQUEST).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(6), async {
        loop {
            match idle.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        closed.is_ok(),
        "an idle kept-alive connection stayed open past 6 s"
    );
}

/// Issue #14.2: with `--log-format json` every request is logged with an id that the response
/// carries back, a failed login is a `login.failed` security event inside that request's span,
/// and no log line holds a password, a hash or a token.
pub async fn logs_carry_request_ids_and_no_secrets(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &["--log-format", "json"]).await;
    let client = Client::new(&server);
    let wrong = "a-distinctive-wrong-password-42";
    let failed = client
        .password_grant(&fixture.alice.username, wrong, None)
        .await;
    assert_eq!(failed.status, 400);
    let request_id = failed
        .header("x-request-id")
        .expect("x-request-id on the answer");
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    assert_eq!(
        client
            .form("/revoke", &format!("token={}", pair.refresh))
            .await
            .status,
        200
    );
    let hash = open_store(&fixture)
        .await
        .find_by_username(&fixture.alice.username)
        .await
        .unwrap()
        .expect("alice")
        .password_hash;

    // The lines arrive asynchronously; wait (bounded) for the revocation's event.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let lines = server.stderr.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains("token.revoked")) {
            break lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no token.revoked event logged: {lines:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let events: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let failed_event = events
        .iter()
        .find(|e| e["fields"]["event"] == "login.failed")
        .expect("a login.failed event");
    assert_eq!(failed_event["target"], "tokenward::security");
    assert_eq!(
        failed_event["fields"]["username"],
        fixture.alice.username.as_str()
    );
    assert_eq!(failed_event["span"]["request_id"], request_id.as_str());
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["event"] == "login.succeeded"),
        "{lines:?}"
    );
    for secret in [
        wrong,
        fixture.alice.password,
        hash.expose_secret(),
        pair.access.as_str(),
        pair.refresh.as_str(),
    ] {
        assert!(
            !lines.iter().any(|line| line.contains(secret)),
            "a log line holds a secret"
        );
    }
}

/// Issue #14.3: `/metrics` is off unless `--metrics` is given; then it serves the Prometheus
/// text format with login outcomes, validations, the hashing queue and store latency.
pub async fn metrics_are_served_only_when_asked(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    assert_eq!(client.get_anonymous("/metrics").await.status, 404);
    drop(server);

    let server = fixture.start(bin, &["--metrics"]).await;
    let client = Client::new(&server);
    let failed = client
        .password_grant(&fixture.alice.username, "a wrong password", None)
        .await;
    assert_eq!(failed.status, 400);
    let pair = client.login(&fixture.alice).await;
    assert_eq!(client.get("/users/me", &pair.access).await.status, 200);
    let metrics = client.get_anonymous("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        metrics.header("content-type")
    );
    let text = metrics.text();
    for line in [
        "tokenward_logins_total{outcome=\"failed\"} 1",
        "tokenward_logins_total{outcome=\"succeeded\"} 1",
        "tokenward_token_validations_total{result=\"valid\"} 1",
        "tokenward_hasher_running 0",
        "tokenward_hasher_waiting 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.contains("tokenward_store_call_seconds_count{store=\"SQLite store\",outcome=\"ok\"}"),
        "{text}"
    );
    assert!(text.contains("tokenward_hash_wait_seconds_count"), "{text}");
    assert!(!text.contains(&pair.access) && !text.contains(fixture.alice.password));
}

pub async fn openapi_document_describes_every_route(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    let reply = client.get_anonymous("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations: Vec<String> = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            operations.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations.sort();
    let mut expected = vec![
        "POST /token",
        "POST /revoke",
        "GET /.well-known/jwks.json",
        "GET /users/me",
        "GET /items",
        "POST /items",
        "POST /users/me/password",
        "POST /users/me/logout-all",
        "GET /health",
    ];
    expected.sort_unstable();
    assert_eq!(operations, expected);
    // What the server answers is what the document says it answers.
    let documented = |method: &str, path: &str, status: u16| {
        document["paths"][path][method]["responses"]
            .get(status.to_string())
            .is_some()
    };
    let pair = client.login(&fixture.alice).await;
    assert!(documented("post", "/token", 200));
    let me = client.get("/users/me", &pair.access).await;
    assert!(documented("get", "/users/me", me.status));
    let anonymous = client.get_anonymous("/items").await;
    assert!(documented("get", "/items", anonymous.status));
    let wrong = client
        .password_grant(&fixture.alice.username, "a wrong password", None)
        .await;
    assert!(documented("post", "/token", wrong.status));
    assert!(documented("get", "/health", 200) && documented("get", "/health", 503));
}
