//! Registered clients: their rules (registration checks, redirect-URI matching) and the clients
//! file. The record itself is the stores' ([`crate::store::Client`]).

use serde::Deserialize;

use super::redirect_uri::{self, RedirectUriError};
use crate::store::{Client, GrantType};
use crate::token::{ScopeError, Scopes};

/// Why a client cannot be registered. Never contains a secret or hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A client id that is empty, too long, or not printable ASCII without spaces.
    #[error("client_id must be 1 to 128 printable ASCII characters without spaces")]
    InvalidId,
    /// A redirect URI that breaks the rules.
    #[error("client {client_id:?}: redirect URI {uri:?}: {reason}")]
    RedirectUri {
        /// The client.
        client_id: String,
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: RedirectUriError,
    },
    /// The authorization code grant without any redirect URI.
    #[error("client {0:?}: the authorization_code grant needs a redirect URI")]
    NoRedirectUri(String),
    /// `client_credentials` for a client without a secret.
    #[error("client {0:?}: client_credentials needs a confidential client (a client_secret_hash)")]
    PublicClientCredentials(String),
    /// A secret hash that is not an argon2id PHC string.
    #[error("client {0:?}: client_secret_hash is not an argon2id PHC string")]
    SecretHash(String),
    /// Malformed scopes.
    #[error("client {client_id:?}: {source}")]
    Scopes {
        /// The client.
        client_id: String,
        /// What is wrong.
        source: ScopeError,
    },
    /// The same id twice in one file.
    #[error("client {0:?} appears twice")]
    Duplicate(String),
    /// A clients file that is not the documented JSON.
    #[error("clients file: {0}")]
    File(String),
}

/// Whether `client_id` could be registered: 1 to 128 printable ASCII characters. Anything else
/// is refused before any lookup, hashing or throttle record.
pub(crate) fn is_possible_client_id(client_id: &str) -> bool {
    (1..=128).contains(&client_id.len()) && client_id.bytes().all(|b| b.is_ascii_graphic())
}

impl Client {
    /// Checks the client against the registration rules: id syntax, every redirect URI
    /// registrable, a redirect URI for the code flow, a secret for client credentials, a
    /// well-formed secret hash.
    pub fn check(&self) -> Result<(), ClientError> {
        if !is_possible_client_id(&self.client_id) {
            return Err(ClientError::InvalidId);
        }
        for uri in &self.redirect_uris {
            redirect_uri::check_registrable(uri).map_err(|reason| ClientError::RedirectUri {
                client_id: self.client_id.clone(),
                uri: uri.clone(),
                reason,
            })?;
        }
        if self.allows(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(ClientError::NoRedirectUri(self.client_id.clone()));
        }
        match &self.secret_hash {
            None if self.allows(GrantType::ClientCredentials) => {
                return Err(ClientError::PublicClientCredentials(self.client_id.clone()));
            }
            Some(hash) if !is_argon2id_phc(hash) => {
                return Err(ClientError::SecretHash(self.client_id.clone()));
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether `presented` is one of its redirect URIs.
    pub fn redirect_uri_matches(&self, presented: &str) -> bool {
        redirect_uri::matches(&self.redirect_uris, presented)
    }
}

fn is_argon2id_phc(hash: &str) -> bool {
    password_hash::PasswordHash::new(hash).is_ok_and(|phc| phc.algorithm.as_str() == "argon2id")
}

/// One entry of a clients file (`--clients`, `tokenward clients`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    #[serde(default)]
    client_secret_hash: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    first_party: bool,
}

/// Parses and checks a clients file: a JSON array of
/// `{"client_id", "client_secret_hash"?, "redirect_uris", "grant_types", "scopes", "name"?,
/// "first_party"?}`. Every client is checked ([`Client::check`]); ids must be unique.
pub fn parse_clients_file(text: &str) -> Result<Vec<Client>, ClientError> {
    // serde's messages can quote values (a hash); say only where the file went wrong.
    let entries: Vec<ClientEntry> = serde_json::from_str(text).map_err(|e| {
        ClientError::File(format!(
            "not the documented JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let mut clients: Vec<Client> = Vec::with_capacity(entries.len());
    for entry in entries {
        let scopes = Scopes::from_names(&entry.scopes).map_err(|source| ClientError::Scopes {
            client_id: entry.client_id.clone(),
            source,
        })?;
        let client = Client {
            name: entry.name.unwrap_or_else(|| entry.client_id.clone()),
            client_id: entry.client_id,
            secret_hash: entry.client_secret_hash,
            redirect_uris: entry.redirect_uris,
            grant_types: entry.grant_types,
            scopes,
            first_party: entry.first_party,
        };
        client.check()?;
        if clients.iter().any(|c| c.client_id == client.client_id) {
            return Err(ClientError::Duplicate(client.client_id));
        }
        clients.push(client);
    }
    Ok(clients)
}
