//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3.1),
//! all of it: reading the credentials (`client_secret_basic` or `client_secret_post`, never both,
//! or a bare `client_id` for a public client), verifying them against the client store, and what
//! each endpoint demands of the result.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;

use super::client::is_possible_client_id;
use super::{Client, ClientStore};
use crate::TokenIssuer;
use crate::error::Error;
use crate::issuer::hashing_error;
use crate::oauth2::{ErrorResponse, error_response};
use crate::password::PasswordHash;

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

/// What the endpoints demand of a client, each verified the same way: its secret against the
/// stored hash on the password hasher's bounded pool, or a public client by its id alone. An
/// unknown client costs a dummy verification, so timing does not tell it from a wrong secret.
/// Failed secrets count against the client id and the caller's address in the issuer's
/// throttle, checked before any verification (429 past the budget), and a full hasher queue is
/// 503 `temporarily_unavailable` with `Retry-After`.
pub(crate) struct ClientVerifier<'a> {
    /// Where clients are registered.
    pub(crate) clients: &'a dyn ClientStore,
    /// The hasher secrets are verified on and the throttle failures count in.
    pub(crate) issuer: &'a TokenIssuer,
    /// The caller's address (after trusted proxies).
    pub(crate) address: IpAddr,
}

impl ClientVerifier<'_> {
    /// Any caller (the password and refresh grants, revocation): `None` when no credentials
    /// were presented; credentials that are presented must verify.
    pub(crate) async fn optional(
        &self,
        presented: &PresentedClient,
    ) -> Result<Option<Client>, ErrorResponse> {
        let Some(client_id) = presented.client_id() else {
            return Ok(None);
        };
        if !is_possible_client_id(client_id) {
            return Err(invalid_client(presented.used_basic()));
        }
        match presented {
            PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. } => self
                .verify_secret(client_id, secret, presented.used_basic())
                .await
                .map(Some),
            PresentedClient::Public { .. } => match self.find(client_id).await? {
                Some(client) if !client.is_confidential() => Ok(Some(client)),
                _ => Err(invalid_client(false)),
            },
            PresentedClient::None => Ok(None),
        }
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

    async fn find(&self, client_id: &str) -> Result<Option<Client>, ErrorResponse> {
        self.clients
            .find_client(client_id)
            .await
            .map_err(|e| error_response(&Error::from(e)))
    }

    /// The client whose secret `secret` is. The budget is checked before the client is even
    /// looked up, and every failure counts, unknown clients included.
    async fn verify_secret(
        &self,
        client_id: &str,
        secret: &SecretString,
        used_basic: bool,
    ) -> Result<Client, ErrorResponse> {
        let issuer = self.issuer;
        issuer
            .admit_client_authentication(client_id, self.address)
            .await
            .map_err(|e| throttled(&e))?;
        let client = self.find(client_id).await?;
        let stored = client
            .as_ref()
            .and_then(|c| c.secret_hash.as_deref())
            .and_then(|h| PasswordHash::parse(h).ok());
        let hasher = issuer.hasher();
        let verified = match &stored {
            Some(hash) => hasher.verify_async(secret, hash).await,
            None => hasher.verify_dummy_async(secret).await.map(|_| false),
        };
        match (verified.map_err(hashing_error), client) {
            (Ok(true), Some(client)) => Ok(client),
            (Ok(_), _) => {
                issuer
                    .client_authentication_failed(client_id, self.address)
                    .await
                    .map_err(|e| error_response(&e))?;
                Err(invalid_client(used_basic))
            }
            (Err(err), _) => Err(error_response(&err)),
        }
    }
}

/// A locked client id or address: 429 with `Retry-After`, in the words of client
/// authentication rather than of a password login.
fn throttled(error: &Error) -> ErrorResponse {
    match error {
        Error::Throttled { retry_after_secs } => ErrorResponse {
            retry_after: Some(*retry_after_secs),
            ..ErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed client authentications; try again later",
            )
        },
        other => error_response(other),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, mpsc};

    use super::*;
    use crate::keys::{KeyAlgorithm, KeySet};
    use crate::password::{Argon2Params, PasswordHasher};
    use crate::store::GrantType;
    use crate::store::memory::{MemoryClientStore, MemoryRevocation, MemoryUserStore};
    use crate::token::{Scopes, TokenCodec};

    /// A full hasher queue is 503 `temporarily_unavailable` with `Retry-After`, never a 500.
    #[tokio::test]
    async fn a_full_hasher_queue_is_503_with_retry_after() {
        let hasher = PasswordHasher::builder()
            .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
            .max_concurrent(1)
            .max_waiting(0)
            .build()
            .unwrap();
        let secret = SecretString::from("a secret".to_owned());
        let hash = hasher.hash(&secret).unwrap();
        let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::EdDSA).unwrap(), "i", "a")
            .build()
            .unwrap();
        let issuer = TokenIssuer::builder(
            codec,
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemoryRevocation::new()),
        )
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
        let clients = MemoryClientStore::new();
        clients
            .insert_client(&Client {
                client_id: "svc".into(),
                secret_hash: Some(hash.expose_secret().to_owned()),
                redirect_uris: Vec::new(),
                grant_types: vec![GrantType::ClientCredentials],
                scopes: Scopes::empty(),
                name: "svc".into(),
                first_party: false,
            })
            .await
            .unwrap();
        // One call holds the only place until released.
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let holder = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run_blocking(move |_| held.lock().map(|rx| rx.recv().is_ok()).unwrap_or(false))
                    .await
            })
        };
        while hasher.stats().running != 1 {
            tokio::task::yield_now().await;
        }
        let verifier = ClientVerifier {
            clients: &clients,
            issuer: &issuer,
            address: [192, 0, 2, 1].into(),
        };
        let presented = PresentedClient::Post {
            client_id: "svc".into(),
            secret,
        };
        let Err(busy) = verifier.optional(&presented).await else {
            panic!("verified with a full queue");
        };
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.error, "temporarily_unavailable");
        assert!(busy.retry_after.is_some());
        release.send(()).unwrap();
        assert!(matches!(holder.await, Ok(Ok(true))));
        // With the place free again the same secret verifies, and the refusal counted no
        // failure against the client.
        assert!(verifier.optional(&presented).await.unwrap().is_some());
    }
}
