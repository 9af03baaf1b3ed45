//! A resource server: it serves an API protected by tokens that another server (a tokenward
//! issuer) signs, and holds nothing but that issuer's public keys. No user store, no private
//! key, no database.
//!
//! The keys come from the issuer's `/.well-known/jwks.json`, fetched at start, again every five
//! minutes, and again when a token names a key id the cached set lacks (the issuer rotated),
//! at most once every ten seconds, so a stream of forged key ids cannot turn this server into a
//! load generator aimed at the issuer.
//!
//! What it cannot see: revocations, logout-all, password changes and disabled users live in the
//! issuer's stores, so a token stays valid here until it expires (default 15 minutes). A service
//! that must honour them at once runs the full `TokenIssuer` on the shared stores instead.

#![forbid(unsafe_code)]

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum_tokenward::{AnyScope, Reply, RequiredScope};
use tokenward::keys::Jwks;
use tokenward::oauth2::{self, ErrorResponse};
use tokenward::token::{AccessClaims, JwksVerifier, TokenError, Verified};
use tokio::sync::{Mutex, RwLock};

/// How often the key set is fetched again in any case.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// The least time between two fetches caused by unknown key ids.
pub const UNKNOWN_KID_BACKOFF: Duration = Duration::from_secs(10);

/// The issuer's public keys, cached.
pub struct RemoteKeys {
    jwks_url: String,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    verifier: RwLock<JwksVerifier>,
    last_fetch: Mutex<Instant>,
    unknown_kid_backoff: Duration,
}

impl RemoteKeys {
    /// Fetches `jwks_url` once; tokens must come from `issuer` for `audience`. The URL must be
    /// `https` (plain `http` only to a loopback address): whoever can answer in the issuer's
    /// place chooses which tokens this server accepts.
    pub async fn fetch(jwks_url: String, issuer: String, audience: String) -> Result<Self, String> {
        check_jwks_url(&jwks_url)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let verifier = load(&http, &jwks_url, &issuer, &audience).await?;
        Ok(Self {
            jwks_url,
            issuer,
            audience,
            http,
            verifier: RwLock::new(verifier),
            last_fetch: Mutex::new(Instant::now()),
            unknown_kid_backoff: UNKNOWN_KID_BACKOFF,
        })
    }

    /// The least time between two fetches caused by unknown key ids (default
    /// [`UNKNOWN_KID_BACKOFF`]).
    #[must_use]
    pub fn unknown_kid_backoff(mut self, backoff: Duration) -> Self {
        self.unknown_kid_backoff = backoff;
        self
    }

    /// Fetches the key set again now; on failure the cached set stays.
    pub async fn refresh(&self) -> Result<(), String> {
        let mut last_fetch = self.last_fetch.lock().await;
        let verifier = load(&self.http, &self.jwks_url, &self.issuer, &self.audience).await?;
        *self.verifier.write().await = verifier;
        *last_fetch = Instant::now();
        Ok(())
    }

    /// Validates `token`; a key id the cache lacks triggers one fetch (rate-limited) and a retry.
    pub async fn verify(&self, token: &str) -> Result<Verified<AccessClaims>, TokenError> {
        let first = self.verifier.read().await.verify(token);
        if !matches!(first, Err(TokenError::UnknownKid)) {
            return first;
        }
        {
            let mut last_fetch = self.last_fetch.lock().await;
            // Within the backoff no fetch, but the check below still runs: a request that
            // waited for this lock while another fetched must see the keys that fetch brought.
            if last_fetch.elapsed() >= self.unknown_kid_backoff {
                // Counted as a fetch even when it fails: a down issuer is not asked on every
                // request.
                *last_fetch = Instant::now();
                match load(&self.http, &self.jwks_url, &self.issuer, &self.audience).await {
                    Ok(verifier) => *self.verifier.write().await = verifier,
                    Err(err) => eprintln!("warning: fetching {}: {err}", self.jwks_url),
                }
            }
        }
        self.verifier.read().await.verify(token)
    }
}

fn check_jwks_url(url: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (plain http only to a loopback address)".into()),
    }
}

async fn load(
    http: &reqwest::Client,
    url: &str,
    issuer: &str,
    audience: &str,
) -> Result<JwksVerifier, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let jwks: Jwks = response
        .json()
        .await
        .map_err(|_| "the answer is not a JWK Set".to_owned())?;
    let verifier = JwksVerifier::new(&jwks, issuer, audience).map_err(|e| e.to_string())?;
    if verifier.key_count() == 0 {
        return Err("the JWK Set has no signature key this server can use".into());
    }
    Ok(verifier)
}

/// The claims of a valid token carrying the scopes `S`: 401 without one, 403 without the scope.
pub struct Bearer<S: RequiredScope = AnyScope>(pub Verified<AccessClaims>, PhantomData<S>);

impl<S: RequiredScope> FromRequestParts<Arc<RemoteKeys>> for Bearer<S> {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, keys: &Arc<RemoteKeys>) -> Result<Self, Reply> {
        let token =
            oauth2::bearer_token(&parts.headers).map_err(|_| Reply(oauth2::missing_token()))?;
        let claims = keys
            .verify(token)
            .await
            .map_err(|e| Reply(oauth2::invalid_token(&e)))?;
        let required =
            S::scopes().map_err(|_| Reply(ErrorResponse::server_error().into_response()))?;
        if claims.scope.require(&required).is_err() {
            return Err(Reply(oauth2::insufficient_scope(&required)));
        }
        Ok(Self(claims, PhantomData))
    }
}

tokenward::required_scope!(
    /// `items:read`.
    pub ItemsRead = "items:read"
);

async fn items(_: Bearer<ItemsRead>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!([{"id": 1, "name": "hammer"}, {"id": 2, "name": "screwdriver"}]))
}

async fn whoami(Bearer(claims, _): Bearer) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"sub": claims.sub, "scope": claims.scope.to_string()}))
}

/// `GET /items` (scope `items:read`) and `GET /whoami` (any valid token).
pub fn router(keys: Arc<RemoteKeys>) -> Router {
    Router::new()
        .route("/items", get(items))
        .route("/whoami", get(whoami))
        .with_state(keys)
}

/// Fetches the keys every [`REFRESH_EVERY`], for as long as the process runs.
pub fn spawn_refresh(keys: Arc<RemoteKeys>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(REFRESH_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(err) = keys.refresh().await {
                eprintln!("warning: fetching the issuer's keys: {err}");
            }
        }
    });
}
