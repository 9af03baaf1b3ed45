//! # axum-tokenward
//!
//! [tokenward] for axum services: protect a route by naming its scope in an
//! extractor, mount the OAuth endpoints, and keep slow or oversized requests from tying the
//! server up.
//!
//! ```
//! use axum::{Router, routing::get};
//! use axum_tokenward::{Bearer, Tokenward};
//!
//! tokenward::required_scope!(pub ItemsRead = "items:read");
//!
//! // 401 without a valid token, 403 without `items:read`, 503 when a store is down.
//! async fn items(token: Bearer<ItemsRead>) -> String {
//!     format!("items for {}", token.claims.sub)
//! }
//!
//! fn app(issuer: tokenward::TokenIssuer) -> Router {
//!     let tokenward = Tokenward::new(issuer);
//!     Router::new()
//!         .route("/items", get(items))
//!         .merge(tokenward.routes()) // POST /token, POST /revoke, GET /.well-known/jwks.json
//!         .layer(tokenward.layer()) // what the extractors read, and the request deadline
//! }
//! ```
//!
//! Serve the router with [`serve`] (or `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`):
//! the token endpoint throttles logins by client address, so it needs the peer's address.
//!
//! | item | what it is |
//! |---|---|
//! | [`Tokenward`] | the issuer and the options the routes and extractors share |
//! | [`Bearer`], [`BearerUser`] | extractors: the verified claims (and the user) for a required scope |
//! | [`AccountUser`], [`AccountManager`] | extractors for the user's own account routes: what the token may see, and whether it may manage the account (third-party clients by scope) |
//! | [`Tokenward::routes`] | `POST /token`, `POST /revoke`, `GET /.well-known/jwks.json` |
//! | [`Tokenward::layer`] | puts the [`Tokenward`] in reach of the extractors; request deadline; JSON 413 |
//! | [`serve`] | hyper's accept loop with a header-read timeout, a connection cap and graceful shutdown |
//! | [`Reply`] | a framework-neutral `http::Response<Vec<u8>>` as an axum response |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod layer;
mod reply;
mod routes;
mod serve;

pub use extract::{AccountManager, AccountUser, Bearer, BearerUser};
pub use layer::{TokenwardLayer, TokenwardService};
pub use reply::Reply;
pub use serve::{ConnectionLimits, serve};
pub use tokenward::oauth2::{AccountAccess, AnyScope, RequiredScope};

use std::time::Duration;

use tokenward::TokenIssuer;
use tokenward::endpoints::Endpoints;

/// The endpoints ([`tokenward::endpoints::Endpoints`]) the routes serve and the extractors
/// read. Cheap to clone. Options (trusted proxies, the request deadline, the authorization
/// server) are set on the [`Endpoints`], in one place for every framework:
///
/// ```
/// # fn f(issuer: tokenward::TokenIssuer) {
/// use tokenward::endpoints::Endpoints;
///
/// let tokenward = axum_tokenward::Tokenward::from(
///     Endpoints::new(issuer)
///         .trusted_proxies(vec!["10.0.0.5".parse().unwrap()])
///         .request_timeout(std::time::Duration::from_secs(5)),
/// );
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Tokenward {
    endpoints: Endpoints,
}

impl Tokenward {
    /// The default time a whole request (body included) may take under [`Tokenward::layer`] before it
    /// is answered 503.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Endpoints::DEFAULT_REQUEST_TIMEOUT;

    /// Routes and extractors around `issuer` with the default options
    /// ([`Endpoints::new`]).
    pub fn new(issuer: TokenIssuer) -> Self {
        Self::from(Endpoints::new(issuer))
    }

    /// The endpoints, with their options and the authorization server if one was added.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The issuer, for handlers that need more than the extractors give.
    ///
    /// ```
    /// # async fn f(tokenward: axum_tokenward::Tokenward, user_id: &str) -> Result<(), tokenward::Error> {
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

/// `docs/guides/axum.md`, compiled (and where it can run, run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guides/axum.md")]
struct AxumGuide;

/// The README's code, compiled as doctests here because it uses this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct Readme;
