//! RFC 6750: the `Authorization: Bearer` header and `WWW-Authenticate` challenges.

use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use super::ErrorResponse;
use crate::store::User;
use crate::token::{AccessClaims, Scopes, Verified};
use crate::{Error, TokenIssuer};

/// The realm in every challenge.
pub const REALM: &str = "tokenward";

/// Why no bearer token could be read from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header.
    #[error("no Authorization header")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>` (RFC 6750 §2.1 syntax), or more
    /// than one.
    #[error("Authorization header is not a single Bearer credential")]
    Malformed,
}

/// The token of the request's `Authorization: Bearer` header. The scheme is case-insensitive;
/// the token must match RFC 6750's `b64token` (the alphabet of a JWT).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(BearerError::Missing),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(BearerError::Malformed),
    };
    let value = value.to_str().map_err(|_| BearerError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(BearerError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Malformed);
    }
    let token = token.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let b64token = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    if body.is_empty() || !body.chars().all(b64token) {
        return Err(BearerError::Malformed);
    }
    Ok(token)
}

/// Escapes for a quoted-string (RFC 9110 §5.6.4), dropping characters RFC 6750 does not allow in
/// its attribute values.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| (' '..='~').contains(c)) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A `WWW-Authenticate: Bearer` challenge: `realm`, then `error`, `error_description` and
/// `scope` where given.
pub fn www_authenticate(
    error: Option<&str>,
    description: Option<&str>,
    scope: Option<&Scopes>,
) -> HeaderValue {
    let mut challenge = format!("Bearer realm={}", quoted(REALM));
    if let Some(error) = error {
        challenge.push_str(&format!(", error={}", quoted(error)));
    }
    if let Some(description) = description {
        challenge.push_str(&format!(", error_description={}", quoted(description)));
    }
    if let Some(scope) = scope {
        challenge.push_str(&format!(", scope={}", quoted(&scope.to_string())));
    }
    // Only printable ASCII went in, so this cannot fail; fall back to the bare challenge.
    HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// 401 for a request without usable credentials (no `Authorization: Bearer` header, or a
/// malformed one): the challenge names only the realm (RFC 6750 §3.1).
pub fn missing_token() -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        www_authenticate(None, None, None),
    );
    response
}

/// 403 `insufficient_scope` naming the scopes needed.
pub fn insufficient_scope(needed: &Scopes) -> Response<Vec<u8>> {
    let description = format!("this request needs the scope {needed}");
    ErrorResponse {
        www_authenticate: Some(www_authenticate(
            Some("insufficient_scope"),
            Some(&description),
            Some(needed),
        )),
        ..ErrorResponse::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
    }
    .into_response()
}

/// Authenticates a request to a protected endpoint: reads the Bearer token, validates it through
/// the issuer (signature, claims, revocation, user) and checks `required` scopes. The error is
/// the complete response to send: 401 with a challenge, 403 `insufficient_scope`, or 503 when a
/// store is down (never a 401 that would send every client back to log in).
pub async fn authenticate(
    issuer: &TokenIssuer,
    headers: &HeaderMap,
    required: &Scopes,
) -> Result<Verified<AccessClaims>, Response<Vec<u8>>> {
    let token = bearer_token(headers).map_err(|_| missing_token())?;
    let claims = issuer.validate(token).await.map_err(rejection_response)?;
    require_scope(claims, required)
}

/// [`authenticate`], also returning the user as stored, for handlers that need it; with one SQL
/// store for users and revocations this still costs a single statement.
pub async fn authenticate_user(
    issuer: &TokenIssuer,
    headers: &HeaderMap,
    required: &Scopes,
) -> Result<(Verified<AccessClaims>, User), Response<Vec<u8>>> {
    let token = bearer_token(headers).map_err(|_| missing_token())?;
    let (claims, user) = issuer
        .validate_user(token)
        .await
        .map_err(rejection_response)?;
    Ok((require_scope(claims, required)?, user))
}

// The error is the response to send, as in the public functions above; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn require_scope(
    claims: Verified<AccessClaims>,
    required: &Scopes,
) -> Result<Verified<AccessClaims>, Response<Vec<u8>>> {
    claims
        .scope
        .require(required)
        .map_err(|_| insufficient_scope(required))?;
    Ok(claims)
}

/// 401 `invalid_token` for a token that was presented and refused, saying why (RFC 6750 §3.1).
/// `reason` must not contain the token.
pub fn invalid_token(reason: &dyn std::fmt::Display) -> Response<Vec<u8>> {
    let description = reason.to_string();
    ErrorResponse {
        www_authenticate: Some(www_authenticate(
            Some("invalid_token"),
            Some(&description),
            None,
        )),
        ..ErrorResponse::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }
    .into_response()
}

fn rejection_response(err: Error) -> Response<Vec<u8>> {
    match err {
        Error::InvalidToken(rejection) => invalid_token(&rejection),
        other => super::error_response(&other).into_response(),
    }
}
