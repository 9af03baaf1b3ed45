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
//! | [`AccountUser`], [`AccountManager`] | extractors for the user's own account routes: what the token may see, and whether it may manage the account (third-party clients by scope) |
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
pub use extract::{AccountManager, AccountUser, Bearer, BearerUser};
pub use limits::limits;
pub use routes::resource;
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
/// let tokenward = actix_web_tokenward::Tokenward::from(
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
    /// The default time a whole request (body included) may take under [`limits`] before it
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
