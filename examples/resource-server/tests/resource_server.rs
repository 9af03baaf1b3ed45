//! The resource server against a JWKS endpoint whose keys the test controls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use secrecy::ExposeSecret;
use tokenward::keys::{Jwks, KeyAlgorithm, KeySet};
use tokenward::token::{Scopes, TokenCodec};
use tokenward_resource_server::{RemoteKeys, router};
use tower::ServiceExt;

const ISS: &str = "tokenward-example";
const AUD: &str = "tokenward-example-api";

/// Serves a JWKS the test can swap, and counts how often it was fetched.
struct Issuer {
    jwks: RwLock<Jwks>,
    fetches: AtomicUsize,
}

async fn serve_jwks(State(issuer): State<Arc<Issuer>>) -> axum::Json<Jwks> {
    issuer.fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(issuer.jwks.read().unwrap().clone())
}

async fn start_issuer(keys: &KeySet) -> (Arc<Issuer>, String) {
    let issuer = Arc::new(Issuer {
        jwks: RwLock::new(keys.jwks()),
        fetches: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/.well-known/jwks.json", get(serve_jwks))
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (issuer, url)
}

fn token(keys: &KeySet, scope: &str) -> String {
    let codec = TokenCodec::builder(keys.clone(), ISS, AUD).build().unwrap();
    let issued = codec
        .issue_access("user-1", &Scopes::parse(scope).unwrap(), "s1")
        .unwrap();
    issued.token.expose_secret().to_owned()
}

async fn status(app: &Router, path: &str, token: Option<&str>) -> StatusCode {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn tokens_of_the_issuer_open_the_api_by_scope() {
    let keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    let (_, url) = start_issuer(&keys).await;
    let remote = RemoteKeys::fetch(url, ISS.into(), AUD.into())
        .await
        .unwrap();
    let app = router(Arc::new(remote));

    let reader = token(&keys, "items:read");
    assert_eq!(status(&app, "/items", Some(&reader)).await, StatusCode::OK);
    assert_eq!(status(&app, "/whoami", Some(&reader)).await, StatusCode::OK);
    let writer = token(&keys, "items:write");
    assert_eq!(
        status(&app, "/items", Some(&writer)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(&app, "/items", None).await, StatusCode::UNAUTHORIZED);
    // Another issuer's key, however well-formed the token: refused.
    let stranger = token(
        &KeySet::generate(KeyAlgorithm::EdDSA).unwrap(),
        "items:read",
    );
    assert_eq!(
        status(&app, "/items", Some(&stranger)).await,
        StatusCode::UNAUTHORIZED
    );
    let mut tampered = reader.clone();
    tampered.insert(reader.len() - 2, 'A');
    assert_eq!(
        status(&app, "/items", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_forged_kids_cost_the_issuer_nothing() {
    let mut keys = KeySet::generate(KeyAlgorithm::EdDSA).unwrap();
    let (issuer, url) = start_issuer(&keys).await;
    let remote = RemoteKeys::fetch(url.clone(), ISS.into(), AUD.into())
        .await
        .unwrap()
        .unknown_kid_backoff(Duration::ZERO);
    let app = router(Arc::new(remote));
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);

    keys.rotate_generate().unwrap();
    *issuer.jwks.write().unwrap() = keys.jwks();
    let rotated = token(&keys, "items:read");
    assert_eq!(status(&app, "/items", Some(&rotated)).await, StatusCode::OK);
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    // Known now: no more fetches.
    assert_eq!(status(&app, "/items", Some(&rotated)).await, StatusCode::OK);
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);

    // With the default backoff, a burst of tokens naming unknown keys right after a fetch
    // fetches nothing.
    let guarded = router(Arc::new(
        RemoteKeys::fetch(url, ISS.into(), AUD.into())
            .await
            .unwrap(),
    ));
    let before = issuer.fetches.load(Ordering::SeqCst);
    for _ in 0..20 {
        let forged = token(
            &KeySet::generate(KeyAlgorithm::EdDSA).unwrap(),
            "items:read",
        );
        assert_eq!(
            status(&guarded, "/items", Some(&forged)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn an_unreachable_or_empty_key_set_fails_at_start() {
    let unreachable = RemoteKeys::fetch(
        "http://127.0.0.1:9/.well-known/jwks.json".into(),
        ISS.into(),
        AUD.into(),
    )
    .await;
    assert!(unreachable.is_err());
    // Whoever answers a plain-http fetch chooses the keys: only loopback may use it.
    let plain = RemoteKeys::fetch(
        "http://issuer.example/.well-known/jwks.json".into(),
        ISS.into(),
        AUD.into(),
    )
    .await;
    assert!(plain.err().is_some_and(|e| e.contains("must be https")));
    // An issuer with only HMAC keys publishes no key a resource server could use.
    let hmac = KeySet::generate(KeyAlgorithm::HS256).unwrap();
    let (_, url) = start_issuer(&hmac).await;
    let empty = RemoteKeys::fetch(url, ISS.into(), AUD.into()).await;
    assert!(empty.err().is_some_and(|e| e.contains("no signature key")));
}
