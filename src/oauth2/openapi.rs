//! OpenAPI 3.1 descriptions (utoipa) of the endpoints this module implements, for a server to
//! merge into the document of its whole API (feature `openapi`).
//!
//! ```
//! use utoipa::OpenApi as _;
//!
//! let document = tokenward::oauth2::openapi::OAuthApi::openapi();
//! assert!(document.paths.paths.contains_key("/token"));
//! ```

use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub use super::response::{ErrorBody, TokenBody};

/// The endpoints of [`crate::oauth2`]: `POST /token`, `POST /revoke`,
/// `GET /.well-known/jwks.json`, with their request and response schemas.
#[derive(OpenApi)]
#[openapi(
    paths(super::token_endpoint, super::revocation_endpoint, super::response::jwks_response),
    components(schemas(TokenForm, GrantType, RevocationForm, TokenTypeHintName)),
    tags((name = "oauth2", description = "Tokens: the password and refresh-token grants (RFC 6749), revocation (RFC 7009), the public keys (RFC 7517)"))
)]
pub struct OAuthApi;

/// The `POST /token` form (RFC 6749 §4.3 and §6). Which members a grant needs is in its
/// description; unknown members are ignored, repeated ones refused.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // a schema only: the endpoint parses the form itself
pub(crate) struct TokenForm {
    grant_type: GrantType,
    /// `password` grant: the username.
    #[schema(max_length = 256)]
    username: Option<String>,
    /// `password` grant: the password.
    #[schema(format = Password)]
    password: Option<String>,
    /// `refresh_token` grant: the refresh token.
    refresh_token: Option<String>,
    /// Space-delimited scopes; a refresh may narrow them, never widen them.
    scope: Option<String>,
}

/// The grant.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GrantType {
    /// Username and password (RFC 6749 §4.3).
    Password,
    /// A refresh token, which this use spends (RFC 6749 §6).
    RefreshToken,
}

/// The `POST /revoke` form (RFC 7009 §2.1).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct RevocationForm {
    /// An access or refresh token.
    token: String,
    /// Which kind `token` is; a wrong or unknown hint is ignored.
    token_type_hint: Option<TokenTypeHintName>,
}

/// RFC 7009 §2.1 token type hints.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenTypeHintName {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}
