//! Client authentication and client binding at the token endpoint, as an attacker would try
//! them: wrong secrets in a loop (counted per client id and per address, refused before any
//! verification past the budget, at `/token`, `/revoke` and `/introspect` alike), the password
//! grant by a client that is not registered for it, a refresh that would keep scopes the
//! client's registration lost, and one client revoking or introspecting another's tokens.
#![cfg(feature = "provider")]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tokenward::TokenIssuer;
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::provider::{AuthorizationServer, Client, ClientStore, GrantType};
use tokenward::store::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryUserStore,
};
use tokenward::store::{ThrottlePolicy, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

const SECRET: &str = "the service secret";
/// Failed client authentications a client id or an address may have per window here.
const BUDGET: u32 = 3;

fn address(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

struct Env {
    server: AuthorizationServer,
    clients: Arc<MemoryClientStore>,
    clock: Arc<ManualClock>,
}

fn client(id: &str, secret_hash: Option<String>, grants: &[GrantType], scopes: &str) -> Client {
    Client {
        client_id: id.into(),
        secret_hash,
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: grants.to_vec(),
        scopes: Scopes::parse(scopes).unwrap(),
        name: id.into(),
        first_party: false,
    }
}

async fn env() -> Env {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    keys.ensure_id_token_key().unwrap();
    let codec = TokenCodec::builder(keys, "https://auth.example", "api")
        .clock(clock.clone())
        .build()
        .unwrap();
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    users
        .upsert(User {
            id: String::new(),
            username: "alice".into(),
            password_hash: hasher
                .hash(&SecretString::from("alice password".to_owned()))
                .unwrap(),
            scopes: Scopes::parse("items:read items:write").unwrap(),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap();
    let secret_hash = hasher.hash(&SecretString::from(SECRET.to_owned())).unwrap();
    let issuer = TokenIssuer::builder(codec, users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .client_throttle(ThrottlePolicy {
            max_failures: BUDGET,
            window_secs: 60,
        })
        .build()
        .unwrap();
    let clients = Arc::new(MemoryClientStore::new());
    let secret = Some(secret_hash.expose_secret().to_owned());
    for registered in [
        client(
            "svc",
            secret.clone(),
            &[GrantType::ClientCredentials],
            "items:read",
        ),
        client(
            "native",
            secret.clone(),
            &[GrantType::Password, GrantType::RefreshToken],
            "items:read items:write",
        ),
        client(
            "web",
            secret,
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            "items:read items:write",
        ),
    ] {
        assert!(clients.insert_client(&registered).await.unwrap());
    }
    let server = AuthorizationServer::builder(
        issuer,
        clients.clone(),
        Arc::new(MemoryAuthorizationStore::new()),
        "https://auth.example",
    )
    .resource_servers(["svc"])
    .build()
    .unwrap();
    Env {
        server,
        clients,
        clock,
    }
}

fn form() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers
}

fn json(response: &Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn with_secret(client_id: &str, secret: &str) -> String {
    format!(
        "client_id={client_id}&client_secret={}",
        form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
    )
}

async fn client_credentials(env: &Env, from: IpAddr, secret: &str) -> Response<Vec<u8>> {
    let body = format!(
        "grant_type=client_credentials&{}",
        with_secret("svc", secret)
    );
    env.server.token(from, &form(), body.as_bytes()).await
}

fn assert_throttled(response: &Response<Vec<u8>>) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(response)["error"], "too_many_attempts");
    let retry: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn wrong_client_secrets_lock_the_client_id_before_any_verification() {
    let env = env().await;
    assert_eq!(
        client_credentials(&env, address(1), SECRET).await.status(),
        StatusCode::OK
    );
    // Wrong secrets from several addresses, as a distributed guesser would send them.
    for attempt in 0..BUDGET {
        let from = address(10 + attempt as u8);
        let refused = client_credentials(&env, from, "a guess").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json(&refused)["error"], "invalid_client");
    }
    // Past the budget even the right secret is not looked at, from anywhere, and the
    // revocation and introspection endpoints refuse it the same way.
    assert_throttled(&client_credentials(&env, address(1), SECRET).await);
    let introspect = format!("token=anything&{}", with_secret("svc", SECRET));
    assert_throttled(
        &env.server
            .introspect(address(2), &form(), introspect.as_bytes())
            .await,
    );
    assert_throttled(
        &env.server
            .revoke(address(3), &form(), introspect.as_bytes())
            .await,
    );
    // Another client is not affected, and the window ends.
    let other = format!(
        "grant_type=password&username=alice&password=alice+password&{}",
        with_secret("native", SECRET)
    );
    assert_eq!(
        env.server
            .token(address(1), &form(), other.as_bytes())
            .await
            .status(),
        StatusCode::OK
    );
    env.clock.advance(Duration::seconds(61));
    assert_eq!(
        client_credentials(&env, address(1), SECRET).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_cannot_spray_secrets_over_many_client_ids() {
    let env = env().await;
    let sprayer = address(66);
    for attempt in 0..BUDGET {
        let body = format!(
            "grant_type=client_credentials&{}",
            with_secret(&format!("guess-{attempt}"), SECRET)
        );
        let refused = env.server.token(sprayer, &form(), body.as_bytes()).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    // The address is out of budget: a real client's right secret from it is not checked.
    assert_throttled(&client_credentials(&env, sprayer, SECRET).await);
    // The client itself, from its own address, is unaffected: only failures count per id,
    // and these were other ids.
    assert_eq!(
        client_credentials(&env, address(7), SECRET).await.status(),
        StatusCode::OK
    );
    // Correct secrets never use up a budget.
    for _ in 0..2 * BUDGET {
        assert_eq!(
            client_credentials(&env, address(7), SECRET).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_password_grant_needs_no_client_or_one_registered_for_it() {
    let env = env().await;
    let login = "grant_type=password&username=alice&password=alice+password";
    // The deployment's own use: no client, tokens bound to none.
    let first_party = env
        .server
        .token(address(1), &form(), login.as_bytes())
        .await;
    assert_eq!(first_party.status(), StatusCode::OK);
    let access = json(&first_party)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = env.server.issuer().validate(&access).await.unwrap();
    assert_eq!(claims.client_id, None);
    // A client registered for the code flow only may not collect passwords.
    for client_id in ["web", "svc"] {
        let body = format!("{login}&{}", with_secret(client_id, SECRET));
        let refused = env.server.token(address(1), &form(), body.as_bytes()).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{client_id}");
        assert_eq!(json(&refused)["error"], "unauthorized_client");
    }
    // A client registered for it gets tokens bound to it, within its registration.
    let body = format!("{login}&{}", with_secret("native", SECRET));
    let bound = env.server.token(address(1), &form(), body.as_bytes()).await;
    assert_eq!(bound.status(), StatusCode::OK);
    let bound = json(&bound);
    let access = bound["access_token"].as_str().unwrap();
    let claims = env.server.issuer().validate(access).await.unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("native"));
    let refresh = bound["refresh_token"].as_str().unwrap();
    // Its refresh token needs that client: without it the token is refused, and not spent.
    let alone = format!("grant_type=refresh_token&refresh_token={refresh}");
    let refused = env
        .server
        .token(address(1), &form(), alone.as_bytes())
        .await;
    assert_eq!(json(&refused)["error"], "invalid_grant");
    let with_client = format!("{alone}&{}", with_secret("native", SECRET));
    let rotated = env
        .server
        .token(address(1), &form(), with_client.as_bytes())
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_drops_scopes_the_client_registration_lost() {
    let env = env().await;
    let login = format!(
        "grant_type=password&username=alice&password=alice+password&{}",
        with_secret("native", SECRET)
    );
    let issued = env
        .server
        .token(address(1), &form(), login.as_bytes())
        .await;
    let issued = json(&issued);
    assert_eq!(issued["scope"], "items:read items:write");
    // The operator narrows the client's registration.
    let mut narrowed = env.clients.find_client("native").await.unwrap().unwrap();
    narrowed.scopes = Scopes::parse("items:read").unwrap();
    env.clients.update_client(&narrowed).await.unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&{}",
        with_secret("native", SECRET)
    );
    let rotated = env.server.token(address(1), &form(), body.as_bytes()).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated = json(&rotated);
    assert_eq!(rotated["scope"], "items:read");
    let access = rotated["access_token"].as_str().unwrap();
    let claims = env.server.issuer().validate(access).await.unwrap();
    assert!(!claims.scope.contains("items:write"));
    // And the new refresh token carries no more than that either.
    let refresh = rotated["refresh_token"].as_str().unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&scope=items:write&{}",
        with_secret("native", SECRET)
    );
    let widened = env.server.token(address(1), &form(), body.as_bytes()).await;
    assert_eq!(json(&widened)["error"], "invalid_scope");
}

async fn tokens_of_native(env: &Env) -> (String, String) {
    let login = format!(
        "grant_type=password&username=alice&password=alice+password&{}",
        with_secret("native", SECRET)
    );
    let issued = json(
        &env.server
            .token(address(1), &form(), login.as_bytes())
            .await,
    );
    (
        issued["access_token"].as_str().unwrap().to_owned(),
        issued["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn introspect(env: &Env, client_id: &str, token: &str) -> Value {
    let body = format!("token={token}&{}", with_secret(client_id, SECRET));
    let answer = env
        .server
        .introspect(address(1), &form(), body.as_bytes())
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    json(&answer)
}

#[tokio::test]
async fn introspection_answers_the_token_client_or_a_resource_server() {
    let env = env().await;
    let (access, refresh) = tokens_of_native(&env).await;
    // Another confidential client learns nothing, not even that the token is valid.
    assert_eq!(
        introspect(&env, "web", &access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&env, "web", &refresh).await,
        serde_json::json!({"active": false})
    );
    // The client it was issued to: active, without the user's username.
    let own = introspect(&env, "native", &access).await;
    assert_eq!(own["active"], true);
    assert_eq!(own["client_id"], "native");
    assert!(own.get("username").is_none(), "{own}");
    // A registered resource server: active, with the username it needs.
    let api = introspect(&env, "svc", &access).await;
    assert_eq!(api["active"], true);
    assert_eq!(api["username"], "alice");
}

#[tokio::test]
async fn only_the_token_client_revokes_its_tokens() {
    let env = env().await;
    let (access, refresh) = tokens_of_native(&env).await;
    let server = &env.server;
    let revoke = |client: Option<&str>, token: &str| {
        let mut body = format!("token={token}");
        if let Some(client) = client {
            body = format!("{body}&{}", with_secret(client, SECRET));
        }
        async move {
            let answer = server.revoke(address(1), &form(), body.as_bytes()).await;
            assert_eq!(answer.status(), StatusCode::OK);
            assert!(answer.body().is_empty());
        }
    };
    // Another client, and a caller with no client: 200, and the tokens still work.
    revoke(Some("web"), &access).await;
    revoke(None, &access).await;
    revoke(Some("web"), &refresh).await;
    assert!(env.server.issuer().validate(&access).await.is_ok());
    // The client it was issued to revokes it.
    revoke(Some("native"), &access).await;
    assert!(env.server.issuer().validate(&access).await.is_err());
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&{}",
        with_secret("native", SECRET)
    );
    // The refresh token survived the other callers' attempts.
    let rotated = env.server.token(address(1), &form(), body.as_bytes()).await;
    assert_eq!(rotated.status(), StatusCode::OK);
}
