//! `grant_type=password` (RFC 6749 §4.3): the first-party login of a user by name and password.
//! Needs the issuer alone (its user store, hasher and throttle); throttled by client address.

use std::net::IpAddr;

use http::Response;
use secrecy::SecretString;

use crate::TokenIssuer;
use crate::oauth2::{ErrorResponse, error_response, token_response};
use crate::token::Scopes;

pub(super) async fn login(
    issuer: &TokenIssuer,
    address: IpAddr,
    username: &str,
    password: &SecretString,
    scope: Option<&Scopes>,
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    match issuer.login_from(address, username, password, scope).await {
        Ok(pair) => Ok(token_response(&pair)),
        Err(err) => Err(error_response(&err)),
    }
}
