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

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims,
    CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, SubjectIdentifier, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::token::Scopes;

/// The largest response body read from the upstream provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// A JWKS is fetched again for an unknown `kid` at most this often: a provider that keeps
/// signing with an unpublished key cannot make every callback a fetch.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long discovery and the JWKS are kept when their responses carry no `Cache-Control:
/// max-age` (seconds).
const DEFAULT_METADATA_LIFETIME_SECS: i64 = 3600;
/// The longest a `max-age` keeps them: 24 hours.
const MAX_METADATA_LIFETIME_SECS: i64 = 86_400;
/// The shortest: a provider that answers `no-cache`, `no-store` or `max-age=0` is still asked
/// at most once a minute.
const MIN_METADATA_LIFETIME_SECS: i64 = 60;
/// After a refresh that failed, the stale copy serves this long before the next try.
const REFRESH_RETRY_SECS: i64 = 60;

type BoxedFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A failure of the HTTP client talking to the upstream provider.
#[derive(Debug, thiserror::Error)]
#[error("upstream request failed: {0}")]
pub struct UpstreamHttpError(pub String);

/// The HTTP client for the upstream provider's discovery, JWKS and token endpoints. The default
/// ([`ReqwestHttp`]) follows no redirects and times out; tests substitute their own provider.
#[async_trait]
pub trait UpstreamHttp: Send + Sync + 'static {
    /// Sends one request and returns the whole response.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamHttpError>;
}

/// [`UpstreamHttp`] over `reqwest` (rustls): no redirects (the `openidconnect` crate's advice,
/// against SSRF), 5 s to connect, 10 s per request, bodies up to 1 MiB.
#[derive(Clone, Debug)]
pub struct ReqwestHttp {
    client: reqwest::Client,
}

impl ReqwestHttp {
    /// A client with the limits above.
    pub fn new() -> Result<Self, UpstreamHttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| UpstreamHttpError(e.to_string()))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl UpstreamHttp for ReqwestHttp {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, UpstreamHttpError> {
        let failed = |e: reqwest::Error| UpstreamHttpError(e.without_url().to_string());
        let (parts, body) = request.into_parts();
        let mut response = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(failed)?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(UpstreamHttpError("response body too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|e| UpstreamHttpError(e.to_string()))
    }
}

/// [`UpstreamHttp`] as `openidconnect`'s client. A named type rather than a closure: its boxed
/// `Send` future keeps the handlers' futures `Send` (axum requires it), which the compiler cannot
/// prove through a closure's higher-ranked bounds. It also notes the shortest cache lifetime
/// (`Cache-Control`) of the responses it saw, for discovery and the JWKS.
struct HttpAdapter {
    http: Arc<dyn UpstreamHttp>,
    lifetime: std::sync::Mutex<Option<i64>>,
}

impl HttpAdapter {
    fn new(http: &Arc<dyn UpstreamHttp>) -> Self {
        Self {
            http: Arc::clone(http),
            lifetime: std::sync::Mutex::new(None),
        }
    }

    /// The shortest cache lifetime of the responses so far (the default if none).
    fn lifetime(&self) -> i64 {
        self.lifetime
            .lock()
            .ok()
            .and_then(|l| *l)
            .unwrap_or(DEFAULT_METADATA_LIFETIME_SECS)
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpAdapter {
    type Error = UpstreamHttpError;
    type Future = BoxedFuture<'c, Result<HttpResponse, UpstreamHttpError>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.send(request).await?;
            let seen = cache_lifetime(response.headers());
            if let Ok(mut lifetime) = self.lifetime.lock() {
                *lifetime = Some(lifetime.map_or(seen, |l| l.min(seen)));
            }
            Ok(response)
        })
    }
}

/// How long a response may be kept, from its `Cache-Control` (RFC 9111 §5.2.2): `max-age`
/// seconds, none for `no-cache` or `no-store`, `DEFAULT_METADATA_LIFETIME_SECS` without
/// either (or with a `max-age` that is not a number); always within
/// `MIN_METADATA_LIFETIME_SECS ..= MAX_METADATA_LIFETIME_SECS`.
fn cache_lifetime(headers: &http::HeaderMap) -> i64 {
    let mut max_age: Option<u64> = None;
    let mut uncached = false;
    let directives = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for directive in directives {
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            uncached = true;
        } else if name.eq_ignore_ascii_case("max-age")
            && let Some(secs) = argument.and_then(|a| a.parse::<u64>().ok())
        {
            max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
        }
    }
    let secs = match (uncached, max_age) {
        (true, _) => 0,
        (false, Some(secs)) => i64::try_from(secs).unwrap_or(i64::MAX),
        (false, None) => DEFAULT_METADATA_LIFETIME_SECS,
    };
    secs.clamp(MIN_METADATA_LIFETIME_SECS, MAX_METADATA_LIFETIME_SECS)
}

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
    clock: Arc<dyn Clock>,
    metadata: RwLock<Option<Cached>>,
    /// Held by the one login that refreshes expired metadata.
    refreshing: Mutex<()>,
    last_jwks_fetch: Mutex<Option<Instant>>,
}

/// Discovery with its JWKS, and until when it is fresh (unix seconds).
#[derive(Clone)]
struct Cached {
    metadata: Arc<CoreProviderMetadata>,
    expires_at: i64,
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
        let http = match self.http {
            Some(http) => http,
            None => Arc::new(ReqwestHttp::new().map_err(|e| UpstreamConfigError::Http(e.0))?),
        };
        Ok(UpstreamProvider {
            inner: Arc::new(Inner {
                issuer: IssuerUrl::new(self.issuer).map_err(|_| UpstreamConfigError::IssuerUrl)?,
                client_id: ClientId::new(self.client_id),
                client_secret: self.client_secret,
                name: self.name.unwrap_or(host),
                create_users: self.create_users,
                link_by_email: self.link_by_email,
                email_link_needs_password: self.email_link_needs_password,
                new_user_scopes: self.new_user_scopes,
                http,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                metadata: RwLock::new(None),
                refreshing: Mutex::new(()),
                last_jwks_fetch: Mutex::new(None),
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

    fn now(&self) -> i64 {
        self.inner.clock.now().unix_timestamp()
    }

    /// The provider's metadata (discovery and its JWKS), kept as long as their `Cache-Control`
    /// allows (see `cache_lifetime`). Once it has expired, the next login refreshes it; logins
    /// meanwhile use the stale copy instead of waiting, and so do all logins for a while if the
    /// refresh fails. Only the first discovery (nothing to fall back on) makes logins wait,
    /// and fail if it fails.
    async fn metadata(&self) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let cached = self.inner.metadata.read().await.clone();
        if let Some(cached) = &cached
            && self.now() < cached.expires_at
        {
            return Ok(Arc::clone(&cached.metadata));
        }
        let _refreshing = match (&cached, self.inner.refreshing.try_lock()) {
            (_, Ok(guard)) => guard,
            (Some(stale), Err(_)) => return Ok(Arc::clone(&stale.metadata)),
            (None, Err(_)) => self.inner.refreshing.lock().await,
        };
        // Another login may have refreshed it while this one waited for the lock.
        if let Some(current) = self.inner.metadata.read().await.as_ref()
            && self.now() < current.expires_at
        {
            return Ok(Arc::clone(&current.metadata));
        }
        match (self.discover().await, cached) {
            (Ok(fresh), _) => Ok(fresh),
            (Err(_), Some(stale)) => {
                tracing::warn!(
                    issuer = %self.inner.issuer.as_str(),
                    "upstream discovery refresh failed; using the cached copy for now"
                );
                let retry_at = self.now() + REFRESH_RETRY_SECS;
                if let Some(current) = self.inner.metadata.write().await.as_mut() {
                    current.expires_at = retry_at;
                }
                Ok(stale.metadata)
            }
            (Err(error), None) => Err(error),
        }
    }

    /// Fetches discovery and the JWKS, and caches them for the shorter of their lifetimes.
    async fn discover(&self) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let send = HttpAdapter::new(&self.inner.http);
        let discovered = CoreProviderMetadata::discover_async(self.inner.issuer.clone(), &send)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.inner.issuer.as_str(), error = %e, "upstream discovery failed");
                UpstreamError::Unreachable
            })?;
        let discovered = Arc::new(discovered);
        *self.inner.metadata.write().await = Some(Cached {
            metadata: Arc::clone(&discovered),
            expires_at: self.now().saturating_add(send.lifetime()),
        });
        Ok(discovered)
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
        let metadata = self.metadata().await?;
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
        let metadata = self.metadata().await?;
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
                let metadata = self.refetch_jwks(&metadata, &send).await?;
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

    async fn refetch_jwks(
        &self,
        stale: &Arc<CoreProviderMetadata>,
        send: &HttpAdapter,
    ) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        let mut last = self.inner.last_jwks_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            // Fetched moments ago (by this login or another): use what is cached now.
            let current = self.inner.metadata.read().await.clone();
            return match current {
                Some(current) if !Arc::ptr_eq(&current.metadata, stale) => Ok(current.metadata),
                _ => Err(UpstreamError::InvalidIdToken("signed by an unknown key")),
            };
        }
        // Counted before the fetch: a JWKS endpoint that fails is not asked again at once.
        *last = Some(Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(stale.jwks_uri(), send)
            .await
            .map_err(|_| UpstreamError::Unreachable)?;
        let renewed = Arc::new(stale.as_ref().clone().set_jwks(jwks));
        // The new keys, under the cached discovery's expiry.
        let mut cached = self.inner.metadata.write().await;
        let expires_at = cached.as_ref().map_or_else(
            || self.now().saturating_add(DEFAULT_METADATA_LIFETIME_SECS),
            |c| c.expires_at,
        );
        *cached = Some(Cached {
            metadata: Arc::clone(&renewed),
            expires_at,
        });
        Ok(renewed)
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
