//! Parsing `application/x-www-form-urlencoded` token and revocation requests.

use std::collections::HashMap;
use std::fmt;

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use secrecy::SecretString;

use super::ErrorResponse;
use crate::TokenTypeHint;
use crate::token::Scopes;

/// The largest request body parsed, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A parsed token request.
pub enum TokenRequest {
    /// `grant_type=password` (RFC 6749 §4.3).
    Password {
        /// The username.
        username: String,
        /// The password.
        password: SecretString,
        /// Requested scopes; `None` when absent or empty.
        scope: Option<Scopes>,
    },
    /// `grant_type=refresh_token` (RFC 6749 §6).
    RefreshToken {
        /// The refresh token.
        refresh_token: SecretString,
        /// Requested (narrower) scopes; `None` when absent or empty.
        scope: Option<Scopes>,
    },
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password {
                username, scope, ..
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("scope", scope)
                .finish_non_exhaustive(),
            Self::RefreshToken { scope, .. } => f
                .debug_struct("RefreshToken")
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

/// A parsed revocation request (RFC 7009 §2.1).
pub struct RevocationRequest {
    /// The token to revoke.
    pub token: SecretString,
    /// The hint, if a known one was given (unknown hints are ignored, as RFC 7009 allows).
    pub hint: Option<TokenTypeHint>,
}

impl fmt::Debug for RevocationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationRequest")
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// The parameters of a form, each at most once; empty values count as absent (RFC 6749 §3.1).
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ErrorResponse> {
        let mut content_types = headers.get_all(CONTENT_TYPE).iter();
        let form_type = match (content_types.next(), content_types.next()) {
            (Some(value), None) => value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|media| {
                    media
                        .trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                }),
            _ => false,
        };
        if !form_type {
            return Err(ErrorResponse::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_FORM_BYTES {
            return Err(ErrorResponse::invalid_request(
                "the request body is too large",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.contains_key(name.as_ref()) {
                return Err(ErrorResponse::invalid_request(format!(
                    "parameter {} is repeated",
                    printable(&name)
                )));
            }
            params.insert(name.into_owned(), value.into_owned());
        }
        params.retain(|_, value| !value.is_empty());
        Ok(Self(params))
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    pub(crate) fn require(&mut self, name: &'static str) -> Result<String, ErrorResponse> {
        self.take(name).ok_or_else(|| {
            ErrorResponse::invalid_request(format!("the {name} parameter is missing"))
        })
    }

    pub(crate) fn scope(&mut self) -> Result<Option<Scopes>, ErrorResponse> {
        self.take("scope")
            .map(|text| Scopes::parse(&text))
            .transpose()
            .map_err(|err| ErrorResponse::invalid_scope(err.to_string()))
    }
}

/// A parameter name safe to echo in an error: ASCII graphic characters, at most 40.
fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .take(40)
        .collect()
}

/// Parses a token request body (RFC 6749 §4.3, §6).
pub fn parse_token_request(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenRequest, ErrorResponse> {
    let mut form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?;
    match grant_type.as_str() {
        "password" => Ok(TokenRequest::Password {
            username: form.require("username")?,
            password: SecretString::from(form.require("password")?),
            scope: form.scope()?,
        }),
        "refresh_token" => Ok(TokenRequest::RefreshToken {
            refresh_token: SecretString::from(form.require("refresh_token")?),
            scope: form.scope()?,
        }),
        _ => Err(ErrorResponse::unsupported_grant_type()),
    }
}

/// Parses a revocation request body (RFC 7009 §2.1).
pub fn parse_revocation_request(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<RevocationRequest, ErrorResponse> {
    let mut form = Form::parse(headers, body)?;
    let token = SecretString::from(form.require("token")?);
    let hint = match form.take("token_type_hint").as_deref() {
        Some("access_token") => Some(TokenTypeHint::AccessToken),
        Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
        _ => None,
    };
    Ok(RevocationRequest { token, hint })
}
