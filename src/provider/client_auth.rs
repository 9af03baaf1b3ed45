//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` or `client_secret_post`, never both, or a bare `client_id` for a public
//! client.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::SecretString;

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
