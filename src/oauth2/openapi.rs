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

/// The endpoints every issuer serves ([`crate::endpoints`]): `POST /token`, `POST /revoke`,
/// `GET /.well-known/jwks.json`, with their request and response schemas.
#[derive(OpenApi)]
#[openapi(
    paths(token, revoke, super::response::jwks_response),
    components(schemas(TokenForm, GrantType, RevocationForm, TokenTypeHintName)),
    tags((name = "oauth2", description = "Tokens: the grants of RFC 6749 (authorization code with PKCE, client credentials, password, refresh token), revocation (RFC 7009), the public keys (RFC 7517)"))
)]
pub struct OAuthApi;

#[utoipa::path(
    post,
    path = "/token",
    tag = "oauth2",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token; a refresh token unless the grant or the client's registration gives none; an `id_token` when the code exchange granted `openid`", body = super::response::TokenBody,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "`invalid_request`, `invalid_grant` (wrong password, used or revoked refresh token or code), `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`", body = super::response::ErrorBody),
        (status = 401, description = "`invalid_client`: client authentication failed (with `WWW-Authenticate: Basic` when the client used Basic)", body = super::response::ErrorBody),
        (status = 413, description = "The form is larger than 16 KiB", body = super::response::ErrorBody),
        (status = 429, description = "Too many attempts for this username or client address, or too many failed client authentications for this client id or address", body = super::response::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt may succeed"))),
        (status = 503, description = "A store does not answer, or too many logins are waiting for the password hasher", body = super::response::ErrorBody,
            headers(("Retry-After" = u64))),
    )
)]
#[allow(dead_code)] // a description only: `crate::endpoints` serves the endpoint
fn token() {}

#[utoipa::path(
    post,
    path = "/revoke",
    tag = "oauth2",
    request_body(content = RevocationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or not a token this server would accept (RFC 7009 §2.2)"),
        (status = 400, description = "No `token` in the form", body = super::response::ErrorBody),
        (status = 401, description = "`invalid_client`: the client presented credentials that do not verify", body = super::response::ErrorBody),
        (status = 413, description = "The form is larger than 16 KiB", body = super::response::ErrorBody),
        (status = 429, description = "Too many failed client authentications for this client id or address", body = super::response::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt may succeed"))),
        (status = 503, description = "A store does not answer, or too many secrets are waiting for the password hasher", body = super::response::ErrorBody,
            headers(("Retry-After" = u64))),
    )
)]
#[allow(dead_code)] // a description only
fn revoke() {}

/// The `POST /token` form (RFC 6749 §4.1.3, §4.3, §4.4 and §6). Which members a grant needs is
/// in its description; unknown members are ignored, repeated ones refused.
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
    /// `authorization_code` grant: the code.
    code: Option<String>,
    /// `authorization_code` grant: the authorization request's redirect URI.
    redirect_uri: Option<String>,
    /// `authorization_code` grant: the PKCE verifier (RFC 7636).
    code_verifier: Option<String>,
    /// The client (`client_secret_post`, or a public client's id); or use HTTP Basic.
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    #[schema(format = Password)]
    client_secret: Option<String>,
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
    /// An authorization code with its PKCE verifier (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// A confidential client for itself (RFC 6749 §4.4).
    ClientCredentials,
}

/// The `POST /revoke` form (RFC 7009 §2.1).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct RevocationForm {
    /// An access or refresh token.
    token: String,
    /// Which kind `token` is; a wrong or unknown hint is ignored.
    token_type_hint: Option<TokenTypeHintName>,
    /// The client, if it authenticates (`client_secret_post`, or a public client's id).
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    #[schema(format = Password)]
    client_secret: Option<String>,
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
