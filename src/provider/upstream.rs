//! Login through another OpenID provider ("upstream"): this server is the OpenID client there.
//! [`UpstreamProvider`] does the relying-party half with the `openidconnect` crate: discovery
//! from the issuer URL, the authorization URL with PKCE S256, `state` and `nonce`, the code
//! exchange, and the id_token's verification (signature from the provider's JWKS, `iss`, `aud`,
//! `exp`, `nonce`). An id_token signed with a key the cached JWKS lacks makes it fetch the JWKS
//! again once (the provider rotated its keys), never accept the token unverified.
//!
//! Discovery and the JWKS are kept as long as their responses' `Cache-Control: max-age` says
//! (1 hour without one, at least 1 minute, at most 24 hours); the first login after that
//! fetches them again while the others go on with the cached copy, which also stays in use
//! while the provider cannot be reached.
//!
//! The browser side (the login page's button, `GET /upstream/callback`, linking the identity to
//! a local user) is [`AuthorizationServer`](super::AuthorizationServer)'s, once the builder was
//! given a provider ([`AuthorizationServerBuilder::upstream`](super::AuthorizationServerBuilder::upstream)).

mod http;
mod metadata;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    SubjectIdentifier, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};

use self::http::HttpAdapter;
pub use self::http::{ReqwestHttp, UpstreamHttp, UpstreamHttpError};
use self::metadata::MetadataCache;
use crate::clock::{Clock, SystemClock};
use crate::token::Scopes;

/// Why an [`UpstreamProvider`] cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamConfigError {
    /// The issuer is not an absolute http(s) URL.
    #[error("the upstream issuer must be an absolute http or https URL")]
    IssuerUrl,
    /// The issuer is plain `http` on a host that is not a loopback address or `localhost`
    /// (see [`UpstreamProviderBuilder::allow_insecure_http_issuer`]).
    #[error(
        "the upstream issuer is plain http on a host that is not loopback (127.0.0.0/8, ::1, \
         localhost): use https, or allow it explicitly (allow_insecure_http_issuer, \
         --allow-insecure-http-issuer)"
    )]
    InsecureIssuer,
    /// The client id is empty.
    #[error("the upstream client id must not be empty")]
    ClientId,
    /// The HTTP client could not be created.
    #[error("the HTTP client for the upstream provider cannot be created: {0}")]
    Http(String),
}

/// Why an upstream login failed. The messages name the kind of failure, never a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// Discovery, the JWKS or the token endpoint did not answer usefully.
    #[error("the upstream provider cannot be reached")]
    Unreachable,
    /// The token endpoint refused the code (`invalid_grant` and the like).
    #[error("the upstream provider refused the code: {0}")]
    Refused(String),
    /// The token response had no id_token.
    #[error("the upstream provider sent no id_token")]
    NoIdToken,
    /// The id_token failed verification.
    #[error("the upstream id_token is not valid: {0}")]
    InvalidIdToken(&'static str),
}

/// Who the upstream provider says logged in, from a verified id_token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamIdentity {
    /// The provider's issuer (the id_token's verified `iss`).
    pub issuer: String,
    /// The id_token's `sub`.
    pub subject: String,
    /// `email`, if sent.
    pub email: Option<String>,
    /// `email_verified`: `true` only if the provider said so.
    pub email_verified: bool,
    /// `preferred_username`, if sent.
    pub preferred_username: Option<String>,
    /// `name`, if sent.
    pub name: Option<String>,
    /// `auth_time` (unix seconds): when the user last entered their credentials there.
    pub auth_time: Option<i64>,
}

/// The `openidconnect` client as discovery configures it.
type UpstreamClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// An authorization request sent to the upstream provider, with what the callback needs.
pub(crate) struct UpstreamRedirect {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
}

/// Another OpenID provider users may log in with. Cheap to clone.
#[derive(Clone)]
pub struct UpstreamProvider {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<SecretString>,
    name: String,
    create_users: bool,
    link_by_email: bool,
    email_link_needs_password: bool,
    new_user_scopes: Scopes,
    http: Arc<dyn UpstreamHttp>,
    metadata: MetadataCache,
}

impl fmt::Debug for UpstreamProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamProvider")
            .field("issuer", &self.inner.issuer.as_str())
            .field("client_id", &self.inner.client_id.as_str())
            .field("name", &self.inner.name)
            .field("create_users", &self.inner.create_users)
            .field("link_by_email", &self.inner.link_by_email)
            .field(
                "email_link_needs_password",
                &self.inner.email_link_needs_password,
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`UpstreamProvider`].
pub struct UpstreamProviderBuilder {
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    name: Option<String>,
    create_users: bool,
    link_by_email: bool,
    email_link_needs_password: bool,
    new_user_scopes: Scopes,
    http: Option<Arc<dyn UpstreamHttp>>,
    clock: Option<Arc<dyn Clock>>,
    allow_insecure_http_issuer: bool,
}

impl fmt::Debug for UpstreamProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamProviderBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl UpstreamProviderBuilder {
    /// The client secret at the provider (`client_secret_basic`); without one, this server is
    /// a public client there (PKCE only).
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The button label on the login page (default: the issuer's host).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether a first login of an identity that matches no local user creates one (default
    /// `false`: such a login gets an error page).
    pub fn create_users(mut self, create: bool) -> Self {
        self.create_users = create;
        self
    }

    /// Whether a first login of an identity may link it to the one local user whose email
    /// address equals the provider's verified `email` (default `false`: an identity is linked
    /// only to a user it created, or by an operator). Never to a user who already has a link
    /// from this provider. A link is permanent until an operator removes it
    /// (`tokenward users unlink`): whoever controls that address at the provider logs in as the
    /// local user from then on, so turn this on only for a provider whose verified addresses
    /// you trust, and consider [`email_link_needs_password`](Self::email_link_needs_password).
    pub fn link_by_email(mut self, link: bool) -> Self {
        self.link_by_email = link;
        self
    }

    /// With [`link_by_email`](Self::link_by_email): before a link by email is written, the
    /// login page asks for the local user's password (the username fixed) in the same browser,
    /// within 5 minutes, through the login throttle; the link is written only once it verified
    /// (default `false`).
    pub fn email_link_needs_password(mut self, needs: bool) -> Self {
        self.email_link_needs_password = needs;
        self
    }

    /// The scopes a user created at an upstream login gets (default none: only the OpenID
    /// identity scopes, until an operator grants more).
    pub fn new_user_scopes(mut self, scopes: Scopes) -> Self {
        self.new_user_scopes = scopes;
        self
    }

    /// Accepts a plain `http` issuer on any host (default: only on a loopback address or
    /// `localhost`; otherwise [`UpstreamConfigError::InsecureIssuer`]). For a closed test
    /// network only: discovery, keys and the code exchange would travel unprotected.
    pub fn allow_insecure_http_issuer(mut self) -> Self {
        self.allow_insecure_http_issuer = true;
        self
    }

    /// The clock that ages the cached discovery and JWKS (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client (default [`ReqwestHttp`]).
    pub fn http_client(mut self, http: Arc<dyn UpstreamHttp>) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the settings. Discovery happens at the first login, so a provider that is down
    /// when this server starts only makes its button show an error page until it is back.
    pub fn build(self) -> Result<UpstreamProvider, UpstreamConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| UpstreamConfigError::IssuerUrl)?;
        let host = match (url.scheme(), url.host_str()) {
            ("http" | "https", Some(host)) => host.to_owned(),
            _ => return Err(UpstreamConfigError::IssuerUrl),
        };
        if !self.allow_insecure_http_issuer && super::server::plain_http_off_loopback(&url) {
            return Err(UpstreamConfigError::InsecureIssuer);
        }
        if self.client_id.is_empty() {
            return Err(UpstreamConfigError::ClientId);
        }
        let issuer = IssuerUrl::new(self.issuer).map_err(|_| UpstreamConfigError::IssuerUrl)?;
        let http = match self.http {
            Some(http) => http,
            None => Arc::new(ReqwestHttp::new().map_err(|e| UpstreamConfigError::Http(e.0))?),
        };
        Ok(UpstreamProvider {
            inner: Arc::new(Inner {
                client_id: ClientId::new(self.client_id),
                client_secret: self.client_secret,
                name: self.name.unwrap_or(host),
                create_users: self.create_users,
                link_by_email: self.link_by_email,
                email_link_needs_password: self.email_link_needs_password,
                new_user_scopes: self.new_user_scopes,
                metadata: MetadataCache::new(
                    issuer.clone(),
                    Arc::clone(&http),
                    self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                ),
                issuer,
                http,
            }),
        })
    }
}

impl UpstreamProvider {
    /// A builder for the provider at `issuer` (its discovery document is
    /// `<issuer>/.well-known/openid-configuration`), where this server is client `client_id`.
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
    ) -> UpstreamProviderBuilder {
        UpstreamProviderBuilder {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            name: None,
            create_users: false,
            link_by_email: false,
            email_link_needs_password: false,
            new_user_scopes: Scopes::default(),
            http: None,
            clock: None,
            allow_insecure_http_issuer: false,
        }
    }

    /// The provider's issuer URL.
    pub fn issuer(&self) -> &str {
        self.inner.issuer.as_str()
    }

    /// The button label.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether unmatched identities create local users.
    pub fn creates_users(&self) -> bool {
        self.inner.create_users
    }

    /// Whether a first login may link to the local user with the same verified email.
    pub fn links_by_email(&self) -> bool {
        self.inner.link_by_email
    }

    /// Whether a link by email waits for the local user's password.
    pub fn email_link_needs_password(&self) -> bool {
        self.inner.email_link_needs_password
    }

    /// The scopes of users created at an upstream login.
    pub fn new_user_scopes(&self) -> &Scopes {
        &self.inner.new_user_scopes
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<UpstreamClient, UpstreamError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| UpstreamError::InvalidIdToken("redirect URI"))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            self.inner.client_id.clone(),
            self.inner
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// The authorization request to send the browser to, with fresh `state`, `nonce` and PKCE
    /// verifier. `fresh_login` and `max_age` pass on what the original request demands of the
    /// login (`prompt=login`, `max_age`): the provider must ask for the password again.
    pub(crate) async fn redirect(
        &self,
        redirect_uri: &str,
        fresh_login: bool,
        max_age: Option<u64>,
    ) -> Result<UpstreamRedirect, UpstreamError> {
        let metadata = self.inner.metadata.get().await?;
        let client = self.client(&metadata, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if fresh_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        if let Some(max_age) = max_age {
            request = request.set_max_age(Duration::from_secs(max_age));
        }
        let (url, state, nonce) = request.url();
        Ok(UpstreamRedirect {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` and verifies the id_token that comes back.
    pub(crate) async fn exchange(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let metadata = self.inner.metadata.get().await?;
        let client = self.client(&metadata, redirect_uri)?;
        let send = HttpAdapter::new(&self.inner.http);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| UpstreamError::Unreachable)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let response = request.request_async(&send).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(error) => {
                // The provider's text reaches logs: only a plain RFC 6749 error code.
                let code = error.error().to_string();
                let plain =
                    code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                UpstreamError::Refused(if plain { code } else { "other".into() })
            }
            // An answer that does not parse, an id_token whose claims do not parse among it.
            RequestTokenError::Parse(..) => UpstreamError::InvalidIdToken("malformed response"),
            other => {
                tracing::warn!(error = %other, "upstream token request failed");
                UpstreamError::Unreachable
            }
        })?;
        let id_token = response.id_token().ok_or(UpstreamError::NoIdToken)?;
        let nonce = Nonce::new(nonce.to_owned());
        let first_try = id_token.claims(&verifier(&client), &nonce).map(identity);
        let (identity, client) = match first_try {
            Ok(identity) => (identity, client),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Signed with a key the cached JWKS lacks: the provider may have rotated. Fetch
                // the JWKS again (at most once per interval) and verify once more.
                let metadata = self.inner.metadata.refetch_jwks(&metadata, &send).await?;
                let client = self.client(&metadata, redirect_uri)?;
                let identity = id_token
                    .claims(&verifier(&client), &nonce)
                    .map(identity)
                    .map_err(|e| UpstreamError::InvalidIdToken(reason(&e)))?;
                (identity, client)
            }
            Err(e) => return Err(UpstreamError::InvalidIdToken(reason(&e))),
        };
        // The id_token may carry only `sub` (tokenward's do): the profile and email come from
        // userinfo, which must be about the same subject. Without it, the id_token's claims.
        let Ok(request) = client.user_info(
            response.access_token().clone(),
            Some(SubjectIdentifier::new(identity.subject.clone())),
        ) else {
            return Ok(identity);
        };
        match request
            .request_async::<EmptyAdditionalClaims, _, CoreGenderClaim>(&send)
            .await
        {
            Ok(info) => Ok(with_userinfo(identity, &info)),
            Err(e) => {
                tracing::warn!(error = %e, "upstream userinfo failed; using the id_token's claims");
                Ok(identity)
            }
        }
    }
}

/// The id_token verifier: the crate's checks (signature, `iss`, `aud`, `exp`, `nonce`) with the
/// algorithms pinned to asymmetric ones, whatever the discovery document lists (an HS256 token
/// keyed with the client secret proves nothing about the provider's keys).
fn verifier(client: &UpstreamClient) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EdDsa,
    ])
}

/// Fills what the id_token left out from userinfo; an email and its `email_verified` always
/// come from the same document.
fn with_userinfo(mut identity: UpstreamIdentity, info: &CoreUserInfoClaims) -> UpstreamIdentity {
    if identity.email.is_none() {
        identity.email = info.email().map(|e| e.as_str().to_owned());
        identity.email_verified = info.email_verified() == Some(true);
    }
    if identity.preferred_username.is_none() {
        identity.preferred_username = info.preferred_username().map(|u| u.as_str().to_owned());
    }
    if identity.name.is_none() {
        identity.name = info
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
    }
    identity
}

fn identity(claims: &CoreIdTokenClaims) -> UpstreamIdentity {
    UpstreamIdentity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
    }
}

/// What failed, as a fixed phrase: the library's message may quote claim values.
fn reason(error: &ClaimsVerificationError) -> &'static str {
    match error {
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "wrong audience",
        ClaimsVerificationError::InvalidIssuer(_) => "wrong issuer",
        ClaimsVerificationError::InvalidNonce(_) => "wrong nonce",
        ClaimsVerificationError::InvalidSubject(_) => "bad subject",
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => "signed by an unknown key",
        ClaimsVerificationError::SignatureVerification(_) => "bad signature",
        _ => "rejected",
    }
}
