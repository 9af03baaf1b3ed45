//! The client side of the authorization server: `POST /token` with client authentication and
//! every grant (authorization code, client credentials, refresh bound to its client, and the
//! first-party password grant), `POST /revoke` and `POST /introspect` (RFC 7662).

use std::net::IpAddr;

use http::header::HeaderValue;
use http::{HeaderMap, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::server::AuthorizationServer;
use super::{Client, CodeRedemption, GrantType, PresentedClient, presented_client, secret_digest};
use crate::error::Error;
use crate::oauth2::{ErrorResponse, Form, error_response, token_response};
use crate::password::PasswordHash;
use crate::token::Scopes;
use crate::{TokenPair, TokenTypeHint};

/// An OAuth error about the client (RFC 6749 §5.2 `invalid_client`): 401, with a Basic
/// challenge when the client tried Basic.
fn invalid_client(used_basic: bool) -> ErrorResponse {
    let mut error = ErrorResponse::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if used_basic {
        error.www_authenticate = Some(HeaderValue::from_static("Basic realm=\"tokenward\""));
    }
    error
}

fn invalid_grant(description: &'static str) -> ErrorResponse {
    ErrorResponse::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn unauthorized_client() -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "this client may not use this grant type",
    )
}

/// The body of a token response with an optional refresh token (client credentials get none).
#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

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

fn json(status: StatusCode, body: &impl Serialize) -> Response<Vec<u8>> {
    match serde_json::to_vec(body) {
        Ok(bytes) => crate::oauth2::json_response(status, bytes),
        Err(_) => ErrorResponse::server_error().into_response(),
    }
}

/// A form with its client credentials read.
struct ClientForm {
    form: Form,
    presented: PresentedClient,
}

fn client_form(headers: &HeaderMap, body: &[u8]) -> Result<ClientForm, ErrorResponse> {
    let mut form = Form::parse(headers, body)?;
    let client_id = form.take("client_id");
    let secret = form.take("client_secret").map(SecretString::from);
    let presented = presented_client(
        headers,
        client_id.as_deref(),
        secret.as_ref().map(|s| s.expose_secret()),
    )
    .map_err(|e| match e {
        super::ClientAuthError::MalformedBasic => invalid_client(true),
        other => ErrorResponse::invalid_request(other.to_string()),
    })?;
    Ok(ClientForm { form, presented })
}

impl AuthorizationServer {
    /// Authenticates the presented client: `Ok(None)` when none was presented, the client when
    /// its secret verifies (argon2, constant time) or it is public and presented only its id.
    /// Unknown clients cost a dummy verification, so timing does not tell them apart.
    async fn authenticate_client(
        &self,
        presented: &PresentedClient,
    ) -> Result<Option<Client>, ErrorResponse> {
        let used_basic = presented.used_basic();
        let Some(client_id) = presented.client_id() else {
            return Ok(None);
        };
        let client = self
            .inner
            .clients
            .find_client(client_id)
            .await
            .map_err(|e| error_response(&Error::from(e)))?;
        let hasher = self.inner.issuer.hasher();
        match presented {
            PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. } => {
                let stored = client
                    .as_ref()
                    .and_then(|c| c.secret_hash.as_deref())
                    .and_then(|h| PasswordHash::parse(h).ok());
                let verified = match &stored {
                    Some(hash) => hasher.verify_async(secret, hash).await,
                    None => hasher.verify_dummy_async(secret).await.map(|_| false),
                };
                match verified {
                    Ok(true) => Ok(client),
                    Ok(false) => Err(invalid_client(used_basic)),
                    Err(err) => Err(error_response(&Error::Password(err))),
                }
            }
            PresentedClient::Public { .. } => match client {
                Some(client) if !client.is_confidential() => Ok(Some(client)),
                _ => Err(invalid_client(false)),
            },
            PresentedClient::None => Ok(None),
        }
    }

    /// `POST /token` from `address` (the client's address, for the password grant's throttle).
    pub async fn token(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        match self.token_steps(address, headers, body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    async fn token_steps(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response<Vec<u8>>, ErrorResponse> {
        let ClientForm {
            mut form,
            presented,
        } = client_form(headers, body)?;
        let grant_type = form.require("grant_type")?;
        let known = matches!(
            grant_type.as_str(),
            "authorization_code" | "client_credentials" | "refresh_token"
        ) || (grant_type == "password" && self.inner.password_grant);
        if !known {
            return Err(self.unsupported_grant_type());
        }
        let client = self.authenticate_client(&presented).await?;
        let issuer = &self.inner.issuer;
        let pair_or = |result: Result<TokenPair, Error>| match result {
            Ok(pair) => Ok(token_response(&pair)),
            Err(err) => Err(error_response(&err)),
        };
        match grant_type.as_str() {
            "authorization_code" => {
                let code = SecretString::from(form.require("code")?);
                let redirect_uri = form.take("redirect_uri");
                let verifier = form.take("code_verifier");
                let Some(client) = client else {
                    return Err(invalid_client(false));
                };
                if !client.allows(GrantType::AuthorizationCode) {
                    return Err(unauthorized_client());
                }
                self.exchange_code(&client, &code, redirect_uri.as_deref(), verifier.as_deref())
                    .await
            }
            "client_credentials" => {
                let scope = form.scope()?;
                let Some(client) = client.filter(Client::is_confidential) else {
                    return Err(invalid_client(presented.used_basic()));
                };
                if !client.allows(GrantType::ClientCredentials) {
                    return Err(unauthorized_client());
                }
                let scope = match scope {
                    None => client.scopes.clone(),
                    Some(scope) if scope.is_subset(&client.scopes) => scope,
                    Some(_) => {
                        return Err(ErrorResponse::invalid_scope(
                            "the client may not have these scopes",
                        ));
                    }
                };
                // openid, profile and email are about a user; a client acting for itself has
                // none to ask about.
                let asked = scope;
                let scope = asked.difference(&Scopes::identity());
                if scope.is_empty() && !asked.is_empty() {
                    return Err(ErrorResponse::invalid_scope(
                        "OpenID scopes need a user: use the authorization code flow",
                    ));
                }
                let token = issuer
                    .issue_for_client(&client.client_id, &scope)
                    .await
                    .map_err(|e| error_response(&e))?;
                Ok(json(
                    StatusCode::OK,
                    &TokenBody {
                        access_token: token.access_token.expose_secret(),
                        token_type: "Bearer",
                        expires_in: token.expires_in,
                        refresh_token: None,
                        scope: token.claims.scope.to_string(),
                        id_token: None,
                    },
                ))
            }
            "refresh_token" => {
                let token = SecretString::from(form.require("refresh_token")?);
                let scope = form.scope()?;
                if client
                    .as_ref()
                    .is_some_and(|c| !c.allows(GrantType::RefreshToken))
                {
                    return Err(unauthorized_client());
                }
                pair_or(
                    issuer
                        .refresh_for(
                            token.expose_secret(),
                            scope.as_ref(),
                            client.as_ref().map(|c| c.client_id.as_str()),
                        )
                        .await,
                )
            }
            "password" if self.inner.password_grant => {
                let username = form.require("username")?;
                let password = SecretString::from(form.require("password")?);
                let scope = form.scope()?;
                pair_or(
                    issuer
                        .login_from(address, &username, &password, scope.as_ref())
                        .await,
                )
            }
            _ => Err(self.unsupported_grant_type()),
        }
    }

    fn unsupported_grant_type(&self) -> ErrorResponse {
        ErrorResponse::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            if self.inner.password_grant {
                "grant_type must be authorization_code, refresh_token, client_credentials or password"
            } else {
                "grant_type must be authorization_code, refresh_token or client_credentials"
            },
        )
    }

    /// Redeems a code. It is spent first, whatever follows: any failure burns it (RFC 9700
    /// §4.5), and a second presentation revokes what the first produced.
    async fn exchange_code(
        &self,
        client: &Client,
        code: &SecretString,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Response<Vec<u8>>, ErrorResponse> {
        let issuer = &self.inner.issuer;
        let unavailable = |e| error_response(&Error::from(e));
        let redemption = self
            .inner
            .store
            .redeem_code(&secret_digest(code.expose_secret()))
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
        if grant.expires_at < self.now() {
            return Err(invalid_grant("the authorization code has expired"));
        }
        if grant.client_id != client.client_id {
            return Err(invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        // The registration as it is now: a redirect URI or scopes taken from the client since
        // the code was issued are not honoured.
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
        if challenge.verify(verifier.unwrap_or_default()).is_err() {
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
        let id_token = self.id_token(&grant, &pair)?;
        Ok(json(
            StatusCode::OK,
            &TokenBody {
                access_token: pair.access_token.expose_secret(),
                token_type: "Bearer",
                expires_in: pair.expires_in,
                // A client that may not refresh gets no refresh token to leak.
                refresh_token: client
                    .allows(GrantType::RefreshToken)
                    .then(|| pair.refresh_token.expose_secret()),
                scope: pair.scope.to_string(),
                id_token: id_token.as_deref(),
            },
        ))
    }

    /// `POST /revoke` (RFC 7009): as [`crate::oauth2::revocation_endpoint`], and a client that
    /// presents credentials must pass authentication.
    pub async fn revoke(&self, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        let result = async {
            let ClientForm {
                mut form,
                presented,
            } = client_form(headers, body)?;
            let token = SecretString::from(form.require("token")?);
            let hint = match form.take("token_type_hint").as_deref() {
                Some("access_token") => Some(TokenTypeHint::AccessToken),
                Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
                _ => None,
            };
            self.authenticate_client(&presented).await?;
            self.inner
                .issuer
                .revoke(token.expose_secret(), hint)
                .await
                .map_err(|e| error_response(&e))
        }
        .await;
        match result {
            Ok(()) => Response::new(Vec::new()),
            Err(error) => error.into_response(),
        }
    }

    /// `POST /introspect` (RFC 7662), for confidential clients only.
    pub async fn introspect(&self, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        match self.introspect_steps(headers, body).await {
            Ok(answer) => json(StatusCode::OK, &answer),
            Err(error) => error.into_response(),
        }
    }

    async fn introspect_steps(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Introspection, ErrorResponse> {
        let ClientForm {
            mut form,
            presented,
        } = client_form(headers, body)?;
        let token = SecretString::from(form.require("token")?);
        let hint_refresh = form.take("token_type_hint").as_deref() == Some("refresh_token");
        let Some(client) = self
            .authenticate_client(&presented)
            .await?
            .filter(Client::is_confidential)
        else {
            let mut error = invalid_client(presented.used_basic());
            // RFC 7662 §2.1: the endpoint requires authentication; say how.
            error.www_authenticate = Some(HeaderValue::from_static("Basic realm=\"tokenward\""));
            return Err(error);
        };
        let issuer = &self.inner.issuer;
        let token = token.expose_secret();
        let access = async {
            match issuer.validate(token).await {
                Ok(claims) => {
                    let username = match claims.user_id() {
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
        Ok(found.unwrap_or_default())
    }
}
