//! The typed requests of the token, revocation and introspection endpoints: one parser each,
//! which reads the whole form (client credentials included) before anything is looked up, so a
//! malformed request costs no store query and no hashing.

use std::fmt;

use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::TokenTypeHint;
use crate::oauth2::{ErrorResponse, Form};
use crate::provider::client_auth::{PresentedClient, presented_client, unreadable};
use crate::token::Scopes;

/// A parsed `POST /token` request: the client's credentials as presented (nothing verified yet)
/// and the grant.
pub struct TokenRequest {
    /// The client credentials the request carries.
    pub client: PresentedClient,
    /// The grant and its parameters.
    pub grant: TokenGrant,
}

/// A grant with its parameters (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6).
#[non_exhaustive]
pub enum TokenGrant {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
    AuthorizationCode {
        /// The code.
        code: SecretString,
        /// The redirect URI of the authorization request, which must be repeated.
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: Option<SecretString>,
    },
    /// `grant_type=client_credentials` (RFC 6749 §4.4).
    ClientCredentials {
        /// Requested scopes; `None` when absent or empty (all the client's).
        scope: Option<Scopes>,
    },
    /// `grant_type=password` (RFC 6749 §4.3).
    Password {
        /// The username.
        username: String,
        /// The password.
        password: SecretString,
        /// Requested scopes; `None` when absent or empty.
        scope: Option<Scopes>,
    },
    /// `grant_type=refresh_token` (RFC 6749 §6).
    RefreshToken {
        /// The refresh token.
        refresh_token: SecretString,
        /// Requested (narrower) scopes; `None` when absent or empty.
        scope: Option<Scopes>,
    },
}

impl TokenGrant {
    /// The `grant_type` value.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AuthorizationCode { .. } => "authorization_code",
            Self::ClientCredentials { .. } => "client_credentials",
            Self::Password { .. } => "password",
            Self::RefreshToken { .. } => "refresh_token",
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("client", &self.client)
            .field("grant", &self.grant)
            .finish()
    }
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct(self.name());
        match self {
            Self::AuthorizationCode { redirect_uri, .. } => out.field("redirect_uri", redirect_uri),
            Self::Password {
                username, scope, ..
            } => out.field("username", username).field("scope", scope),
            Self::ClientCredentials { scope } | Self::RefreshToken { scope, .. } => {
                out.field("scope", scope)
            }
        };
        out.finish_non_exhaustive()
    }
}

impl TokenRequest {
    /// Parses a token request (RFC 6749 §3.2): an `application/x-www-form-urlencoded` body of at
    /// most [`crate::oauth2::MAX_FORM_BYTES`], each parameter at most once, empty values absent.
    /// Errors are the RFC 6749 §5.2 answers: `invalid_request` (missing, repeated, malformed),
    /// `invalid_client` (an unreadable Basic header), `invalid_scope`, `unsupported_grant_type`.
    /// Their texts never carry a credential.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ErrorResponse> {
        let mut form = Form::parse(headers, body)?;
        let client = client_of(headers, &mut form)?;
        let grant_type = form.require("grant_type")?;
        let grant = match grant_type.as_str() {
            "authorization_code" => TokenGrant::AuthorizationCode {
                code: SecretString::from(form.require("code")?),
                redirect_uri: form.take("redirect_uri"),
                code_verifier: form.take("code_verifier").map(SecretString::from),
            },
            "client_credentials" => TokenGrant::ClientCredentials {
                scope: form.scope()?,
            },
            "password" => TokenGrant::Password {
                username: form.require("username")?,
                password: SecretString::from(form.require("password")?),
                scope: form.scope()?,
            },
            "refresh_token" => TokenGrant::RefreshToken {
                refresh_token: SecretString::from(form.require("refresh_token")?),
                scope: form.scope()?,
            },
            _ => return Err(ErrorResponse::unsupported_grant_type()),
        };
        Ok(Self { client, grant })
    }
}

/// A parsed `POST /revoke` (RFC 7009 §2.1) or `POST /introspect` (RFC 7662 §2.1) request: the
/// two endpoints take the same form.
pub struct RevocationRequest {
    /// The client credentials the request carries.
    pub client: PresentedClient,
    /// The token.
    pub token: SecretString,
    /// The hint, if a known one was given (unknown hints are ignored, as both RFCs allow).
    pub hint: Option<TokenTypeHint>,
}

/// The introspection form is the revocation form (RFC 7662 §2.1 reuses RFC 7009's parameters).
pub type IntrospectionRequest = RevocationRequest;

impl fmt::Debug for RevocationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationRequest")
            .field("client", &self.client)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

impl RevocationRequest {
    /// Parses the form (the rules of [`TokenRequest::parse`]); `token` is required.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ErrorResponse> {
        let mut form = Form::parse(headers, body)?;
        let client = client_of(headers, &mut form)?;
        let token = SecretString::from(form.require("token")?);
        let hint = match form.take("token_type_hint").as_deref() {
            Some("access_token") => Some(TokenTypeHint::AccessToken),
            Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
            _ => None,
        };
        Ok(Self {
            client,
            token,
            hint,
        })
    }
}

fn client_of(headers: &HeaderMap, form: &mut Form) -> Result<PresentedClient, ErrorResponse> {
    let client_id = form.take("client_id");
    let secret = form.take("client_secret").map(SecretString::from);
    presented_client(
        headers,
        client_id.as_deref(),
        secret.as_ref().map(|s| s.expose_secret()),
    )
    .map_err(unreadable)
}
