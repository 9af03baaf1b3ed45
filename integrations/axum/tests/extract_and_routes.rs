//! The extractors, routes and layer, driven as axum drives them (no socket).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::Value;
use tokenward::TokenIssuer;
use tokenward::endpoints::Endpoints;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::provider::AuthorizationServer;
use tokenward::store::memory::{
    MemoryAuthorizationStore, MemoryClientStore, MemoryRevocation, MemoryUserStore,
};
use tokenward::store::{Client, ClientStore, GrantType, ThrottlePolicy, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};
use tower::ServiceExt;

use axum_tokenward::{AccountManager, AccountUser, Bearer, BearerUser, Tokenward};

tokenward::required_scope!(ItemsRead = "items:read");
tokenward::required_scope!(Admin = "admin");

async fn issuer() -> TokenIssuer {
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::EdDSA).unwrap(), "iss", "aud")
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
            username: "johndoe".into(),
            password_hash: hasher.hash(&SecretString::from("secret password")).unwrap(),
            scopes: Scopes::parse("items:read").unwrap(),
            disabled: false,
            full_name: None,
            email: None,
        })
        .await
        .unwrap();
    TokenIssuer::builder(codec, users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .build()
        .unwrap()
}

async fn items(token: Bearer<ItemsRead>) -> String {
    format!("items for {}", token.claims.sub)
}

async fn admin(_: Bearer<Admin>) -> &'static str {
    "admin"
}

async fn me(caller: BearerUser) -> String {
    caller.user.username.clone()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

fn app(tokenward: &Tokenward) -> Router {
    Router::new()
        .route("/items", get(items))
        .route("/admin", get(admin))
        .route("/me", get(me))
        .route("/slow", get(slow))
        .merge(tokenward.routes())
        .layer(tokenward.layer())
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let mut request = request;
    let peer: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn get_with(path: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn form(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

async fn login(app: &Router) -> String {
    let answer = send(
        app,
        form(
            "/token",
            "grant_type=password&username=johndoe&password=secret+password".into(),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_from_the_routes_opens_a_route_with_its_scope() {
    let tokenward = Tokenward::new(issuer().await);
    let app = app(&tokenward);
    let token = login(&app).await;
    let answer = send(&app, get_with("/items", Some(&token))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        String::from_utf8(answer.body)
            .unwrap()
            .starts_with("items for ")
    );
    let answer = send(&app, get_with("/me", Some(&token))).await;
    assert_eq!(answer.body, b"johndoe");
}

#[tokio::test]
async fn missing_wrong_and_insufficient_tokens_are_refused() {
    let tokenward = Tokenward::new(issuer().await);
    let app = app(&tokenward);
    let none = send(&app, get_with("/items", None)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.headers.contains_key(header::WWW_AUTHENTICATE));
    let forged = send(&app, get_with("/items", Some("eyJhbGciOiJub25lIn0.e30."))).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(forged.json()["error"], "invalid_token");

    let token = login(&app).await;
    let scope = send(&app, get_with("/admin", Some(&token))).await;
    assert_eq!(scope.status, StatusCode::FORBIDDEN);
    assert_eq!(scope.json()["error"], "insufficient_scope");

    // Revoked through the mounted route: refused at once.
    let revoked = send(&app, form("/revoke", format!("token={token}"))).await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after = send(&app, get_with("/items", Some(&token))).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_jwks_route_publishes_the_signing_key() {
    let issuer = issuer().await;
    let kid = issuer.codec().keys().active().kid().to_owned();
    let app = app(&Tokenward::new(issuer));
    let answer = send(&app, get_with("/.well-known/jwks.json", None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["keys"][0]["kid"], kid.as_str());
    assert_eq!(answer.headers[header::CACHE_CONTROL], "public, max-age=300");
}

#[tokio::test]
async fn a_route_without_the_layer_fails_closed_with_500() {
    let tokenward = Tokenward::new(issuer().await);
    let token = login(&app(&tokenward)).await;
    let bare = Router::new().route("/items", get(items));
    let answer = send(&bare, get_with("/items", Some(&token))).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.json()["error"], "server_error");
}

#[tokio::test(start_paused = true)]
async fn a_request_past_the_deadline_gets_503_with_retry_after() {
    let tokenward =
        Tokenward::from(Endpoints::new(issuer().await).request_timeout(Duration::from_secs(2)));
    let app = app(&tokenward);
    let answer = send(&app, get_with("/slow", None)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    assert_eq!(answer.headers[header::RETRY_AFTER], "1");
}

#[tokio::test]
async fn an_oversized_form_gets_a_json_413_and_no_login() {
    let tokenward = Tokenward::new(issuer().await);
    let app = app(&tokenward);
    let padding = "a".repeat(tokenward::oauth2::MAX_FORM_BYTES);
    let answer = send(
        &app,
        form(
            "/token",
            format!("grant_type=password&username=johndoe&password=secret+password&x={padding}"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["error"], "invalid_request");
    assert!(!String::from_utf8_lossy(&answer.body).contains("access_token"));
}

#[tokio::test]
async fn the_token_route_throttles_by_the_client_a_trusted_proxy_names() {
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::EdDSA).unwrap(), "iss", "aud")
        .build()
        .unwrap();
    let issuer = TokenIssuer::builder(
        codec,
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemoryRevocation::new()),
    )
    .password_hasher(
        PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .build()
            .unwrap(),
    )
    .client_throttle(ThrottlePolicy {
        max_failures: 2,
        window_secs: 60,
    })
    .build()
    .unwrap();
    // `send` connects every request from 192.0.2.1, the proxy.
    let tokenward =
        Tokenward::from(Endpoints::new(issuer).trusted_proxies(vec!["192.0.2.1".parse().unwrap()]));
    let app = app(&tokenward);
    let attempt = |client: &'static str, user: usize| {
        let mut request = form(
            "/token",
            format!("grant_type=password&username=user{user}&password=wrong"),
        );
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        request
    };
    let mut first = Vec::new();
    for user in 0..3 {
        first.push(
            send(&app, attempt("198.51.100.7", user))
                .await
                .status
                .as_u16(),
        );
    }
    // Two attempts, then refused, whatever the username.
    assert_eq!(first, [400, 400, 429]);
    // Another client behind the same proxy has its own budget.
    let other = send(&app, attempt("198.51.100.8", 9)).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
}

const CLIENT_SECRET: &str = "client secret of the account tests";

/// Endpoints with an authorization server whose clients collect passwords (so the tests get
/// tokens bound to them): `own-app` first-party, `partner` not. `janedoe` holds `account`,
/// and `profile` and `email` (the password grant grants only the user's own scopes).
async fn with_clients() -> Tokenward {
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    keys.ensure_id_token_key().unwrap();
    let codec = TokenCodec::builder(keys, "https://auth.example", "aud")
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
            username: "janedoe".into(),
            password_hash: hasher.hash(&SecretString::from("secret password")).unwrap(),
            scopes: Scopes::parse("items:read profile email account").unwrap(),
            disabled: false,
            full_name: Some("Jane Doe".into()),
            email: Some("jane@example.com".into()),
        })
        .await
        .unwrap();
    let secret_hash = hasher.hash(&SecretString::from(CLIENT_SECRET)).unwrap();
    let clients = Arc::new(MemoryClientStore::new());
    for (client_id, first_party) in [("own-app", true), ("partner", false)] {
        let client = Client {
            client_id: client_id.into(),
            secret_hash: Some(secret_hash.expose_secret().to_owned()),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::Password],
            scopes: Scopes::parse("items:read openid profile email account").unwrap(),
            name: client_id.into(),
            first_party,
        };
        assert!(clients.insert_client(&client).await.unwrap());
    }
    let issuer = TokenIssuer::builder(codec, users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .build()
        .unwrap();
    let server = AuthorizationServer::builder(
        issuer.clone(),
        clients,
        Arc::new(MemoryAuthorizationStore::new()),
        "https://auth.example",
    )
    .build()
    .unwrap();
    Tokenward::from(Endpoints::new(issuer).authorization_server(server))
}

/// What the token may see, as the handler would show it.
async fn account(caller: AccountUser) -> String {
    let access = caller.access;
    let user = caller.user;
    let shown = [
        Some(caller.claims.sub.clone()),
        user.full_name.filter(|_| access.profile),
        user.email.filter(|_| access.email),
        access.manage.then(|| user.scopes.to_string()),
    ];
    shown.into_iter().flatten().collect::<Vec<_>>().join("|")
}

async fn manage(caller: AccountManager) -> String {
    format!("managing {}", caller.user.username)
}

fn account_app(tokenward: &Tokenward) -> Router {
    Router::new()
        .route("/account", get(account))
        .route("/account/manage", axum::routing::post(manage))
        .merge(tokenward.routes())
        .layer(tokenward.layer())
}

/// A password login of janedoe for `client` (none: the deployment's own app) with `scope`.
async fn login_as(app: &Router, client: Option<&str>, scope: &str) -> String {
    let mut body = format!(
        "grant_type=password&username=janedoe&password=secret+password&scope={}",
        scope.replace(' ', "+")
    );
    if let Some(client) = client {
        body.push_str(&format!(
            "&client_id={client}&client_secret={}",
            CLIENT_SECRET.replace(' ', "+")
        ));
    }
    let answer = send(app, form("/token", body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

fn post_with(path: &str, token: &str) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn account_extractors_give_a_third_party_token_only_what_its_scopes_grant() {
    let tokenward = with_clients().await;
    let app = account_app(&tokenward);
    let sub = {
        let token = login_as(&app, None, "items:read").await;
        tokenward
            .issuer()
            .validate(&token)
            .await
            .unwrap()
            .sub
            .clone()
    };
    let everything = format!("{sub}|Jane Doe|jane@example.com|account email items:read profile");
    // The deployment's own app (no client) and a first-party client: everything, whatever
    // the scope.
    for client in [None, Some("own-app")] {
        let token = login_as(&app, client, "items:read").await;
        let seen = send(&app, get_with("/account", Some(&token))).await;
        assert_eq!(seen.body, everything.as_bytes(), "{client:?}");
        let managed = send(&app, post_with("/account/manage", &token)).await;
        assert_eq!(managed.status, StatusCode::OK, "{client:?}");
        assert_eq!(managed.body, b"managing janedoe");
    }
    // A third party granted items:read sees the sub alone and may not manage the account.
    let token = login_as(&app, Some("partner"), "items:read").await;
    let seen = send(&app, get_with("/account", Some(&token))).await;
    assert_eq!(seen.body, sub.as_bytes());
    let refused = send(&app, post_with("/account/manage", &token)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"], "insufficient_scope");
    let challenge = refused.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("scope=\"account\""),
        "{challenge}"
    );
    // With profile and email it sees those; with account it may manage.
    let token = login_as(&app, Some("partner"), "items:read profile email").await;
    let seen = send(&app, get_with("/account", Some(&token))).await;
    assert_eq!(
        seen.body,
        format!("{sub}|Jane Doe|jane@example.com").as_bytes()
    );
    let refused = send(&app, post_with("/account/manage", &token)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let token = login_as(&app, Some("partner"), "account").await;
    let seen = send(&app, get_with("/account", Some(&token))).await;
    assert_eq!(
        seen.body,
        format!("{sub}|account email items:read profile").as_bytes()
    );
    let managed = send(&app, post_with("/account/manage", &token)).await;
    assert_eq!(managed.status, StatusCode::OK);
    // No token: 401 as for every Bearer route, before any account question.
    let none = send(&app, get_with("/account", None)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}
