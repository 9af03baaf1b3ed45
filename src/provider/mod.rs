//! The authorization server, without a web framework: [`AuthorizationServer`] answers
//! `/authorize` (login and consent pages, PKCE S256 only), introspection and logout over `http`
//! types; the one token endpoint of every deployment (`token`: a dispatcher on `grant_type`, one
//! module per grant, the typed parsers [`TokenRequest`] and [`RevocationRequest`]); client
//! authentication, read, verified and demanded in one module; the login and consent decisions
//! as a pure function (`decide`) that the browser controllers (`interaction`) call; registered
//! clients' rules and their redirect URIs. The stores it needs ([`ClientStore`],
//! [`AuthorizationStore`]) live in [`crate::store`] and are named here too. With the
//! `upstream` feature, login through another OpenID provider (`UpstreamProvider`, identity
//! links in the [`AuthorizationStore`]). [`crate::endpoints::Endpoints::authorization_server`]
//! puts its endpoints in the route table the integration crates mount. The pieces below are
//! usable alone:
//!
//! ```
//! use tokenward::provider::{AuthorizationQuery, CodeChallenge, parse_clients_file};
//!
//! let clients = parse_clients_file(r#"[{"client_id": "app", "redirect_uris": ["https://app.example/cb"],
//!     "grant_types": ["authorization_code"], "scopes": ["items:read"]}]"#)?;
//! let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
//! let challenge = CodeChallenge::of_verifier(verifier);
//! let query = format!(
//!     "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz\
//!      &code_challenge={}&code_challenge_method=S256",
//!     challenge.as_str()
//! );
//! let query = AuthorizationQuery::parse(&query).unwrap();
//! let client = clients.iter().find(|c| Ok(c.client_id.as_str()) == query.client_id());
//! let request = query.check(client).unwrap();
//! assert_eq!(
//!     request.success_location("the-code", "https://auth.example"),
//!     "https://app.example/cb?code=the-code&state=xyz&iss=https%3A%2F%2Fauth.example"
//! );
//! assert!(request.code_challenge.verify(verifier).is_ok());
//! # Ok::<(), tokenward::provider::ClientError>(())
//! ```

mod authorize;
mod client;
mod client_auth;
mod cookies;
mod decide;
mod interaction;
mod openid;
mod pages;
mod pkce;
pub mod redirect_uri;
mod server;
mod token;
#[cfg(feature = "upstream")]
mod upstream;

pub use authorize::{
    AuthorizationQuery, AuthorizationRequest, AuthorizeError, ErrorRedirect, MAX_QUERY_BYTES,
    MAX_STATE_BYTES, Prompt, UnredirectableError,
};
pub use client::{ClientError, parse_clients_file};
pub use client_auth::{ClientAuthError, PresentedClient, presented_client};
pub use cookies::{BROWSER_COOKIE, DEVICE_COOKIE, SESSION_COOKIE};
pub use interaction::{CONSENT_PATH, LOGIN_PATH};
pub use openid::{
    AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, LOGOUT_PATH, OAUTH_METADATA_PATH,
    OPENID_CONFIGURATION_PATH, REVOKE_PATH, TOKEN_PATH, UPSTREAM_CALLBACK_PATH,
    UPSTREAM_START_PATH, USERINFO_PATH,
};
pub use pages::{PageError, Pages, TEMPLATE_NAMES, html_response};
pub use pkce::{CodeChallenge, PkceError, S256};
pub use server::{
    AuthorizationServer, AuthorizationServerBuilder, CODE_LIFETIME, DEFAULT_BROWSER_SESSION,
    PENDING_LIFETIME, PendingLimits, ServerConfigError,
};
// The stores and records the provider works with live in `store` (ports below their users);
// named here too, where a provider's reader looks for them.
pub use crate::store::{
    AuthorizationStore, BrowserSession, Client, ClientStore, CodeGrant, CodeRedemption, GrantType,
    IdentityLink, PendingAuthorization, PendingLink, UpstreamLoginState, secret_digest,
};
pub(crate) use token::TokenEndpoint;
pub use token::{IntrospectionRequest, RevocationRequest, TokenGrant, TokenRequest};
#[cfg(feature = "upstream")]
#[cfg_attr(docsrs, doc(cfg(feature = "upstream")))]
pub use upstream::{
    ReqwestHttp, UpstreamConfigError, UpstreamError, UpstreamHttp, UpstreamHttpError,
    UpstreamIdentity, UpstreamProvider, UpstreamProviderBuilder,
};
