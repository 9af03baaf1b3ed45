//! RFC 6749 §5 responses: the token JSON, error JSON, and the mapping from [`Error`] to status.

use std::borrow::Cow;

use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::{Error, TokenIssuer, TokenPair};

/// How long a client should wait before retrying when a store is down.
const UNAVAILABLE_RETRY_SECS: u64 = 5;
/// How long a client should wait before retrying when the password hasher's queue is full.
const BUSY_RETRY_SECS: u64 = 1;

/// An OAuth error response: status, `error` code, human `error_description`, and the headers that
/// go with some of them. Its text never contains a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// The RFC 6749 / RFC 6750 error code.
    pub error: &'static str,
    /// Human-readable description.
    pub description: Cow<'static, str>,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate` challenge (401, 403).
    pub www_authenticate: Option<HeaderValue>,
}

/// An error's JSON body (RFC 6749 §5.2).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub struct ErrorBody<'a> {
    /// The error code.
    error: &'a str,
    /// What went wrong, for humans; never a secret.
    error_description: &'a str,
}

/// A successful token response's JSON body (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TokenResponse))]
pub struct TokenBody<'a> {
    /// An RFC 9068 JWT for `Authorization: Bearer`.
    pub(crate) access_token: &'a str,
    /// Always `Bearer`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^Bearer$"))]
    pub(crate) token_type: &'static str,
    /// Seconds until the access token expires.
    pub(crate) expires_in: u64,
    /// Single use: spending it at `/token` returns a new pair. Absent for client credentials
    /// and for clients whose registration does not allow the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<&'a str>,
    /// The granted scopes, space-delimited.
    pub(crate) scope: String,
    /// The OpenID Connect id_token (an RS256 JWT), when the code exchange granted `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<&'a str>,
}

impl TokenBody<'_> {
    /// The 200 response carrying this body.
    pub(crate) fn into_response(self) -> Response<Vec<u8>> {
        match serde_json::to_vec(&self) {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(_) => ErrorResponse::server_error().into_response(),
        }
    }
}

impl ErrorResponse {
    /// An error with `status`, the `error` code and a description for humans.
    pub fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// 400 `unsupported_grant_type`: a grant this server does not know, or one this
    /// deployment turned off (discovery's `grant_types_supported` lists the others).
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "this server does not offer this grant_type",
        )
    }

    /// The 500 of a fault inside the server: nothing the client can act on, and no detail it
    /// should see.
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server could not complete the request",
        )
    }

    /// 503 `temporarily_unavailable` with `Retry-After`.
    pub fn temporarily_unavailable(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            retry_after: Some(UNAVAILABLE_RETRY_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                description,
            )
        }
    }

    /// The HTTP response: JSON body `{"error", "error_description"}`, `Cache-Control: no-store`,
    /// and `Retry-After` / `WWW-Authenticate` where set.
    pub fn into_response(self) -> Response<Vec<u8>> {
        let body = serde_json::to_vec(&ErrorBody {
            error: self.error,
            error_description: &error_description(&self.description),
        })
        .unwrap_or_default();
        let mut response = json_response(self.status, body);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.www_authenticate {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// `description` within the characters RFC 6749 §5.2 allows in `error_description`
/// (`%x20-21 / %x23-5B / %x5D-7E`: printable ASCII without `"` and `\`), anything else
/// replaced by `?`. The descriptions are the server's own fixed words; this makes the rule
/// hold for any an application adds.
pub(crate) fn error_description(description: &str) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if description.chars().all(allowed) {
        Cow::Borrowed(description)
    } else {
        Cow::Owned(
            description
                .chars()
                .map(|c| if allowed(c) { c } else { '?' })
                .collect(),
        )
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The 200 response to a successful token request (RFC 6749 §5.1).
pub fn token_response(pair: &TokenPair) -> Response<Vec<u8>> {
    TokenBody {
        access_token: pair.access_token.expose_secret(),
        token_type: "Bearer",
        expires_in: pair.expires_in,
        refresh_token: Some(pair.refresh_token.expose_secret()),
        scope: pair.scope.to_string(),
        id_token: None,
    }
    .into_response()
}

/// Maps an issuer error from the token or revocation endpoint to its OAuth error response.
pub fn error_response(err: &Error) -> ErrorResponse {
    match err {
        Error::InvalidCredentials => ErrorResponse::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "invalid username or password",
        ),
        Error::InvalidGrant(_) | Error::InvalidToken(_) => ErrorResponse::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the refresh token is invalid, expired or revoked",
        ),
        // Not the scope names: they are what the caller asked for.
        Error::InvalidScope { .. } => {
            ErrorResponse::invalid_scope("a requested scope is not available")
        }
        Error::MalformedScope(err) => ErrorResponse::invalid_scope(err.to_string()),
        Error::Throttled { retry_after_secs } => ErrorResponse {
            retry_after: Some(*retry_after_secs),
            ..ErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed login attempts; try again later",
            )
        },
        Error::WeakPassword(violation) => ErrorResponse::invalid_request(violation.to_string()),
        Error::Unavailable(_) => ErrorResponse::temporarily_unavailable(
            "a backing store is not answering; try again shortly",
        ),
        Error::Busy => ErrorResponse {
            retry_after: Some(BUSY_RETRY_SECS),
            ..ErrorResponse::temporarily_unavailable(
                "too many logins in progress; try again shortly",
            )
        },
        Error::UnknownUser => {
            ErrorResponse::new(StatusCode::NOT_FOUND, "invalid_request", "no such user")
        }
        // Internal faults: nothing the client can act on, and no detail it should see.
        _ => ErrorResponse::server_error(),
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "oauth2",
    responses(
        (status = 200, description = "The public keys tokens are signed with; empty for HMAC keys", body = crate::keys::Jwks),
    )
))]
/// `GET /.well-known/jwks.json`: the issuer's public keys (RFC 7517). Resource servers may cache
/// it for five minutes; one that meets a token with an unknown `kid` fetches it again.
pub fn jwks_response(issuer: &TokenIssuer) -> Response<Vec<u8>> {
    let Ok(body) = serde_json::to_vec(&issuer.jwks()) else {
        return ErrorResponse::server_error().into_response();
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
