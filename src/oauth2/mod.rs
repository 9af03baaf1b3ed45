//! The OAuth 2.0 pieces every server needs, without a web framework: parsing token and
//! revocation requests (RFC 6749 §4.3 and §6, RFC 7009), the JSON responses and errors
//! (RFC 6749 §5), and Bearer authentication (RFC 6750) with its `WWW-Authenticate` challenges.
//!
//! A server hands bytes and headers in and gets an [`http::Response`] out, so a `/token` handler
//! is a few lines in any framework:
//!
//! ```
//! # async fn handler(
//! #     issuer: tokenward::TokenIssuer,
//! #     peer: std::net::SocketAddr,
//! #     headers: http::HeaderMap,
//! #     body: Vec<u8>,
//! # ) {
//! // Behind a reverse proxy, list it so its X-Forwarded-For names the client.
//! let trusted_proxies = [];
//! let client = tokenward::oauth2::client_address(peer.ip(), &headers, &trusted_proxies);
//! let response: http::Response<Vec<u8>> =
//!     tokenward::oauth2::token_endpoint(&issuer, client, &headers, &body).await;
//! # }
//! ```

mod bearer;
mod client_address;
mod endpoints;
mod form;
#[cfg(feature = "openapi")]
pub mod openapi;
mod required_scope;
mod response;

pub use bearer::{
    BearerError, REALM, authenticate, authenticate_user, bearer_token, insufficient_scope,
    invalid_token, missing_token, www_authenticate,
};
pub use client_address::client_address;
pub use endpoints::Endpoints;
pub(crate) use form::Form;
pub use form::{
    MAX_FORM_BYTES, RevocationRequest, TokenRequest, parse_revocation_request, parse_token_request,
};
pub use required_scope::{AnyScope, RequiredScope};
pub(crate) use response::json_response;
pub use response::{ErrorResponse, error_response, jwks_response, token_response};

use std::net::IpAddr;

use http::{HeaderMap, Response, StatusCode};

use crate::TokenIssuer;

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/token",
    tag = "oauth2",
    request_body(content = openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A new access and refresh token", body = response::TokenBody,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "`invalid_request`, `invalid_grant` (wrong password, used or revoked refresh token), `invalid_scope`, `unsupported_grant_type`", body = response::ErrorBody),
        (status = 413, description = "The form is larger than 16 KiB", body = response::ErrorBody),
        (status = 429, description = "Too many attempts for this username or client address", body = response::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt may succeed"))),
        (status = 503, description = "A store does not answer, or too many logins are waiting for the password hasher", body = response::ErrorBody,
            headers(("Retry-After" = u64))),
    )
))]
/// Handles `POST /token` from `client` (the peer address, or [`client_address`] behind a
/// trusted proxy, which password logins are also throttled by): parses the form, runs the
/// grant, and builds the RFC 6749 response (`Cache-Control: no-store` on every answer).
pub async fn token_endpoint(
    issuer: &TokenIssuer,
    client: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Vec<u8>> {
    let request = match parse_token_request(headers, body) {
        Ok(request) => request,
        Err(err) => return err.into_response(),
    };
    let result = match &request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            issuer
                .login_from(client, username, password, scope.as_ref())
                .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            issuer
                .refresh(
                    secrecy::ExposeSecret::expose_secret(refresh_token),
                    scope.as_ref(),
                )
                .await
        }
    };
    match result {
        Ok(pair) => token_response(&pair),
        Err(err) => error_response(&err).into_response(),
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/revoke",
    tag = "oauth2",
    request_body(content = openapi::RevocationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or not a token this server would accept (RFC 7009 §2.2)"),
        (status = 400, description = "No `token` in the form", body = response::ErrorBody),
        (status = 413, description = "The form is larger than 16 KiB", body = response::ErrorBody),
        (status = 503, description = "A store does not answer", body = response::ErrorBody,
            headers(("Retry-After" = u64))),
    )
))]
/// Handles `POST /revoke` (RFC 7009): 200 with an empty body for any token, valid or not.
pub async fn revocation_endpoint(
    issuer: &TokenIssuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Vec<u8>> {
    let request = match parse_revocation_request(headers, body) {
        Ok(request) => request,
        Err(err) => return err.into_response(),
    };
    match issuer
        .revoke(
            secrecy::ExposeSecret::expose_secret(&request.token),
            request.hint,
        )
        .await
    {
        Ok(()) => {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = StatusCode::OK;
            response
        }
        Err(err) => error_response(&err).into_response(),
    }
}
