//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for itself.
//! Needs the issuer (for the user store's "is this id a user's?" check and the cutoffs) and the
//! authenticated client.

use http::Response;
use secrecy::ExposeSecret;

use crate::TokenIssuer;
use crate::oauth2::{ErrorResponse, TokenBody, error_response};
use crate::provider::Client;
use crate::token::Scopes;

pub(super) async fn issue(
    issuer: &TokenIssuer,
    client: &Client,
    requested: Option<Scopes>,
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let scope = match requested {
        None => client.scopes.clone(),
        Some(scope) if scope.is_subset(&client.scopes) => scope,
        Some(_) => {
            return Err(ErrorResponse::invalid_scope(
                "the client may not have these scopes",
            ));
        }
    };
    // openid, profile and email are about a user; a client acting for itself has none to ask
    // about.
    let without_identity = scope.difference(&Scopes::identity());
    if without_identity.is_empty() && !scope.is_empty() {
        return Err(ErrorResponse::invalid_scope(
            "OpenID scopes need a user: use the authorization code flow",
        ));
    }
    let token = issuer
        .issue_for_client(&client.client_id, &without_identity)
        .await
        .map_err(|e| error_response(&e))?;
    Ok(TokenBody {
        access_token: token.access_token.expose_secret(),
        token_type: "Bearer",
        expires_in: token.expires_in,
        refresh_token: None,
        scope: token.claims.scope.to_string(),
        id_token: None,
    }
    .into_response())
}
