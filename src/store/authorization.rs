//! What the authorization server keeps between requests, as traits any backend implements:
//! registered clients ([`ClientStore`]) and the short-lived state of the code flow
//! ([`AuthorizationStore`]: codes, browser sessions, pending requests, consent).
//!
//! Keys that are credentials (codes, session ids, pending-request ids) reach a store only as
//! SHA-256 digests ([`secret_digest`]): a copy of the database lets nobody redeem a code or
//! ride a session.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Client, StoreError};
use crate::token::Scopes;

/// The hex SHA-256 of a random credential, the form in which stores hold it. A plain hash is
/// enough: the credentials are 128+ random bits, so there is nothing to brute-force.
pub fn secret_digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where registered clients live. Written by operators (`--clients`, `tokenward clients`),
/// read on every `/authorize` and client-authenticated token request.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, if any.
    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    /// Every client, ordered by id.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Stores `client` unless one with its id exists (then it is left exactly as it is).
    /// `true` if it was inserted. Two racing inserts of one id store one client.
    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError>;
    /// Replaces the stored client with this id; [`StoreError::NotFound`] if there is none.
    async fn update_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Removes a client; `true` if it existed.
    async fn remove_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// What an authorization code stands for, fixed when it is issued (RFC 6749 §4.1.2: bound to
/// the client and redirect URI; RFC 7636: to the challenge).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the request, which the token request must repeat.
    pub redirect_uri: String,
    /// The PKCE challenge the verifier must answer.
    pub code_challenge: String,
    /// The scopes granted.
    pub scope: Scopes,
    /// The request's `nonce`, for the id_token.
    pub nonce: Option<String>,
    /// The user who logged in.
    pub user_id: String,
    /// When the user entered their password (unix seconds).
    pub auth_time: i64,
    /// The login session (refresh family) the code's tokens belong to, fixed now so a replayed
    /// code can revoke them.
    pub session_id: String,
    /// The user's token generation at login: a logout-all since refuses the code.
    pub generation: u64,
    /// The revocation store's epoch at login.
    pub epoch: u64,
    /// When the code stops being redeemable (unix seconds).
    pub expires_at: i64,
}

/// The answer of [`AuthorizationStore::redeem_code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent.
    Redeemed(CodeGrant),
    /// Already spent: whatever it produced must be revoked.
    Replayed(CodeGrant),
    /// Never issued, or forgotten since it expired.
    Unknown,
}

/// A logged-in browser (the session cookie's record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSession {
    /// Who logged in.
    pub user_id: String,
    /// When they entered their password (unix seconds).
    pub auth_time: i64,
    /// The user's token generation at login: a logout-all or password change since ends the
    /// browser session too.
    pub generation: u64,
    /// The revocation store's epoch at login.
    pub epoch: u64,
    /// When the session ends (unix seconds).
    pub expires_at: i64,
    /// The native apps' clients (public, loopback redirect) the user confirmed on this session:
    /// only these get codes without a page (RFC 8252 §8.6). At most
    /// [`BrowserSession::MAX_CONFIRMED_CLIENTS`], the oldest dropped first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmed_clients: Vec<String>,
}

impl BrowserSession {
    /// How many confirmed clients a session remembers.
    pub const MAX_CONFIRMED_CLIENTS: usize = 32;

    /// Records that the user confirmed `client_id` on this session.
    pub fn confirm_client(&mut self, client_id: &str) {
        if self.confirmed_clients.iter().any(|c| c == client_id) {
            return;
        }
        if self.confirmed_clients.len() >= Self::MAX_CONFIRMED_CLIENTS {
            self.confirmed_clients.remove(0);
        }
        self.confirmed_clients.push(client_id.to_owned());
    }
}

/// An `/authorize` request waiting for the login or consent form. The form carries its id and
/// CSRF token; the record remembers which browser it was shown to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The original `/authorize` query, checked again when the form comes back.
    pub query: String,
    /// [`secret_digest`] of the browser cookie the page was shown to.
    pub browser: String,
    /// [`secret_digest`] of the form's CSRF token.
    pub csrf: String,
    /// Set once the user has logged in for this request (the consent step).
    pub user_id: Option<String>,
    /// When that login happened.
    pub auth_time: Option<i64>,
    /// Set when the form is the password check before an upstream identity is linked to a
    /// local user by email: the link is written only once that user's password verified on
    /// this form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_link: Option<PendingLink>,
    /// When the form stops being accepted (unix seconds).
    pub expires_at: i64,
}

/// An upstream identity waiting to be linked to a local user, on a
/// [`PendingAuthorization`] whose login form asks for that user's password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// The upstream provider's issuer.
    pub issuer: String,
    /// The identity's subject there.
    pub subject: String,
    /// The local user whose verified email matched, and whose password the form asks for.
    pub user_id: String,
}

/// A stored link from an upstream identity (`issuer`, `subject`) to a local user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    /// The upstream provider's issuer.
    pub issuer: String,
    /// The identity's subject there.
    pub subject: String,
    /// The local user it logs in as.
    pub user_id: String,
    /// When the link was written (unix seconds).
    pub created_at: i64,
}

/// A browser's round trip through another OpenID provider (login with an upstream provider),
/// stored under the [`secret_digest`] of the `state` sent there and taken back exactly once at
/// the callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamLoginState {
    /// The `/authorize` query to continue once the user is logged in.
    pub query: String,
    /// [`secret_digest`] of the browser cookie that started it.
    pub browser: String,
    /// The PKCE verifier for the code exchange at the upstream provider.
    pub pkce_verifier: String,
    /// The `nonce` the upstream id_token must carry.
    pub nonce: String,
    /// When the browser was sent to the provider (unix seconds): a `prompt=login` request needs
    /// a login there after it.
    #[serde(default)]
    pub started_at: i64,
    /// When the callback stops being accepted (unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for UpstreamLoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The verifier and nonce are credentials of the exchange.
        f.debug_struct("UpstreamLoginState")
            .field("query", &self.query)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The short-lived state of the code flow. Records carry their expiry; a store may forget a
/// record after it, and callers check it themselves.
#[async_trait]
pub trait AuthorizationStore: Send + Sync + 'static {
    /// Stores a new code under its digest.
    async fn put_code(&self, digest: &str, grant: &CodeGrant) -> Result<(), StoreError>;
    /// Spends a code, atomically: of any number of concurrent calls, exactly one sees
    /// [`CodeRedemption::Redeemed`]. A spent code is remembered at least until it expires, so
    /// a replay is recognised.
    async fn redeem_code(&self, digest: &str) -> Result<CodeRedemption, StoreError>;

    /// Stores a browser session under the digest of its cookie.
    async fn put_session(&self, digest: &str, session: &BrowserSession) -> Result<(), StoreError>;
    /// Replaces the record of a stored session; `false`, writing nothing, when there is none, so
    /// a session that ended meanwhile (a logout in another tab) stays ended.
    async fn update_session(
        &self,
        digest: &str,
        session: &BrowserSession,
    ) -> Result<bool, StoreError>;
    /// The session with this digest, if stored.
    async fn find_session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError>;
    /// Forgets a session (logout, or rotation at login).
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;

    /// Stores a pending request under the digest of its id.
    async fn put_pending(
        &self,
        digest: &str,
        pending: &PendingAuthorization,
    ) -> Result<(), StoreError>;
    /// The pending request with this digest, if stored.
    async fn find_pending(&self, digest: &str) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Forgets a pending request (answered).
    async fn delete_pending(&self, digest: &str) -> Result<(), StoreError>;

    /// The scopes `user_id` has allowed `client_id` so far (empty if none).
    async fn consented_scopes(&self, user_id: &str, client_id: &str) -> Result<Scopes, StoreError>;
    /// Adds `scope` to what `user_id` has allowed `client_id`.
    async fn add_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scopes,
    ) -> Result<(), StoreError>;

    /// Stores an upstream login under the digest of its `state`.
    async fn put_upstream_login(
        &self,
        digest: &str,
        login: &UpstreamLoginState,
    ) -> Result<(), StoreError>;
    /// Removes and returns the upstream login with this digest, atomically: of concurrent
    /// callbacks with one `state`, at most one gets it.
    async fn take_upstream_login(
        &self,
        digest: &str,
    ) -> Result<Option<UpstreamLoginState>, StoreError>;

    /// The local user an upstream identity (`issuer`, `subject`) is linked to, if any.
    async fn find_identity_link(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Links an upstream identity to `user_id` unless it is linked already; `true` if this call
    /// linked it. Of racing calls for one identity exactly one links it.
    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Every upstream identity linked to `user_id`, ordered by issuer and subject.
    async fn identity_links(&self, user_id: &str) -> Result<Vec<IdentityLink>, StoreError>;
    /// Removes the link of the upstream identity (`issuer`, `subject`) if it links to
    /// `user_id`; `true` if a link was removed. A link to another user is left as it is.
    async fn unlink_identity(
        &self,
        user_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, StoreError>;
}
