//! The OAuth endpoints: token, revocation, JWKS.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::routing::{get, post};
use http::HeaderMap;
use tokenward::oauth2;

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
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/.well-known/jwks.json", get(jwks))
            .layer(DefaultBodyLimit::max(oauth2::MAX_FORM_BYTES))
            .with_state(self.clone())
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
