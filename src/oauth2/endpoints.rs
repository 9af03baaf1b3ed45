//! [`Endpoints`]: the token, revocation and JWKS endpoints with the options a deployment sets,
//! for framework integrations to route to.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Response};

use super::{client_address, jwks_response, revocation_endpoint, token_endpoint};
use crate::TokenIssuer;
use crate::provider::AuthorizationServer;

/// The issuer's HTTP endpoints and the options around them: which reverse proxies may name
/// the client in `X-Forwarded-For`, and how long a whole request may take. Cheap to clone.
///
/// The integration crates (`axum-tokenward`, `actix-web-tokenward`) wrap it; an application on
/// another framework calls its methods from three handlers.
///
/// ```
/// # async fn handler(issuer: tokenward::TokenIssuer, peer: std::net::IpAddr, headers: http::HeaderMap, body: Vec<u8>) {
/// let endpoints = tokenward::oauth2::Endpoints::new(issuer)
///     .trusted_proxies(vec!["10.0.0.5".parse().unwrap()]);
/// let response: http::Response<Vec<u8>> = endpoints.token(peer, &headers, &body).await;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: TokenIssuer,
    trusted_proxies: Vec<IpAddr>,
    request_timeout: Duration,
    server: Option<AuthorizationServer>,
}

impl Endpoints {
    /// The default time a whole request (body included) may take before it is answered 503.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// The endpoints of `issuer`; no trusted proxies, the default request timeout.
    pub fn new(issuer: TokenIssuer) -> Self {
        Self {
            inner: Arc::new(Inner {
                issuer,
                trusted_proxies: Vec::new(),
                request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
                server: None,
            }),
        }
    }

    /// The reverse proxies whose `X-Forwarded-For` names the client the token endpoint
    /// throttles by ([`client_address`]); anyone else's header is ignored.
    #[must_use]
    pub fn trusted_proxies(self, proxies: Vec<IpAddr>) -> Self {
        self.with(|inner| inner.trusted_proxies = proxies)
    }

    /// How long a whole request may take (a slow client, a starved password hasher) before the
    /// integration answers 503 `temporarily_unavailable`.
    #[must_use]
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.with(|inner| inner.request_timeout = timeout)
    }

    /// Adds the authorization server (the code flow, registered clients, client credentials,
    /// introspection): the integrations then route its endpoints too, and `/token` and
    /// `/revoke` authenticate clients. Its issuer should be this one.
    #[must_use]
    pub fn authorization_server(self, server: AuthorizationServer) -> Self {
        self.with(|inner| inner.server = Some(server))
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            issuer: self.inner.issuer.clone(),
            trusted_proxies: self.inner.trusted_proxies.clone(),
            request_timeout: self.inner.request_timeout,
            server: self.inner.server.clone(),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The authorization server, if one was added.
    pub fn server(&self) -> Option<&AuthorizationServer> {
        self.inner.server.as_ref()
    }

    /// The issuer, for handlers that need more than the endpoints.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// The request deadline ([`Self::request_timeout`]).
    pub fn request_deadline(&self) -> Duration {
        self.inner.request_timeout
    }

    /// `POST /token` from the TCP peer `peer` (the client, or a trusted proxy naming it).
    pub async fn token(&self, peer: IpAddr, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        let client = self.client_address(peer, headers);
        match &self.inner.server {
            Some(server) => server.token(client, headers, body).await,
            None => token_endpoint(&self.inner.issuer, client, headers, body).await,
        }
    }

    /// The client a request comes from: `peer`, or whom a trusted proxy names.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.inner.trusted_proxies)
    }

    /// `POST /revoke`.
    pub async fn revoke(&self, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        match &self.inner.server {
            Some(server) => server.revoke(headers, body).await,
            None => revocation_endpoint(&self.inner.issuer, headers, body).await,
        }
    }

    /// `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> Response<Vec<u8>> {
        jwks_response(&self.inner.issuer)
    }
}
