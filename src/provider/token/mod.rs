//! The token endpoint, and the revocation and introspection endpoints beside it: one
//! implementation whatever the deployment configured. A server without registered clients is
//! this endpoint with an empty client store and no code store, not a second implementation.
//!
//! `POST /token` parses the whole request ([`TokenRequest::parse`]), refuses a grant this
//! deployment does not offer, authenticates the client as the grant demands
//! ([`super::client_auth`]), and hands over to the grant's own module, which takes only the
//! stores it needs: [`password`], [`refresh`], [`code`], [`client_credentials`].

mod client_credentials;
mod code;
mod introspect;
mod password;
mod refresh;
mod request;
mod revoke;

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, Response};

pub use request::{IntrospectionRequest, RevocationRequest, TokenGrant, TokenRequest};

use super::client_auth::ClientVerifier;
use super::{AuthorizationStore, Client, ClientStore, GrantType};
use crate::TokenIssuer;
use crate::oauth2::ErrorResponse;

/// The token, revocation and introspection endpoints over `http` types. Cheap to clone.
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: TokenIssuer,
    clients: Arc<dyn ClientStore>,
    /// Where authorization codes are redeemed; without it the code grant is not offered.
    codes: Option<Arc<dyn AuthorizationStore>>,
    password_grant: bool,
    /// The clients that may introspect any token.
    resource_servers: HashSet<String>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("code_grant", &self.inner.codes.is_some())
            .field("password_grant", &self.inner.password_grant)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// The endpoint of `issuer` with the clients of `clients`, codes redeemed from `codes`
    /// (`None`: no code grant), the password grant on or off, and the clients that are
    /// resource servers (introspection).
    pub(crate) fn new(
        issuer: TokenIssuer,
        clients: Arc<dyn ClientStore>,
        codes: Option<Arc<dyn AuthorizationStore>>,
        password_grant: bool,
        resource_servers: HashSet<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                issuer,
                clients,
                codes,
                password_grant,
                resource_servers,
            }),
        }
    }

    /// The endpoint of a server that registers no clients: the password and refresh grants
    /// (client credentials and introspection then find no client).
    pub(crate) fn without_clients(issuer: TokenIssuer) -> Self {
        Self::new(
            issuer,
            Arc::new(crate::store::memory::MemoryClientStore::new()),
            None,
            true,
            HashSet::new(),
        )
    }

    /// `POST /token` from `address` (the client's address: the password grant and client
    /// authentication throttle by it).
    pub(crate) async fn token(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        match self.grant(address, headers, body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    async fn grant(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response<Vec<u8>>, ErrorResponse> {
        let TokenRequest { client, grant } = TokenRequest::parse(headers, body)?;
        let inner = &self.inner;
        let issuer = &inner.issuer;
        let clients = self.clients(address);
        match grant {
            TokenGrant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                let Some(codes) = &inner.codes else {
                    return Err(ErrorResponse::unsupported_grant_type());
                };
                let client = clients.registered(&client).await?;
                allowed(&client, GrantType::AuthorizationCode)?;
                let exchange = code::Exchange {
                    code: &code,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_ref(),
                };
                code::exchange(issuer, codes.as_ref(), &client, exchange).await
            }
            TokenGrant::ClientCredentials { scope } => {
                let client = clients.confidential(&client, false).await?;
                allowed(&client, GrantType::ClientCredentials)?;
                client_credentials::issue(issuer, &client, scope).await
            }
            TokenGrant::RefreshToken {
                refresh_token,
                scope,
            } => {
                let client = clients.optional(&client).await?;
                if let Some(client) = &client {
                    allowed(client, GrantType::RefreshToken)?;
                }
                refresh::rotate(issuer, client.as_ref(), &refresh_token, scope.as_ref()).await
            }
            TokenGrant::Password {
                username,
                password,
                scope,
            } => {
                if !inner.password_grant {
                    return Err(ErrorResponse::unsupported_grant_type());
                }
                // Without a client: the deployment's own first-party use. A client that
                // presents itself must verify and be registered for the grant, and gets
                // tokens bound to it.
                let client = clients.optional(&client).await?;
                if let Some(client) = &client {
                    allowed(client, GrantType::Password)?;
                }
                let login = password::Login {
                    username: &username,
                    password: &password,
                    scope: scope.as_ref(),
                };
                password::login(issuer, address, login, client.as_ref()).await
            }
        }
    }

    /// `POST /revoke` (RFC 7009) from `address`.
    pub(crate) async fn revoke(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        match revoke::revoke(self, address, headers, body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    /// `POST /introspect` (RFC 7662) from `address`.
    pub(crate) async fn introspect(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        match introspect::introspect(self, address, headers, body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    /// Client authentication for a request from `address`.
    fn clients(&self, address: IpAddr) -> ClientVerifier<'_> {
        ClientVerifier {
            clients: self.inner.clients.as_ref(),
            issuer: &self.inner.issuer,
            address,
        }
    }

    fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// Whether `client` may introspect tokens issued to others.
    fn is_resource_server(&self, client: &Client) -> bool {
        self.inner.resource_servers.contains(&client.client_id)
    }
}

/// RFC 6749 §5.2 `unauthorized_client` unless the client's registration allows `grant`.
fn allowed(client: &Client, grant: GrantType) -> Result<(), ErrorResponse> {
    if client.allows(grant) {
        Ok(())
    } else {
        Err(ErrorResponse::new(
            http::StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        ))
    }
}
