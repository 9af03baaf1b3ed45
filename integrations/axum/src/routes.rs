//! The OAuth endpoints: token, revocation, JWKS, and those of the authorization server.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, RawQuery, State};
use axum::routing::{get, post};
use http::HeaderMap;
use tokenward::{oauth2, provider};

use crate::{Reply, Tokenward};

impl Tokenward {
    /// `POST /token` (password and refresh-token grants, RFC 6749), `POST /revoke` (RFC 7009)
    /// and `GET /.well-known/jwks.json` (the public keys), to merge into the application's
    /// router. Form bodies over [`oauth2::MAX_FORM_BYTES`] are refused with 413.
    ///
    /// The token endpoint reads the peer address (`ConnectInfo<SocketAddr>`) to throttle
    /// logins per client: serve with [`crate::serve`] or
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    ///
    /// ```
    /// # fn f(tokenward: axum_tokenward::Tokenward) {
    /// let app: axum::Router = axum::Router::new()
    ///     .merge(tokenward.routes())
    ///     .layer(tokenward.layer());
    /// # }
    /// ```
    ///
    /// With an [authorization server](Tokenward::authorization_server), also `GET /authorize`,
    /// `POST /authorize/login`, `POST /authorize/consent`, `GET|POST /logout`,
    /// `POST /introspect`, `GET|POST /userinfo`, the discovery documents at
    /// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`, and
    /// login through an upstream provider (`POST /upstream/start`, `GET /upstream/callback`;
    /// an error page unless the server was built with one).
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new()
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/.well-known/jwks.json", get(jwks));
        if self.endpoints.server().is_some() {
            router = router
                .route("/authorize", get(authorize))
                .route(provider::LOGIN_PATH, post(login))
                .route(provider::CONSENT_PATH, post(consent))
                .route("/logout", get(logout_get).post(logout_post))
                .route("/introspect", post(introspect))
                .route(provider::USERINFO_PATH, get(userinfo).post(userinfo))
                .route(provider::OPENID_CONFIGURATION_PATH, get(discovery))
                .route(provider::OAUTH_METADATA_PATH, get(discovery))
                .route(provider::UPSTREAM_START_PATH, post(upstream_start))
                .route(provider::UPSTREAM_CALLBACK_PATH, get(upstream_callback));
        }
        router
            .layer(DefaultBodyLimit::max(oauth2::MAX_FORM_BYTES))
            .with_state(self.clone())
    }
}

/// The answer of a provider route when no authorization server is configured (they are only
/// mounted with one, so this is a wiring fault).
fn no_server() -> Reply {
    Reply(oauth2::ErrorResponse::server_error().into_response())
}

async fn authorize(
    State(tokenward): State<Tokenward>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(
            server
                .authorize(&headers, query.as_deref().unwrap_or_default())
                .await,
        ),
        None => no_server(),
    }
}

async fn login(
    State(tokenward): State<Tokenward>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let address = tokenward.endpoints.client_address(peer.ip(), &headers);
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.login(address, &headers, &body).await),
        None => no_server(),
    }
}

async fn consent(State(tokenward): State<Tokenward>, headers: HeaderMap, body: Bytes) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.consent(&headers, &body).await),
        None => no_server(),
    }
}

async fn logout_get(
    State(tokenward): State<Tokenward>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(
            server
                .logout(&headers, query.as_deref().unwrap_or_default())
                .await,
        ),
        None => no_server(),
    }
}

async fn logout_post(State(tokenward): State<Tokenward>, headers: HeaderMap, body: Bytes) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(
            server
                .logout(&headers, std::str::from_utf8(&body).unwrap_or_default())
                .await,
        ),
        None => no_server(),
    }
}

async fn introspect(State(tokenward): State<Tokenward>, headers: HeaderMap, body: Bytes) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.introspect(&headers, &body).await),
        None => no_server(),
    }
}

async fn userinfo(State(tokenward): State<Tokenward>, headers: HeaderMap) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.userinfo(&headers).await),
        None => no_server(),
    }
}

async fn upstream_start(
    State(tokenward): State<Tokenward>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.upstream_start(&headers, &body).await),
        None => no_server(),
    }
}

async fn upstream_callback(
    State(tokenward): State<Tokenward>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(
            server
                .upstream_callback(&headers, query.as_deref().unwrap_or_default())
                .await,
        ),
        None => no_server(),
    }
}

async fn discovery(State(tokenward): State<Tokenward>) -> Reply {
    match tokenward.endpoints.server() {
        Some(server) => Reply(server.discovery()),
        None => no_server(),
    }
}

async fn token(
    State(tokenward): State<Tokenward>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    Reply(tokenward.endpoints.token(peer.ip(), &headers, &body).await)
}

async fn revoke(State(tokenward): State<Tokenward>, headers: HeaderMap, body: Bytes) -> Reply {
    Reply(tokenward.endpoints.revoke(&headers, &body).await)
}

async fn jwks(State(tokenward): State<Tokenward>) -> Reply {
    Reply(tokenward.endpoints.jwks())
}
