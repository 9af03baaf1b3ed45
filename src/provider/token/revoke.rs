//! `POST /revoke` (RFC 7009): any caller, and a client that presents credentials must pass
//! authentication. 200 with an empty body for any token, valid or not (§2.2).

use http::{HeaderMap, Response};
use secrecy::ExposeSecret;

use super::{RevocationRequest, TokenEndpoint};
use crate::oauth2::{ErrorResponse, error_response};

pub(super) async fn revoke(
    endpoint: &TokenEndpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let RevocationRequest {
        client,
        token,
        hint,
    } = RevocationRequest::parse(headers, body)?;
    endpoint.clients().optional(&client).await?;
    endpoint
        .issuer()
        .revoke(token.expose_secret(), hint)
        .await
        .map_err(|e| error_response(&e))?;
    Ok(Response::new(Vec::new()))
}
