//! [`AuthorizationServer`]: the authorization endpoint, the token endpoint's client grants,
//! introspection and logout, over `http` types like [`crate::oauth2`]. Its handlers live in
//! [`super::interaction`] (the browser side) and [`super::token`] (the client side).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use time::Duration;

use http::{HeaderMap, Response};

use super::{AuthorizationStore, ClientStore, Pages, TokenEndpoint};
use crate::TokenIssuer;
use crate::keys::ID_TOKEN_ALGORITHM;
use crate::store::ThrottlePolicy;

/// How long an authorization code may be redeemed (the contract's 60 s; RFC 6749 §4.1.2 says
/// at most 10 minutes).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// How long a login or consent form stays usable.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// The default browser session lifetime.
pub const DEFAULT_BROWSER_SESSION: Duration = Duration::hours(12);

/// How many login and consent forms (pending requests, each a stored record until it is
/// answered or expires) one client address and one browser may open per window. Past it the
/// authorization endpoint answers 429 with `Retry-After`, so a loop of anonymous `/authorize`
/// requests cannot grow the store without bound. Counted in the issuer's login throttle store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingLimits {
    /// Per client address (IPv6 per /64). Default: 300 per 10 minutes, room for a whole office
    /// behind one NAT address opening the login page at once.
    pub per_address: ThrottlePolicy,
    /// Per browser cookie. Default: 30 per 10 minutes.
    pub per_browser: ThrottlePolicy,
}

impl Default for PendingLimits {
    fn default() -> Self {
        let window_secs = PENDING_LIFETIME.whole_seconds().unsigned_abs();
        Self {
            per_address: ThrottlePolicy {
                max_failures: 300,
                window_secs,
            },
            per_browser: ThrottlePolicy {
                max_failures: 30,
                window_secs,
            },
        }
    }
}

/// The authorization server: registered clients, the code flow with PKCE, client credentials,
/// introspection. Cheap to clone. Build one with [`AuthorizationServer::builder`] and hand it to
/// [`crate::endpoints::Endpoints::authorization_server`], whose route table the integration
/// crates mount.
#[derive(Clone)]
pub struct AuthorizationServer {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) issuer: TokenIssuer,
    pub(super) clients: Arc<dyn ClientStore>,
    pub(super) store: Arc<dyn AuthorizationStore>,
    pub(super) pages: Pages,
    pub(super) issuer_url: String,
    pub(super) secure_cookies: bool,
    pub(super) password_grant: bool,
    pub(super) browser_session: Duration,
    pub(super) pending_limits: PendingLimits,
    /// `/token`, `/revoke` and `/introspect` over this server's clients and codes.
    pub(super) token: TokenEndpoint,
    #[cfg(feature = "upstream")]
    pub(super) upstream: Option<super::UpstreamProvider>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer_url", &self.inner.issuer_url)
            .field("password_grant", &self.inner.password_grant)
            .field("browser_session", &self.inner.browser_session)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthorizationServer`].
pub struct AuthorizationServerBuilder {
    issuer: TokenIssuer,
    clients: Arc<dyn ClientStore>,
    store: Arc<dyn AuthorizationStore>,
    issuer_url: String,
    pages: Pages,
    password_grant: bool,
    browser_session: Duration,
    pending_limits: PendingLimits,
    resource_servers: HashSet<String>,
    allow_insecure_http_issuer: bool,
    #[cfg(feature = "upstream")]
    upstream: Option<super::UpstreamProvider>,
}

impl fmt::Debug for AuthorizationServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServerBuilder")
            .field("issuer_url", &self.issuer_url)
            .finish_non_exhaustive()
    }
}

/// Why a server cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerConfigError {
    /// The issuer URL is not an absolute http(s) URL without query, fragment or trailing slash.
    #[error(
        "the issuer must be an absolute http or https URL without query, fragment or trailing slash"
    )]
    IssuerUrl,
    /// A plain `http` issuer URL whose host is not a loopback address or `localhost`: tokens,
    /// codes and session cookies would cross the network in clear. Use https, or
    /// [`AuthorizationServerBuilder::allow_insecure_http_issuer`] for a test network.
    #[error(
        "the issuer is plain http on a host that is not loopback (127.0.0.0/8, ::1, localhost): \
         use https, or allow it explicitly (allow_insecure_http_issuer, --allow-insecure-http-issuer)"
    )]
    InsecureIssuer,
    /// A browser session lifetime outside 1 minute ..= 30 days.
    #[error("the browser session lifetime must be between 1 minute and 30 days")]
    BrowserSession,
    /// [`PendingLimits`] that allow no form, or count in a window outside 1 s ..= 1 day.
    #[error("pending-request limits must allow at least one form in a window of 1 s to 1 day")]
    PendingLimits,
    /// The issuer URL differs from the token codec's `iss`: OpenID clients compare them byte
    /// for byte.
    #[error("the issuer URL {issuer_url:?} is not the tokens' issuer {token_issuer:?}")]
    IssuerMismatch {
        /// The URL given to the builder.
        issuer_url: String,
        /// The codec's `iss`.
        token_issuer: String,
    },
    /// The key set has no RS256 key to sign id_tokens with (OpenID Connect Core §15.1 requires
    /// RS256): add one with `KeySet::ensure_id_token_key`.
    #[error("the key set has no RS256 key to sign id_tokens with (KeySet::ensure_id_token_key)")]
    NoIdTokenKey,
}

impl AuthorizationServerBuilder {
    /// Replaces the page templates.
    pub fn pages(mut self, pages: Pages) -> Self {
        self.pages = pages;
        self
    }

    /// Whether the first-party password grant stays on (default `true`). Off, `/token` answers
    /// it `unsupported_grant_type` and only the code flow logs users in.
    pub fn password_grant(mut self, enabled: bool) -> Self {
        self.password_grant = enabled;
        self
    }

    /// The clients that are resource servers (the APIs that accept this server's tokens): they
    /// may introspect any token, and learn its user's `username`. Every other confidential
    /// client may introspect only the tokens issued to it (RFC 7662 §4), and gets no username.
    pub fn resource_servers<I, S>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_servers = client_ids.into_iter().map(Into::into).collect();
        self
    }

    /// How long a browser stays logged in at the authorization endpoint (default 12 hours).
    pub fn browser_session(mut self, lifetime: Duration) -> Self {
        self.browser_session = lifetime;
        self
    }

    /// How many login and consent forms one address and one browser may open (default
    /// [`PendingLimits::default`]).
    pub fn pending_limits(mut self, limits: PendingLimits) -> Self {
        self.pending_limits = limits;
        self
    }

    /// Accepts a plain `http` issuer URL on any host (default: only on a loopback address or
    /// `localhost`; otherwise [`ServerConfigError::InsecureIssuer`]). For a closed test network
    /// only: codes, tokens and the session cookie travel in clear.
    pub fn allow_insecure_http_issuer(mut self) -> Self {
        self.allow_insecure_http_issuer = true;
        self
    }

    /// Offers login through another OpenID provider on the login page (its callback is
    /// `<issuer_url>/upstream/callback`, to be registered there).
    #[cfg(feature = "upstream")]
    #[cfg_attr(docsrs, doc(cfg(feature = "upstream")))]
    pub fn upstream(mut self, provider: super::UpstreamProvider) -> Self {
        self.upstream = Some(provider);
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<AuthorizationServer, ServerConfigError> {
        let url = url::Url::parse(&self.issuer_url).map_err(|_| ServerConfigError::IssuerUrl)?;
        let shape_ok = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
            && !self.issuer_url.ends_with('/');
        if !shape_ok {
            return Err(ServerConfigError::IssuerUrl);
        }
        if !self.allow_insecure_http_issuer && plain_http_off_loopback(&url) {
            return Err(ServerConfigError::InsecureIssuer);
        }
        if self.browser_session < Duration::minutes(1) || self.browser_session > Duration::days(30)
        {
            return Err(ServerConfigError::BrowserSession);
        }
        let limits = [
            self.pending_limits.per_address,
            self.pending_limits.per_browser,
        ];
        if limits.iter().any(|policy| {
            policy.max_failures == 0
                || !(1..=crate::MAX_THROTTLE_WINDOW_SECS).contains(&policy.window_secs)
        }) {
            return Err(ServerConfigError::PendingLimits);
        }
        let codec = self.issuer.codec();
        if codec.issuer() != self.issuer_url {
            return Err(ServerConfigError::IssuerMismatch {
                issuer_url: self.issuer_url,
                token_issuer: codec.issuer().to_owned(),
            });
        }
        let id_token_algorithm = codec.keys().id_token_key().map(|k| k.algorithm());
        if id_token_algorithm != Some(ID_TOKEN_ALGORITHM) {
            return Err(ServerConfigError::NoIdTokenKey);
        }
        let token = TokenEndpoint::new(
            self.issuer.clone(),
            self.clients.clone(),
            Some(self.store.clone()),
            self.password_grant,
            self.resource_servers,
        );
        Ok(AuthorizationServer {
            inner: Arc::new(Inner {
                token,
                secure_cookies: url.scheme() == "https",
                issuer: self.issuer,
                clients: self.clients,
                store: self.store,
                pages: self.pages,
                issuer_url: self.issuer_url,
                password_grant: self.password_grant,
                browser_session: self.browser_session,
                pending_limits: self.pending_limits,
                #[cfg(feature = "upstream")]
                upstream: self.upstream,
            }),
        })
    }
}

impl AuthorizationServer {
    /// A builder for the server of `issuer`, with its client and authorization stores, at
    /// `issuer_url` (the `iss` of tokens, of authorization responses and of discovery, so it
    /// must be the codec's issuer: `https://auth.example`, no trailing slash; cookies are
    /// `Secure` when it is https). The codec's key set must hold the RS256 key id_tokens are
    /// signed with ([`crate::keys::KeySet::ensure_id_token_key`] adds one).
    pub fn builder(
        issuer: TokenIssuer,
        clients: Arc<dyn ClientStore>,
        store: Arc<dyn AuthorizationStore>,
        issuer_url: impl Into<String>,
    ) -> AuthorizationServerBuilder {
        AuthorizationServerBuilder {
            issuer,
            clients,
            store,
            issuer_url: issuer_url.into(),
            pages: Pages::new(),
            password_grant: true,
            browser_session: DEFAULT_BROWSER_SESSION,
            pending_limits: PendingLimits::default(),
            resource_servers: HashSet::new(),
            allow_insecure_http_issuer: false,
            #[cfg(feature = "upstream")]
            upstream: None,
        }
    }

    /// The token issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// The client store.
    pub fn clients(&self) -> &Arc<dyn ClientStore> {
        &self.inner.clients
    }

    /// The issuer URL (the authorization response's `iss`).
    pub fn issuer_url(&self) -> &str {
        &self.inner.issuer_url
    }

    /// Whether the password grant is on.
    pub fn password_grant(&self) -> bool {
        self.inner.password_grant
    }

    /// `POST /token` from `address` (the client's address, after trusted proxies: the password
    /// grant and failed client authentications are throttled by it): every grant, with client
    /// authentication.
    pub async fn token(
        &self,
        address: std::net::IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        self.inner.token.token(address, headers, body).await
    }

    /// `POST /revoke` (RFC 7009) from `address`; a client that presents credentials must pass
    /// authentication.
    pub async fn revoke(
        &self,
        address: std::net::IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        self.inner.token.revoke(address, headers, body).await
    }

    /// `POST /introspect` (RFC 7662) from `address` (the client's address, after trusted
    /// proxies: failed client authentications are throttled by it), for confidential clients
    /// only.
    pub async fn introspect(
        &self,
        address: std::net::IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        self.inner.token.introspect(address, headers, body).await
    }

    pub(crate) fn token_endpoint(&self) -> &TokenEndpoint {
        &self.inner.token
    }

    pub(super) fn now(&self) -> i64 {
        self.inner.issuer.codec().clock().now().unix_timestamp()
    }
}

/// Whether `url` is plain `http` to a host other than a loopback address (127.0.0.0/8, ::1)
/// or `localhost`: an issuer there is refused unless allowed explicitly.
pub(crate) fn plain_http_off_loopback(url: &url::Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // The parser lowercases domains.
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    !loopback
}

/// A new random credential: 256 bits, base64url.
pub(super) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
