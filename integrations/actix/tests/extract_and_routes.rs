//! The extractors, routes and middleware, driven through actix-web's test service (no socket).

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
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
use tokenward::store::{Client, ClientStore, GrantType, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

use actix_web_tokenward::{AccountManager, AccountUser, Bearer, BearerUser, Tokenward, resource};

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

macro_rules! app {
    ($tokenward:expr) => {
        test::init_service(
            App::new()
                .configure($tokenward.configure())
                .wrap(from_fn(actix_web_tokenward::limits))
                .service(resource("/items", "GET", vec![web::get().to(items)]))
                .route("/admin", web::get().to(admin))
                .route("/me", web::get().to(me))
                .route("/slow", web::get().to(slow)),
        )
        .await
    };
}

async fn body_json(response: ServiceResponse) -> Value {
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

fn login_request() -> actix_http::Request {
    test::TestRequest::post()
        .uri("/token")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .peer_addr("192.0.2.1:4000".parse().unwrap())
        .set_payload("grant_type=password&username=johndoe&password=secret+password")
        .to_request()
}

fn get_with(path: &str, token: Option<&str>) -> actix_http::Request {
    let mut request = test::TestRequest::get().uri(path);
    if let Some(token) = token {
        request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    request.to_request()
}

#[actix_web::test]
async fn a_token_from_the_routes_opens_a_route_with_its_scope_until_revoked() {
    let app = app!(Tokenward::new(issuer().await));
    let login = test::call_service(&app, login_request()).await;
    assert_eq!(login.status(), StatusCode::OK);
    let token = body_json(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let ok = test::call_service(&app, get_with("/items", Some(&token))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let me = test::call_service(&app, get_with("/me", Some(&token))).await;
    assert_eq!(test::read_body(me).await, "johndoe");

    let scope = test::call_service(&app, get_with("/admin", Some(&token))).await;
    assert_eq!(scope.status(), StatusCode::FORBIDDEN);
    assert_eq!(body_json(scope).await["error"], "insufficient_scope");

    // Revocation, like the token endpoint, throttles failed client authentications by the
    // caller's address.
    let revoke = test::TestRequest::post()
        .uri("/revoke")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .peer_addr("192.0.2.1:4000".parse().unwrap())
        .set_payload(format!("token={token}"))
        .to_request();
    assert_eq!(
        test::call_service(&app, revoke).await.status(),
        StatusCode::OK
    );
    let after = test::call_service(&app, get_with("/items", Some(&token))).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn missing_and_forged_tokens_get_401_with_a_challenge() {
    let app = app!(Tokenward::new(issuer().await));
    let none = test::call_service(&app, get_with("/items", None)).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key(header::WWW_AUTHENTICATE));
    let forged =
        test::call_service(&app, get_with("/items", Some("eyJhbGciOiJub25lIn0.e30."))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(forged).await["error"], "invalid_token");
}

#[actix_web::test]
async fn jwks_and_wrong_methods() {
    let issuer = issuer().await;
    let kid = issuer.codec().keys().active().kid().to_owned();
    let app = app!(Tokenward::new(issuer));
    let jwks = test::call_service(&app, get_with("/.well-known/jwks.json", None)).await;
    assert_eq!(jwks.status(), StatusCode::OK);
    assert_eq!(body_json(jwks).await["keys"][0]["kid"], kid.as_str());
    let wrong = test::call_service(&app, get_with("/token", None)).await;
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers().get(header::ALLOW).unwrap(), "POST");
}

#[actix_web::test]
async fn an_app_without_configure_fails_closed_with_500() {
    let app = test::init_service(App::new().route("/items", web::get().to(items))).await;
    let answer = test::call_service(&app, get_with("/items", Some("a.b.c"))).await;
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_json(answer).await["error"], "server_error");
}

#[actix_web::test]
async fn a_request_past_the_deadline_gets_503_with_retry_after() {
    let tokenward =
        Tokenward::from(Endpoints::new(issuer().await).request_timeout(Duration::from_millis(200)));
    let app = app!(tokenward);
    // The deadline answers as an error, which actix renders into the response.
    let answer = match app.call(get_with("/slow", None)).await {
        Ok(response) => response,
        Err(error) => ServiceResponse::from_err(error, test::TestRequest::get().to_http_request()),
    };
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers().get(header::RETRY_AFTER).unwrap(), "1");
    assert_eq!(body_json(answer).await["error"], "temporarily_unavailable");
}

#[actix_web::test]
async fn an_oversized_form_gets_a_json_413_and_no_login() {
    let app = app!(Tokenward::new(issuer().await));
    let padding = "a".repeat(tokenward::oauth2::MAX_FORM_BYTES);
    let request = test::TestRequest::post()
        .uri("/token")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .peer_addr("192.0.2.1:4000".parse().unwrap())
        .set_payload(format!(
            "grant_type=password&username=johndoe&password=secret+password&x={padding}"
        ))
        .to_request();
    let answer = test::call_service(&app, request).await;
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(answer).await["error"], "invalid_request");
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

macro_rules! account_app {
    ($tokenward:expr) => {
        test::init_service(
            App::new()
                .configure($tokenward.configure())
                .wrap(from_fn(actix_web_tokenward::limits))
                .route("/account", web::get().to(account))
                .route("/account/manage", web::post().to(manage)),
        )
        .await
    };
}

/// The `/token` request of a password login of janedoe for `client` (none: the deployment's
/// own app) with `scope`.
fn login_as(client: Option<&str>, scope: &str) -> actix_http::Request {
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
    test::TestRequest::post()
        .uri("/token")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .peer_addr("192.0.2.1:4000".parse().unwrap())
        .set_payload(body)
        .to_request()
}

fn post_with(path: &str, token: &str) -> actix_http::Request {
    test::TestRequest::post()
        .uri(path)
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request()
}

#[actix_web::test]
async fn account_extractors_give_a_third_party_token_only_what_its_scopes_grant() {
    let tokenward = with_clients().await;
    let app = account_app!(tokenward);
    let token_for = async |client: Option<&str>, scope: &str| {
        let answer = test::call_service(&app, login_as(client, scope)).await;
        assert_eq!(answer.status(), StatusCode::OK, "{client:?} {scope}");
        body_json(answer).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let token = token_for(None, "items:read").await;
    let sub = tokenward
        .issuer()
        .validate(&token)
        .await
        .unwrap()
        .sub
        .clone();
    let everything = format!("{sub}|Jane Doe|jane@example.com|account email items:read profile");
    // The deployment's own app (no client) and a first-party client: everything, whatever
    // the scope.
    for client in [None, Some("own-app")] {
        let token = token_for(client, "items:read").await;
        let seen = test::call_service(&app, get_with("/account", Some(&token))).await;
        assert_eq!(
            test::read_body(seen).await,
            everything.as_bytes(),
            "{client:?}"
        );
        let managed = test::call_service(&app, post_with("/account/manage", &token)).await;
        assert_eq!(managed.status(), StatusCode::OK, "{client:?}");
        assert_eq!(test::read_body(managed).await, "managing janedoe");
    }
    // A third party granted items:read sees the sub alone and may not manage the account.
    let token = token_for(Some("partner"), "items:read").await;
    let seen = test::call_service(&app, get_with("/account", Some(&token))).await;
    assert_eq!(test::read_body(seen).await, sub.as_bytes());
    let refused = test::call_service(&app, post_with("/account/manage", &token)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("scope=\"account\""),
        "{challenge}"
    );
    assert_eq!(body_json(refused).await["error"], "insufficient_scope");
    // With profile and email it sees those; with account it may manage.
    let token = token_for(Some("partner"), "items:read profile email").await;
    let seen = test::call_service(&app, get_with("/account", Some(&token))).await;
    assert_eq!(
        test::read_body(seen).await,
        format!("{sub}|Jane Doe|jane@example.com").as_bytes()
    );
    let refused = test::call_service(&app, post_with("/account/manage", &token)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let token = token_for(Some("partner"), "account").await;
    let seen = test::call_service(&app, get_with("/account", Some(&token))).await;
    assert_eq!(
        test::read_body(seen).await,
        format!("{sub}|account email items:read profile").as_bytes()
    );
    let managed = test::call_service(&app, post_with("/account/manage", &token)).await;
    assert_eq!(managed.status(), StatusCode::OK);
    // No token: 401 as for every Bearer route, before any account question.
    let none = test::call_service(&app, get_with("/account", None)).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}
