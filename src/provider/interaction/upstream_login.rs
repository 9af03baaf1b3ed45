//! The browser side of login through an upstream provider: the login page's button sends the
//! browser there with `state`, `nonce` and PKCE bound to it, and the callback exchanges the
//! code, verifies the id_token and links the identity to a local user (an existing link, else
//! the one local user with the same verified email, else a new user if allowed). The original
//! `/authorize` request then continues as after a password login.

use http::{HeaderMap, Response, StatusCode};
use secrecy::SecretString;

use super::{Failure, FreshLogin, Reply, constant_time_eq, redirect};
use crate::events;
use crate::oauth2::Form;
use crate::provider::cookies::{self, BROWSER_COOKIE};
use crate::provider::decide::{self, Request};
use crate::provider::server::{AuthorizationServer, PENDING_LIFETIME, random_secret};
use crate::provider::upstream::{UpstreamError, UpstreamIdentity};
use crate::provider::{
    MAX_QUERY_BYTES, PendingAuthorization, PendingLink, Prompt, UPSTREAM_CALLBACK_PATH,
    UpstreamLoginState, UpstreamProvider, secret_digest,
};
use crate::store::{ImportMode, User};

/// How a callback's identity found its local user (the security event's `linked` field).
#[derive(Clone, Copy)]
enum LinkedBy {
    Existing,
    Email,
    Created,
}

impl LinkedBy {
    fn as_str(self) -> &'static str {
        match self {
            LinkedBy::Existing => "existing",
            LinkedBy::Email => "email",
            LinkedBy::Created => "created",
        }
    }
}

/// How long the password check before a link by email may take (the login page it shows).
const LINK_CONFIRM_LIFETIME: time::Duration = time::Duration::minutes(5);

/// The answer of `linked_user`.
enum Linked {
    /// Log this user in.
    User(User, LinkedBy),
    /// This user's verified email matched; the link waits for their password.
    NeedsPassword(User),
}

/// The callback's parameters (RFC 6749 §4.1.2, RFC 9207's `iss`); each at most once.
#[derive(Default)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

impl Callback {
    fn parse(query: &str) -> Option<Self> {
        if query.len() > MAX_QUERY_BYTES {
            return None;
        }
        let mut callback = Callback::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "state" => &mut callback.state,
                "code" => &mut callback.code,
                "error" => &mut callback.error,
                "iss" => &mut callback.iss,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return None;
            }
        }
        Some(callback)
    }
}

impl AuthorizationServer {
    fn upstream_callback_url(&self) -> String {
        format!("{}{UPSTREAM_CALLBACK_PATH}", self.inner.issuer_url)
    }

    fn upstream_unreachable_page(&self, upstream: &UpstreamProvider) -> Response<Vec<u8>> {
        self.inner.pages.message(
            StatusCode::BAD_GATEWAY,
            &format!("{} is not answering", upstream.name()),
            &format!(
                "Signing in with {} is not possible right now. Try again in a moment, or go \
                 back and sign in with your password.",
                upstream.name()
            ),
        )
    }

    fn upstream_failed(&self, upstream: &UpstreamProvider, reason: &str) -> Failure {
        tracing::warn!(
            target: events::TARGET, event = events::UPSTREAM_LOGIN_FAILED,
            issuer = upstream.issuer(), reason
        );
        Failure::Page(self.inner.pages.message(
            StatusCode::BAD_REQUEST,
            "Sign-in not completed",
            &format!(
                "The sign-in with {} could not be completed. Go back to the application and \
                 start again.",
                upstream.name()
            ),
        ))
    }

    pub(super) async fn upstream_start_steps(
        &self,
        upstream: &UpstreamProvider,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response<Vec<u8>>, Failure> {
        let mut form = Form::parse(headers, body)
            .map_err(|e| Failure::Page(self.bad_request_page(&e.description)))?;
        // The same binding as the password form: this browser, this pending request.
        let (pending_id, pending) = self.pending_of(headers, &mut form).await?;
        let (_, request) = self.checked_stored_request(&pending.query).await?;
        let redirect_uri = self.upstream_callback_url();
        let fresh_login = request.prompt == Prompt::Login;
        let outgoing = match upstream
            .redirect(&redirect_uri, fresh_login, request.max_age)
            .await
        {
            Ok(outgoing) => outgoing,
            Err(_) => return Err(Failure::Page(self.upstream_unreachable_page(upstream))),
        };
        let now = self.now();
        let login = UpstreamLoginState {
            query: pending.query,
            browser: pending.browser,
            pkce_verifier: outgoing.pkce_verifier,
            nonce: outgoing.nonce,
            started_at: now,
            expires_at: now + PENDING_LIFETIME.whole_seconds(),
        };
        self.inner
            .store
            .put_upstream_login(&secret_digest(&outgoing.state), &login)
            .await?;
        // The form is used up: each press of the button stores a login state, so a form that
        // stayed usable would let one page store any number of them.
        self.inner
            .store
            .delete_pending(&secret_digest(&pending_id))
            .await?;
        Ok(redirect(&outgoing.url))
    }

    pub(super) async fn upstream_callback_steps(
        &self,
        upstream: &UpstreamProvider,
        reply: &mut Reply,
        headers: &HeaderMap,
        query: &str,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let Some(callback) = Callback::parse(query) else {
            return Err(self.upstream_failed(upstream, "malformed callback"));
        };
        let Some(state) = callback.state else {
            return Err(self.upstream_failed(upstream, "no state"));
        };
        // Taken, not read: a replayed callback finds nothing.
        let Some(login) = self
            .inner
            .store
            .take_upstream_login(&secret_digest(&state))
            .await?
        else {
            return Err(self.upstream_failed(upstream, "unknown or used state"));
        };
        let browser = cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies)
            .map(|b| secret_digest(&b))
            .unwrap_or_default();
        if !constant_time_eq(&browser, &login.browser) {
            return Err(self.upstream_failed(upstream, "state of another browser"));
        }
        if login.expires_at < self.now() {
            return Err(self.upstream_failed(upstream, "expired state"));
        }
        // RFC 9207: a response naming another issuer is a mix-up attack.
        if callback
            .iss
            .as_deref()
            .is_some_and(|iss| iss != upstream.issuer())
        {
            return Err(self.upstream_failed(upstream, "wrong iss in the callback"));
        }
        if callback.error.is_some() {
            return Err(self.upstream_failed(upstream, "the provider returned an error"));
        }
        let Some(code) = callback.code else {
            return Err(self.upstream_failed(upstream, "no code"));
        };
        let identity = match upstream
            .exchange(
                &self.upstream_callback_url(),
                &code,
                &login.pkce_verifier,
                &login.nonce,
            )
            .await
        {
            Ok(identity) => identity,
            Err(UpstreamError::Unreachable) => {
                return Err(Failure::Page(self.upstream_unreachable_page(upstream)));
            }
            Err(error) => return Err(self.upstream_failed(upstream, &error.to_string())),
        };
        let (client, request) = self.checked_stored_request(&login.query).await?;
        let auth_time = decide::upstream_auth_time(
            Request::from(&request),
            identity.auth_time,
            login.started_at,
            self.now(),
        )
        .map_err(|reason| self.upstream_failed(upstream, reason))?;
        let (user, linked_by) = match self.linked_user(upstream, &identity).await? {
            Linked::User(user, linked_by) => (user, linked_by),
            Linked::NeedsPassword(user) => {
                // The link waits for the local password, asked in this browser on the login
                // form (its CSRF token, its throttle), within LINK_CONFIRM_LIFETIME.
                let browser = cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies)
                    .unwrap_or_default();
                let pending = PendingAuthorization {
                    query: login.query.clone(),
                    browser: secret_digest(&browser),
                    csrf: String::new(),
                    user_id: None,
                    auth_time: None,
                    upstream_link: Some(PendingLink {
                        issuer: identity.issuer.clone(),
                        subject: identity.subject.clone(),
                        user_id: user.id.clone(),
                    }),
                    expires_at: self.now() + LINK_CONFIRM_LIFETIME.whole_seconds(),
                };
                let (pending, csrf) = self.put_new_pending(pending).await?;
                tracing::info!(
                    target: events::TARGET, event = events::UPSTREAM_LINK_NEEDS_PASSWORD,
                    user_id = %user.id, issuer = upstream.issuer()
                );
                return Ok(self.login_page(
                    StatusCode::OK,
                    &client,
                    &pending,
                    &csrf,
                    &user.username,
                    None,
                    true,
                ));
            }
        };
        let Some((user, issuance)) = self.inner.issuer.session_user(&user.id).await? else {
            return Err(self.upstream_failed(upstream, "the linked user is disabled"));
        };
        tracing::info!(
            target: events::TARGET, event = events::UPSTREAM_LOGIN_SUCCEEDED,
            user_id = %user.id, issuer = upstream.issuer(), linked = linked_by.as_str()
        );
        let fresh = FreshLogin {
            user: &user,
            issuance: &issuance,
            auth_time,
        };
        self.logged_in_now(reply, None, headers, &client, &request, fresh)
            .await
    }

    /// The local user of an upstream identity, by the contract's rules: its link; else, if
    /// linking by email is on, the one user with its verified email (unless that user has
    /// another link from this provider; after their password if that is asked for); else a
    /// new user if allowed.
    async fn linked_user(
        &self,
        upstream: &UpstreamProvider,
        identity: &UpstreamIdentity,
    ) -> Result<Linked, Failure> {
        let store = &self.inner.store;
        if let Some(user) = self.user_linked_to(identity).await? {
            return Ok(Linked::User(user, LinkedBy::Existing));
        }
        let by_email = if upstream.links_by_email() {
            self.user_with_verified_email(identity).await?
        } else {
            None
        };
        let (user, linked_by) = match by_email {
            Some(user) => {
                if self
                    .has_link_from(&user.id, &identity.issuer, &identity.subject)
                    .await?
                {
                    return Err(self.already_linked(&identity.issuer));
                }
                if upstream.email_link_needs_password() {
                    return Ok(Linked::NeedsPassword(user));
                }
                (user, LinkedBy::Email)
            }
            None if upstream.creates_users() => (
                self.create_user_for(upstream, identity).await?,
                LinkedBy::Created,
            ),
            None => {
                tracing::warn!(
                    target: events::TARGET, event = events::UPSTREAM_LOGIN_FAILED,
                    issuer = upstream.issuer(), reason = "no matching local user"
                );
                return Err(Failure::Page(self.inner.pages.message(
                    StatusCode::FORBIDDEN,
                    "No account here",
                    &format!(
                        "Your {} account is not linked to an account on this server. Ask an \
                         administrator to create or link your account.",
                        upstream.name()
                    ),
                )));
            }
        };
        let linked = store
            .link_identity(&identity.issuer, &identity.subject, &user.id, self.now())
            .await?;
        if linked {
            return Ok(Linked::User(user, linked_by));
        }
        // Another callback for this identity linked it first: its link wins.
        match self.user_linked_to(identity).await? {
            Some(user) => Ok(Linked::User(user, LinkedBy::Existing)),
            None => Err(Failure::Unavailable),
        }
    }

    async fn user_linked_to(&self, identity: &UpstreamIdentity) -> Result<Option<User>, Failure> {
        let Some(user_id) = self
            .inner
            .store
            .find_identity_link(&identity.issuer, &identity.subject)
            .await?
        else {
            return Ok(None);
        };
        match self.inner.issuer.users().find_by_id(&user_id).await? {
            Some(user) => Ok(Some(user)),
            // A link to a user that is gone links to nobody: refuse rather than re-link.
            None => Err(Failure::Page(self.bad_request_page(
                "The account this sign-in is linked to no longer exists.",
            ))),
        }
    }

    /// The one local user whose email the provider verified; none if unverified or ambiguous.
    async fn user_with_verified_email(
        &self,
        identity: &UpstreamIdentity,
    ) -> Result<Option<User>, Failure> {
        let Some(email) = identity
            .email
            .as_deref()
            .filter(|_| identity.email_verified)
        else {
            return Ok(None);
        };
        let mut found = self.inner.issuer.users().find_by_email(email, 2).await?;
        Ok(if found.len() == 1 { found.pop() } else { None })
    }

    /// A new local user for `identity`, with the provider's scopes for new users, named
    /// `upstream-<16 hex of SHA-256(issuer, subject)>`. Never the provider's
    /// `preferred_username`: a name chosen there could claim a local name before its owner's
    /// account exists (and an operator's later import would hand that account over). Its
    /// password is random and never shown, so it logs in only through the provider until an
    /// operator sets one.
    async fn create_user_for(
        &self,
        upstream: &UpstreamProvider,
        identity: &UpstreamIdentity,
    ) -> Result<User, Failure> {
        let users = self.inner.issuer.users();
        let password = SecretString::from(random_secret());
        let password_hash = self
            .inner
            .issuer
            .hasher()
            .hash_async(&password)
            .await
            .map_err(|_| Failure::Unavailable)?;
        let digest = secret_digest(&format!("{}\n{}", identity.issuer, identity.subject));
        let username = format!("upstream-{}", digest.get(..16).unwrap_or(&digest));
        let user = User {
            id: String::new(),
            username: username.clone(),
            password_hash,
            scopes: upstream.new_user_scopes().clone(),
            disabled: false,
            full_name: identity.name.clone().filter(|n| plain_text(n)),
            // Only a verified address: an unverified one would let whoever claimed it receive a
            // later verified login of its real owner (account pre-hijacking).
            email: identity
                .email
                .clone()
                .filter(|e| identity.email_verified && plain_text(e)),
        };
        users.import(vec![user], ImportMode::InsertMissing).await?;
        // Created now, or by a concurrent first login of the same identity.
        users
            .find_by_username(&username)
            .await?
            .ok_or(Failure::Unavailable)
    }
}

/// Whether a name or address from the provider is fit to store: short, no control characters
/// (a NUL would make PostgreSQL refuse the row).
fn plain_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= 256 && !text.chars().any(char::is_control)
}
