//! `grant_type=password` (RFC 6749 §4.3): the first-party login of a user by name and password.
//! Needs the issuer alone (its user store, hasher and throttle); throttled by client address.
//! Open to requests without a client (the deployment's own app) and to clients registered
//! with the `password` grant type.

use std::net::IpAddr;

use http::Response;
use secrecy::SecretString;

use crate::TokenIssuer;
use crate::oauth2::{ErrorResponse, error_response, token_response};
use crate::provider::Client;
use crate::token::Scopes;

/// What the request asks for.
pub(super) struct Login<'a> {
    pub(super) username: &'a str,
    pub(super) password: &'a SecretString,
    pub(super) scope: Option<&'a Scopes>,
}

/// Logs `login.username` in from `address`, for `client` when one authenticated (registered
/// for the password grant: the tokens are bound to it) or for the deployment itself.
pub(super) async fn login(
    issuer: &TokenIssuer,
    address: IpAddr,
    login: Login<'_>,
    client: Option<&Client>,
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let Login {
        username,
        password,
        scope,
    } = login;
    let result = match client {
        Some(client) => {
            issuer
                .login_for_client(address, username, password, scope, client)
                .await
        }
        None => issuer.login_from(address, username, password, scope).await,
    };
    match result {
        Ok(pair) => Ok(token_response(&pair)),
        Err(err) => Err(error_response(&err)),
    }
}
