//! The OAuth 2.0 vocabulary every endpoint shares, without a web framework: the form rules
//! (RFC 6749 §3.2), the JSON responses and errors (RFC 6749 §5), the client address behind a
//! proxy, and Bearer authentication (RFC 6750) with its `WWW-Authenticate` challenges, which a
//! resource server uses alone:
//!
//! ```
//! # async fn handler(issuer: tokenward::TokenIssuer, headers: http::HeaderMap) {
//! use tokenward::token::Scopes;
//!
//! let required = Scopes::parse("items:read").unwrap();
//! match tokenward::oauth2::authenticate(&issuer, &headers, &required).await {
//!     Ok(claims) => println!("a request by {}", claims.sub),
//!     // 401 with a challenge, 403 insufficient_scope, or 503: ready to send.
//!     Err(response) => drop(response),
//! }
//! # }
//! ```
//!
//! The user's own account routes (`/users/me` and below) take a token through
//! [`authenticate_account`], which says what the token may do with the account
//! ([`AccountAccess`]): a third-party client gets what its scopes grant, not everything.
//!
//! The endpoints themselves (`/token`, `/revoke`, ...) and their route table are
//! [`crate::endpoints`].

mod account_access;
mod bearer;
mod client_address;
#[cfg(feature = "provider")]
mod form;
#[cfg(feature = "openapi")]
pub mod openapi;
mod required_scope;
mod response;

pub use account_access::{AccountAccess, authenticate_account};
pub use bearer::{
    BearerError, REALM, authenticate, authenticate_user, bearer_token, insufficient_scope,
    invalid_token, missing_token, www_authenticate,
};
pub use client_address::client_address;
#[cfg(feature = "provider")]
pub(crate) use form::Form;
pub use required_scope::{AnyScope, RequiredScope};
#[cfg(feature = "provider")]
pub(crate) use response::{error_description, json_response};

/// The largest request body parsed, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

pub use response::{ErrorResponse, TokenBody, error_response, jwks_response, token_response};
