//! `grant_type=refresh_token` (RFC 6749 §6): rotation with reuse detection. Needs the issuer
//! alone. A token issued to a client is redeemed only by that client, for no more than the
//! client's registration allows today; one from the password grant without a client only
//! without a client.

use http::Response;
use secrecy::{ExposeSecret, SecretString};

use crate::TokenIssuer;
use crate::oauth2::{ErrorResponse, error_response, token_response};
use crate::provider::Client;
use crate::token::Scopes;

pub(super) async fn rotate(
    issuer: &TokenIssuer,
    client: Option<&Client>,
    refresh_token: &SecretString,
    scope: Option<&Scopes>,
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    match issuer
        .refresh_for(refresh_token.expose_secret(), scope, client)
        .await
    {
        Ok(pair) => Ok(token_response(&pair)),
        Err(err) => Err(error_response(&err)),
    }
}
