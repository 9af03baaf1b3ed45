//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3.1),
//! all of it: reading the credentials (`client_secret_basic` or `client_secret_post`, never both,
//! or a bare `client_id` for a public client), verifying them against the client store, and what
//! each endpoint demands of the result.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;

use super::{Client, ClientStore};
use crate::error::Error;
use crate::oauth2::{ErrorResponse, error_response};
use crate::password::{PasswordHash, PasswordHasher};

/// The credentials a request presents. Reading them checks nothing yet: the secret is verified
/// against the client's stored hash (a constant-time argon2 verification) by the caller.
pub enum PresentedClient {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic {
        /// The client id, URL-decoded.
        client_id: String,
        /// The secret, URL-decoded.
        secret: SecretString,
    },
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: SecretString,
    },
    /// Only `client_id` in the form: a public client.
    Public {
        /// The client id.
        client_id: String,
    },
    /// No client at all (the password grant of a first-party app).
    None,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, id) = match self {
            Self::Basic { client_id, .. } => ("client_secret_basic", Some(client_id)),
            Self::Post { client_id, .. } => ("client_secret_post", Some(client_id)),
            Self::Public { client_id } => ("none", Some(client_id)),
            Self::None => ("no client", None),
        };
        f.debug_struct("PresentedClient")
            .field("method", &method)
            .field("client_id", &id)
            .finish_non_exhaustive()
    }
}

impl PresentedClient {
    /// The client id presented, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::Public { client_id } => Some(client_id),
            Self::None => None,
        }
    }

    /// Whether the credentials came in a Basic header (a failure then answers with a
    /// `WWW-Authenticate: Basic` challenge).
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Why the presented credentials cannot even be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// Both a Basic header and form credentials (RFC 6749 §2.3: one method per request).
    #[error("the client authenticated with more than one method")]
    MultipleMethods,
    /// An `Authorization: Basic` header that is not base64 of `id:secret`, or more than one.
    #[error("the Basic authorization header is malformed")]
    MalformedBasic,
    /// `client_secret` without `client_id`.
    #[error("client_secret without client_id")]
    SecretWithoutId,
}

/// Reads the client credentials of a token-endpoint request from its headers and the form's
/// `client_id` / `client_secret` (each given at most once: the form parser refuses repeats).
/// An `Authorization` header with another scheme is ignored here.
pub fn presented_client(
    headers: &HeaderMap,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<PresentedClient, ClientAuthError> {
    let basic = basic_credentials(headers)?;
    match (basic, form_client_id, form_secret) {
        (Some(_), _, Some(_)) => Err(ClientAuthError::MultipleMethods),
        // RFC 6749 §2.3.1 lets a Basic client repeat its id in the form only if they agree.
        (Some((client_id, _)), Some(form_id), None) if form_id != client_id => {
            Err(ClientAuthError::MultipleMethods)
        }
        (Some((client_id, secret)), _, None) => Ok(PresentedClient::Basic { client_id, secret }),
        (None, Some(client_id), Some(secret)) => Ok(PresentedClient::Post {
            client_id: client_id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        }),
        (None, Some(client_id), None) => Ok(PresentedClient::Public {
            client_id: client_id.to_owned(),
        }),
        (None, None, Some(_)) => Err(ClientAuthError::SecretWithoutId),
        (None, None, None) => Ok(PresentedClient::None),
    }
}

/// The id and secret of an `Authorization: Basic` header, URL-decoded (RFC 6749 §2.3.1: they
/// are form-encoded before the Basic encoding, so `%3A` in an id is a colon, `+` a space).
fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, SecretString)>, ClientAuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(ClientAuthError::MalformedBasic),
    };
    let value = value
        .to_str()
        .map_err(|_| ClientAuthError::MalformedBasic)?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ClientAuthError::MalformedBasic)?;
    let decoded = String::from_utf8(decoded).map_err(|_| ClientAuthError::MalformedBasic)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(ClientAuthError::MalformedBasic)?;
    let id = form_decode(id).ok_or(ClientAuthError::MalformedBasic)?;
    let secret = form_decode(secret).ok_or(ClientAuthError::MalformedBasic)?;
    if id.is_empty() {
        return Err(ClientAuthError::MalformedBasic);
    }
    Ok(Some((id, SecretString::from(secret))))
}

/// `application/x-www-form-urlencoded` decoding of one value; `None` if it is not UTF-8.
fn form_decode(value: &str) -> Option<String> {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The RFC 6749 §5.2 `invalid_client` error: 401, with a Basic challenge when the client tried
/// Basic (§5.2 requires it then).
pub(crate) fn invalid_client(used_basic: bool) -> ErrorResponse {
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

/// Why reading the credentials failed, as the endpoint answers it.
pub(crate) fn unreadable(error: ClientAuthError) -> ErrorResponse {
    match error {
        ClientAuthError::MalformedBasic => invalid_client(true),
        other => ErrorResponse::invalid_request(other.to_string()),
    }
}

/// What the endpoints demand of a client, each verified the same way (its secret against the
/// stored hash on the password hasher's bounded pool, or a public client by its id alone; an
/// unknown client costs a dummy verification, so timing does not tell it from a wrong secret).
pub(crate) struct ClientVerifier<'a> {
    /// Where clients are registered.
    pub(crate) clients: &'a dyn ClientStore,
    /// The pool secrets are verified on.
    pub(crate) hasher: &'a PasswordHasher,
}

impl ClientVerifier<'_> {
    /// Any caller (the password and refresh grants, revocation): `None` when no credentials
    /// were presented; credentials that are presented must verify.
    pub(crate) async fn optional(
        &self,
        presented: &PresentedClient,
    ) -> Result<Option<Client>, ErrorResponse> {
        verify(self.clients, self.hasher, presented).await
    }

    /// A registered client, public or confidential (the authorization code grant).
    pub(crate) async fn registered(
        &self,
        presented: &PresentedClient,
    ) -> Result<Client, ErrorResponse> {
        self.optional(presented)
            .await?
            .ok_or_else(|| invalid_client(presented.used_basic()))
    }

    /// A confidential client that proved its secret (client credentials, and with
    /// `challenge` introspection, whose failure always says how to authenticate: RFC 7662
    /// §2.1 requires client authentication there).
    pub(crate) async fn confidential(
        &self,
        presented: &PresentedClient,
        challenge: bool,
    ) -> Result<Client, ErrorResponse> {
        self.optional(presented)
            .await?
            .filter(Client::is_confidential)
            .ok_or_else(|| invalid_client(challenge || presented.used_basic()))
    }
}

async fn verify(
    clients: &dyn ClientStore,
    hasher: &PasswordHasher,
    presented: &PresentedClient,
) -> Result<Option<Client>, ErrorResponse> {
    let Some(client_id) = presented.client_id() else {
        return Ok(None);
    };
    let client = clients
        .find_client(client_id)
        .await
        .map_err(|e| error_response(&Error::from(e)))?;
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
                Ok(false) => Err(invalid_client(presented.used_basic())),
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
