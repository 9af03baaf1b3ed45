//! # actix-web-tokenward
//!
//! [tokenward] for actix-web services: protect a route by naming its scope in an
//! extractor, mount the OAuth endpoints, and keep slow or oversized requests from tying the
//! server up.
//!
//! ```
//! use actix_web::{App, middleware::from_fn, web};
//! use actix_web_tokenward::{Bearer, Tokenward};
//!
//! tokenward::required_scope!(pub ItemsRead = "items:read");
//!
//! // 401 without a valid token, 403 without `items:read`, 503 when a store is down.
//! async fn items(token: Bearer<ItemsRead>) -> String {
//!     format!("items for {}", token.claims.sub)
//! }
//!
//! # fn f(issuer: tokenward::TokenIssuer) {
//! let tokenward = Tokenward::new(issuer);
//! let server = actix_web::HttpServer::new(move || {
//!     App::new()
//!         .configure(tokenward.configure()) // POST /token, POST /revoke, GET /.well-known/jwks.json
//!         .wrap(from_fn(actix_web_tokenward::limits)) // request deadline, JSON 413
//!         .route("/items", web::get().to(items))
//! });
//! # }
//! ```
//!
//! | item | what it is |
//! |---|---|
//! | [`Tokenward`] | the issuer and the options the routes and extractors share |
//! | [`Bearer`], [`BearerUser`] | extractors: the verified claims (and the user) for a required scope |
//! | [`Tokenward::configure`] | `POST /token`, `POST /revoke`, `GET /.well-known/jwks.json`, and the app data the extractors read |
//! | [`limits`] | middleware: request deadline, JSON 413 |
//! | [`resource`] | a path whose other methods get 405 with `Allow` |
//! | [`into_actix`], [`headers_of`] | between `tokenward::oauth2`'s `http` 1 types and actix-web's |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod convert;
mod extract;
mod limits;
mod routes;

pub use convert::{Rejection, headers_of, into_actix};
pub use extract::{Bearer, BearerUser};
pub use limits::limits;
pub use routes::resource;
pub use tokenward::oauth2::{AnyScope, RequiredScope};

use std::net::IpAddr;
use std::time::Duration;

use tokenward::TokenIssuer;
use tokenward::oauth2::Endpoints;

/// The issuer and the options its routes and extractors share (a
/// [`tokenward::oauth2::Endpoints`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tokenward {
    endpoints: Endpoints,
}

impl Tokenward {
    /// The default time a whole request (body included) may take before it is answered 503.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Endpoints::DEFAULT_REQUEST_TIMEOUT;

    /// Routes and extractors around `issuer`; no trusted proxies, the default request timeout.
    pub fn new(issuer: TokenIssuer) -> Self {
        Self::from(Endpoints::new(issuer))
    }

    /// The reverse proxies whose `X-Forwarded-For` names the client the token endpoint
    /// throttles by; anyone else's header is ignored.
    ///
    /// ```
    /// # fn f(issuer: tokenward::TokenIssuer) {
    /// let tokenward = actix_web_tokenward::Tokenward::new(issuer)
    ///     .trusted_proxies(vec!["10.0.0.5".parse().unwrap()]);
    /// # }
    /// ```
    #[must_use]
    pub fn trusted_proxies(self, proxies: Vec<IpAddr>) -> Self {
        Self::from(self.endpoints.trusted_proxies(proxies))
    }

    /// How long a whole request may take under [`limits`] (a slow client, a starved
    /// password hasher) before it is answered 503 `temporarily_unavailable`.
    ///
    /// ```
    /// # fn f(issuer: tokenward::TokenIssuer) {
    /// let tokenward = actix_web_tokenward::Tokenward::new(issuer)
    ///     .request_timeout(std::time::Duration::from_secs(5));
    /// # }
    /// ```
    #[must_use]
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self::from(self.endpoints.request_timeout(timeout))
    }

    /// Adds the authorization server: the code flow with PKCE (`GET /authorize`, the login and
    /// consent forms), `GET|POST /logout`, `POST /introspect`, client authentication and the
    /// client grants at `/token`. See [`tokenward::provider::AuthorizationServer`].
    #[must_use]
    pub fn authorization_server(self, server: tokenward::provider::AuthorizationServer) -> Self {
        Self::from(self.endpoints.authorization_server(server))
    }

    /// The issuer, for handlers that need more than the extractors give.
    ///
    /// ```
    /// # async fn f(tokenward: actix_web_tokenward::Tokenward, user_id: &str) -> Result<(), tokenward::Error> {
    /// tokenward.issuer().logout_all(user_id).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn issuer(&self) -> &TokenIssuer {
        self.endpoints.issuer()
    }
}

impl From<Endpoints> for Tokenward {
    fn from(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }
}

/// `docs/guides/actix-web.md`, compiled (and where it can run, run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guides/actix-web.md")]
struct ActixWebGuide;
