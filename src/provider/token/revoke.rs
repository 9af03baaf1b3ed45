//! `POST /revoke` (RFC 7009): any caller, and a client that presents credentials must pass
//! authentication. A token issued to a client is revoked only by that client (§2.1); one
//! issued to none (the password grant) by any caller. 200 with an empty body for any token,
//! valid or not, revoked or left alone (§2.2).

use std::net::IpAddr;

use http::{HeaderMap, Response};
use secrecy::ExposeSecret;

use super::{RevocationRequest, TokenEndpoint};
use crate::oauth2::{ErrorResponse, error_response};

pub(super) async fn revoke(
    endpoint: &TokenEndpoint,
    address: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let RevocationRequest {
        client,
        token,
        hint,
    } = RevocationRequest::parse(headers, body)?;
    let client = endpoint.clients(address).optional(&client).await?;
    let client_id = client.as_ref().map(|c| c.client_id.as_str());
    endpoint
        .issuer()
        .revoke_for(token.expose_secret(), hint, client_id)
        .await
        .map_err(|e| error_response(&e))?;
    Ok(Response::new(Vec::new()))
}
