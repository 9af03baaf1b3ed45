//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): redeems a code the
//! authorization endpoint issued. Needs the code store and the authenticated client. The code
//! is spent first, whatever follows: any failure burns it (RFC 9700 §4.5), and a second
//! presentation revokes what the first produced.

use http::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use crate::TokenIssuer;
use crate::error::Error;
use crate::oauth2::{ErrorResponse, TokenBody, error_response};
use crate::provider::openid::id_token;
use crate::provider::{AuthorizationStore, Client, CodeRedemption, GrantType, secret_digest};

/// The parameters of one exchange.
pub(super) struct Exchange<'a> {
    pub(super) code: &'a SecretString,
    pub(super) redirect_uri: Option<&'a str>,
    pub(super) code_verifier: Option<&'a SecretString>,
}

fn invalid_grant(description: &'static str) -> ErrorResponse {
    ErrorResponse::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(super) async fn exchange(
    issuer: &TokenIssuer,
    codes: &dyn AuthorizationStore,
    client: &Client,
    exchange: Exchange<'_>,
) -> Result<Response<Vec<u8>>, ErrorResponse> {
    let unavailable = |e| error_response(&Error::from(e));
    let redemption = codes
        .redeem_code(&secret_digest(exchange.code.expose_secret()))
        .await
        .map_err(unavailable)?;
    let grant = match redemption {
        CodeRedemption::Redeemed(grant) => grant,
        CodeRedemption::Replayed(grant) => {
            issuer
                .revoke_code_tokens(&grant)
                .await
                .map_err(|e| error_response(&e))?;
            return Err(invalid_grant("the authorization code was already used"));
        }
        CodeRedemption::Unknown => {
            return Err(invalid_grant(
                "the authorization code is invalid or expired",
            ));
        }
    };
    let now = issuer.codec().clock().now().unix_timestamp();
    if grant.expires_at < now {
        return Err(invalid_grant("the authorization code has expired"));
    }
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if exchange.redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    // The registration as it is now: a redirect URI or scopes taken from the client since the
    // code was issued are not honoured.
    if !client.redirect_uri_matches(&grant.redirect_uri) {
        return Err(invalid_grant(
            "the redirect URI is no longer registered for this client",
        ));
    }
    let mut grant = grant;
    grant.scope = grant.scope.intersection(&client.scopes);
    if grant.scope.is_empty() {
        return Err(invalid_grant("no scope of this code is still granted"));
    }
    let challenge = grant.challenge().map_err(unavailable)?;
    // No verifier is a failure too: a code always has a challenge (no PKCE downgrade).
    let verifier = exchange
        .code_verifier
        .map(|v| v.expose_secret())
        .unwrap_or_default();
    if challenge.verify(verifier).is_err() {
        return Err(invalid_grant("code_verifier does not match the challenge"));
    }
    let pair = match issuer.issue_for_code(&grant).await {
        Ok(pair) => pair,
        Err(Error::InvalidGrant(_)) => {
            return Err(invalid_grant(
                "the login this code records is no longer valid",
            ));
        }
        Err(err) => return Err(error_response(&err)),
    };
    let id_token = id_token(issuer, &grant, &pair)?;
    Ok(TokenBody {
        access_token: pair.access_token.expose_secret(),
        token_type: "Bearer",
        expires_in: pair.expires_in,
        // A client that may not refresh gets no refresh token to leak.
        refresh_token: client
            .allows(GrantType::RefreshToken)
            .then(|| pair.refresh_token.expose_secret()),
        scope: pair.scope.to_string(),
        id_token: id_token.as_deref(),
    }
    .into_response())
}
