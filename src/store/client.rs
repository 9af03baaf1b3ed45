//! Registered OAuth clients as stores keep them: the record and its grant types. The rules
//! about a client (registration checks, redirect-URI matching, the clients file) are the
//! authorization server's, in `provider`.

use std::fmt;

use serde::Deserialize;

use crate::token::Scopes;

/// What a client may do at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636).
    AuthorizationCode,
    /// Refreshing tokens it got (RFC 6749 §6).
    RefreshToken,
    /// Tokens for the client itself (RFC 6749 §4.4); confidential clients only.
    ClientCredentials,
    /// The resource owner's password (RFC 6749 §4.3), for a client trusted with it (RFC 9700
    /// §2.4 says no client should be); never advertised in discovery.
    Password,
}

impl GrantType {
    /// The `grant_type` value (RFC 6749).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }

    /// The grant named by a `grant_type` value, if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::AuthorizationCode,
            Self::RefreshToken,
            Self::ClientCredentials,
            Self::Password,
        ]
        .into_iter()
        .find(|g| g.as_str() == name)
    }
}

/// A registered client.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// The id the client sends.
    pub client_id: String,
    /// The PHC hash (argon2id) of its secret; `None` for a public client (a browser or native
    /// app, which cannot keep a secret and relies on PKCE alone).
    pub secret_hash: Option<String>,
    /// Where codes may be sent: compared as exact strings (loopback URIs: any port).
    pub redirect_uris: Vec<String>,
    /// What it may ask the token endpoint for.
    pub grant_types: Vec<GrantType>,
    /// The most it may be granted.
    pub scopes: Scopes,
    /// Shown on the consent page.
    pub name: String,
    /// The deployment's own app: no consent page.
    pub first_party: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret_hash.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("first_party", &self.first_party)
            .finish()
    }
}

impl Client {
    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether it has a secret (and so must authenticate at the token endpoint).
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
}
