//! The HTTP endpoints and their one route table: every endpoint the library serves, with its
//! method, path, body limit and whether it needs the peer's address. The integration crates
//! mount [`Endpoints::routes`] with one generic loop and hand each request to
//! [`Endpoints::handle`], so adding an endpoint touches this crate only.
//!
//! An application on another framework does the same:
//!
//! ```
//! use tokenward::endpoints::{EndpointRequest, Endpoints};
//!
//! # async fn serve(issuer: tokenward::TokenIssuer, peer: std::net::IpAddr) {
//! let endpoints = Endpoints::new(issuer);
//! for route in endpoints.routes() {
//!     // mount `route.path` for `route.methods` in the framework, then per request:
//!     let headers = http::HeaderMap::new();
//!     let request = EndpointRequest {
//!         method: &route.methods[0],
//!         headers: &headers,
//!         query: "",
//!         body: b"",
//!         peer: Some(peer),
//!     };
//!     let response: http::Response<Vec<u8>> = endpoints.handle(&route, request).await;
//! }
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, Response};

use crate::TokenIssuer;
use crate::oauth2::{
    self, AccountAccess, ErrorResponse, MAX_FORM_BYTES, client_address, jwks_response,
};
use crate::provider::{
    AUTHORIZE_PATH, AuthorizationServer, CONSENT_PATH, INTROSPECT_PATH, JWKS_PATH, LOGIN_PATH,
    LOGOUT_PATH, OAUTH_METADATA_PATH, OPENID_CONFIGURATION_PATH, REVOKE_PATH, TOKEN_PATH,
    TokenEndpoint, UPSTREAM_CALLBACK_PATH, UPSTREAM_START_PATH, USERINFO_PATH,
};
use crate::store::{ClientStore, User};
use crate::token::{AccessClaims, Verified};

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const GET_POST: &[Method] = &[Method::GET, Method::POST];

/// One endpoint of the route table.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The path, as the discovery document names it.
    pub path: &'static str,
    /// The methods it answers; any other gets 405 with these in `Allow`.
    pub methods: &'static [Method],
    /// The largest body it reads, in bytes; a larger one is answered 413.
    pub body_limit: usize,
    /// Whether it needs the TCP peer's address (to throttle logins and failed client
    /// authentications per client address): a
    /// request without one (a Unix socket) is refused rather than let every client share
    /// one budget.
    pub needs_peer: bool,
    handler: Handler,
}

impl Route {
    /// The methods for an `Allow` header: `GET, POST`.
    pub fn allow(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        names.join(", ")
    }
}

/// Which endpoint a [`Route`] reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handler {
    Token,
    Revoke,
    Jwks,
    Introspect,
    Authorize,
    Login,
    Consent,
    Logout,
    Userinfo,
    Discovery,
    UpstreamStart,
    UpstreamCallback,
}

const fn route(
    path: &'static str,
    methods: &'static [Method],
    body_limit: usize,
    needs_peer: bool,
    handler: Handler,
) -> Route {
    Route {
        path,
        methods,
        body_limit,
        needs_peer,
        handler,
    }
}

/// The endpoints every issuer serves.
const TOKEN_ROUTES: [Route; 3] = [
    route(TOKEN_PATH, POST, MAX_FORM_BYTES, true, Handler::Token),
    route(REVOKE_PATH, POST, MAX_FORM_BYTES, true, Handler::Revoke),
    route(JWKS_PATH, GET, 0, false, Handler::Jwks),
];

/// The endpoints of the authorization server, served when one is configured.
const SERVER_ROUTES: [Route; 10] = [
    route(AUTHORIZE_PATH, GET, 0, true, Handler::Authorize),
    route(LOGIN_PATH, POST, MAX_FORM_BYTES, true, Handler::Login),
    route(CONSENT_PATH, POST, MAX_FORM_BYTES, false, Handler::Consent),
    route(
        LOGOUT_PATH,
        GET_POST,
        MAX_FORM_BYTES,
        false,
        Handler::Logout,
    ),
    route(
        INTROSPECT_PATH,
        POST,
        MAX_FORM_BYTES,
        true,
        Handler::Introspect,
    ),
    route(
        USERINFO_PATH,
        GET_POST,
        MAX_FORM_BYTES,
        false,
        Handler::Userinfo,
    ),
    route(OPENID_CONFIGURATION_PATH, GET, 0, false, Handler::Discovery),
    route(OAUTH_METADATA_PATH, GET, 0, false, Handler::Discovery),
    route(
        UPSTREAM_START_PATH,
        POST,
        MAX_FORM_BYTES,
        false,
        Handler::UpstreamStart,
    ),
    route(
        UPSTREAM_CALLBACK_PATH,
        GET,
        0,
        false,
        Handler::UpstreamCallback,
    ),
];

/// What an endpoint reads of a request.
#[derive(Clone, Copy)]
pub struct EndpointRequest<'a> {
    /// The method (one of the route's).
    pub method: &'a Method,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The query string without `?` (empty when there is none).
    pub query: &'a str,
    /// The body, at most the route's `body_limit` bytes.
    pub body: &'a [u8],
    /// The TCP peer's address; `None` over a Unix socket.
    pub peer: Option<IpAddr>,
}

impl fmt::Debug for EndpointRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers, query and body may carry credentials.
        f.debug_struct("EndpointRequest")
            .field("method", self.method)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// The issuer's HTTP endpoints and the options around them: which reverse proxies may name
/// the client in `X-Forwarded-For`, and how long a whole request may take. Cheap to clone.
///
/// Without an [authorization server](Self::authorization_server) it serves the token endpoint
/// (password and refresh grants; no client is registered), revocation and the JWKS; with one,
/// every endpoint of [`crate::provider`].
#[derive(Clone, Debug)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    issuer: TokenIssuer,
    token: TokenEndpoint,
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
                token: TokenEndpoint::without_clients(issuer.clone()),
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
    /// introspection, OpenID Connect): its endpoints join the route table, and `/token` and
    /// `/revoke` know its clients. Its issuer should be this one.
    #[must_use]
    pub fn authorization_server(self, server: AuthorizationServer) -> Self {
        self.with(|inner| {
            inner.token = server.token_endpoint().clone();
            inner.server = Some(server);
        })
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
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

    /// The registered clients: the authorization server's, or `None` without one.
    pub fn clients(&self) -> Option<&dyn ClientStore> {
        self.inner
            .server
            .as_ref()
            .map(|server| server.clients().as_ref())
    }

    /// Authenticates a request to one of the user's own account routes (`/users/me` and
    /// below) with [`oauth2::authenticate_account`] over these endpoints' issuer and clients:
    /// the claims, the user and what the token may do with the account. Without an
    /// authorization server every token that names a client is a third party's.
    pub async fn authenticate_account(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Verified<AccessClaims>, User, AccountAccess), Response<Vec<u8>>> {
        oauth2::authenticate_account(&self.inner.issuer, self.clients(), headers).await
    }

    /// The request deadline ([`Self::request_timeout`]).
    pub fn request_deadline(&self) -> Duration {
        self.inner.request_timeout
    }

    /// The client a request comes from: `peer`, or whom a trusted proxy names.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.inner.trusted_proxies)
    }

    /// The route table: the token endpoint, revocation and the JWKS, and with an authorization
    /// server its endpoints too.
    pub fn routes(&self) -> Vec<Route> {
        let server_routes: &[Route] = if self.inner.server.is_some() {
            &SERVER_ROUTES
        } else {
            &[]
        };
        TOKEN_ROUTES.iter().chain(server_routes).copied().collect()
    }

    /// Answers `request` to `route` (one of [`Self::routes`]).
    pub async fn handle(&self, route: &Route, request: EndpointRequest<'_>) -> Response<Vec<u8>> {
        let EndpointRequest {
            method,
            headers,
            query,
            body,
            peer,
        } = request;
        // Only the routes that throttle by client address read X-Forwarded-For.
        let address = match (route.needs_peer, peer) {
            (true, Some(peer)) => Some(self.client_address(peer, headers)),
            (true, None) => {
                // Without an address every client would share one login budget, so one
                // attacker could lock everyone out: refuse instead.
                tracing::error!(
                    path = route.path,
                    "a request without a peer address: serve it over TCP"
                );
                return ErrorResponse::server_error().into_response();
            }
            (false, _) => None,
        };
        let inner = &self.inner;
        match (route.handler, &inner.server) {
            (Handler::Token, _) => match address {
                Some(address) => inner.token.token(address, headers, body).await,
                None => ErrorResponse::server_error().into_response(),
            },
            (Handler::Revoke, _) => match address {
                Some(address) => inner.token.revoke(address, headers, body).await,
                None => ErrorResponse::server_error().into_response(),
            },
            (Handler::Jwks, _) => jwks_response(&inner.issuer),
            (Handler::Introspect, Some(server)) => match address {
                Some(address) => server.introspect(address, headers, body).await,
                None => ErrorResponse::server_error().into_response(),
            },
            (Handler::Authorize, Some(server)) => match address {
                Some(address) => server.authorize(address, headers, query).await,
                None => ErrorResponse::server_error().into_response(),
            },
            (Handler::Login, Some(server)) => match address {
                Some(address) => server.login(address, headers, body).await,
                None => ErrorResponse::server_error().into_response(),
            },
            (Handler::Consent, Some(server)) => server.consent(headers, body).await,
            (Handler::Logout, Some(server)) => {
                let params = if *method == Method::POST {
                    std::str::from_utf8(body).unwrap_or_default()
                } else {
                    query
                };
                server.logout(headers, params).await
            }
            (Handler::Userinfo, Some(server)) => server.userinfo(headers).await,
            (Handler::Discovery, Some(server)) => server.discovery(),
            (Handler::UpstreamStart, Some(server)) => server.upstream_start(headers, body).await,
            (Handler::UpstreamCallback, Some(server)) => {
                server.upstream_callback(headers, query).await
            }
            // A server route on endpoints without a server: `routes` never lists one, so the
            // application mounted a route of other endpoints.
            (_, None) => {
                tracing::error!(
                    path = route.path,
                    "an authorization-server route without a server"
                );
                ErrorResponse::server_error().into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_methods_named() {
        let mut paths: Vec<&str> = TOKEN_ROUTES
            .iter()
            .chain(SERVER_ROUTES.iter())
            .map(|r| r.path)
            .collect();
        let count = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), count, "a path is routed twice");
        assert_eq!(SERVER_ROUTES[3].allow(), "GET, POST");
    }
}
