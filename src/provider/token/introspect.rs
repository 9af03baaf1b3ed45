//! `POST /introspect` (RFC 7662), for confidential clients only: what the server knows of an
//! access token, or of a refresh token of the calling client. A client registered as a resource
//! server may ask about any access token and learns its user's `username`; any other client
//! only about tokens issued to it (RFC 7662 §4: a client must not learn about tokens it could
//! not use). An inactive token, or one the caller may not ask about, is exactly
//! `{"active": false}`.

use std::net::IpAddr;

use http::{HeaderMap, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::{IntrospectionRequest, TokenEndpoint};
use crate::TokenTypeHint;
use crate::error::Error;
use crate::oauth2::{ErrorResponse, error_response, json_response};

/// RFC 7662 §2.2. An inactive token is exactly `{"active": false}`.
#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

pub(super) async fn introspect(
    endpoint: &TokenEndpoint,
    address: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let IntrospectionRequest {
        client,
        token,
        hint,
    } = IntrospectionRequest::parse(headers, body)?;
    let hint_refresh = hint == Some(TokenTypeHint::RefreshToken);
    let client = endpoint
        .clients(address)
        .confidential(&client, true)
        .await?;
    let resource_server = endpoint.is_resource_server(&client);
    let issuer = endpoint.issuer();
    let token = token.expose_secret();
    let access = async {
        match issuer.validate(token).await {
            Ok(claims)
                if !resource_server
                    && claims.client_id.as_deref() != Some(client.client_id.as_str()) =>
            {
                Ok(None)
            }
            Ok(claims) => {
                let username = match claims.user_id().filter(|_| resource_server) {
                    Some(id) => issuer
                        .users()
                        .find_by_id(id)
                        .await
                        .map_err(|e| error_response(&Error::from(e)))?
                        .map(|u| u.username),
                    None => None,
                };
                Ok(Some(Introspection {
                    active: true,
                    scope: Some(claims.scope.to_string()),
                    client_id: claims.client_id.clone(),
                    username,
                    token_type: Some("Bearer"),
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    nbf: claims.nbf,
                    sub: Some(claims.sub.clone()),
                    aud: Some(claims.aud.clone()),
                    iss: Some(claims.iss.clone()),
                    jti: Some(claims.jti.clone()),
                }))
            }
            Err(Error::Unavailable(e)) => Err(error_response(&Error::Unavailable(e))),
            Err(_) => Ok(None),
        }
    };
    let refresh = async {
        match issuer.inspect_refresh(token, &client.client_id).await {
            Ok(Some(claims)) => Ok(Some(Introspection {
                active: true,
                scope: Some(claims.scope.to_string()),
                client_id: claims.client_id.clone(),
                username: None,
                token_type: Some("refresh_token"),
                exp: Some(claims.exp.min(claims.session_exp)),
                iat: Some(claims.iat),
                nbf: None,
                sub: Some(claims.sub.clone()),
                aud: Some(vec![claims.aud.clone()]),
                iss: Some(claims.iss.clone()),
                jti: Some(claims.jti.clone()),
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(error_response(&e)),
        }
    };
    // The hint only picks the order (RFC 7662 §2.1).
    let found = if hint_refresh {
        match refresh.await? {
            Some(found) => Some(found),
            None => access.await?,
        }
    } else {
        match access.await? {
            Some(found) => Some(found),
            None => refresh.await?,
        }
    };
    match serde_json::to_vec(&found.unwrap_or_default()) {
        Ok(body) => Ok(json_response(StatusCode::OK, body)),
        Err(_) => Err(ErrorResponse::server_error()),
    }
}
