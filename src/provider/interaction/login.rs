//! `POST /authorize/login`: the password form, checked against the pending request and this
//! browser, counted by the login throttle, and a new browser session on success.

use super::*;
use crate::issuer::LoginOrigin;
use crate::provider::cookies::DEVICE_COOKIE;

/// How long a browser that logged in as a user keeps its own login budget for that username.
const DEVICE_COOKIE_LIFETIME: time::Duration = time::Duration::days(30);

impl AuthorizationServer {
    /// `POST /authorize/login` from `client` (the peer address, for the login throttles).
    pub async fn login(
        &self,
        client: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Vec<u8>> {
        let mut reply = Reply::new();
        let result = self.login_steps(&mut reply, client, headers, body).await;
        self.finish(reply, result)
    }

    async fn login_steps(
        &self,
        reply: &mut Reply,
        address: IpAddr,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response<Vec<u8>>, Failure> {
        let mut form = Form::parse(headers, body)
            .map_err(|e| Failure::Page(self.bad_request_page(&e.description)))?;
        let (pending_id, pending) = self.pending_of(headers, &mut form).await?;
        let (client, request) = self.checked_stored_request(&pending.query).await?;
        // The password check before an upstream link asks for the password of the user the
        // link is for, whatever username the form carries.
        let linking = match &pending.upstream_link {
            Some(link) => Some(self.user_to_link(link).await?),
            None => None,
        };
        let username = match &linking {
            Some(user) => user.username.clone(),
            None => form.take("username").unwrap_or_default(),
        };
        let password = SecretString::from(form.take("password").unwrap_or_default());
        let retry = |status: StatusCode, message: &str, csrf: &str| {
            self.login_page(
                status,
                &client,
                &pending_id,
                csrf,
                &username,
                Some(message),
                linking.is_some(),
            )
        };
        let secure = self.inner.secure_cookies;
        let origin = LoginOrigin {
            address: Some(address),
            known_device: cookies::read(headers, DEVICE_COOKIE, secure)
                .and_then(|token| self.inner.issuer.codec().device_token_id(&token, &username)),
        };
        let result = self
            .inner
            .issuer
            .authenticate_with(origin, &username, &password)
            .await;
        let (user, issuance) = match result {
            Ok(found) => found,
            Err(Error::InvalidCredentials) => {
                // The same pending request, with a new CSRF token for the re-shown form.
                let csrf = self.rotate_csrf(&pending_id, &pending).await?;
                return Ok(retry(StatusCode::BAD_REQUEST, GENERIC_LOGIN_ERROR, &csrf));
            }
            Err(Error::Throttled { retry_after_secs }) => {
                let csrf = self.rotate_csrf(&pending_id, &pending).await?;
                let mut page = retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too many attempts. Try again in {retry_after_secs} seconds."),
                    &csrf,
                );
                page.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
                return Ok(page);
            }
            Err(_) => return Err(Failure::Unavailable),
        };
        if let (Some(link), Some(expected)) = (&pending.upstream_link, &linking) {
            // The name was looked up by id above: a rename since must not link another user.
            if user.id != expected.id {
                return Err(Failure::Page(self.bad_request_page(
                    "The account to link has changed. Go back to the application and start again.",
                )));
            }
            self.write_link_by_email(link, &user).await?;
            tracing::info!(
                target: crate::events::TARGET, event = crate::events::UPSTREAM_LOGIN_SUCCEEDED,
                user_id = %user.id, issuer = link.issuer.as_str(), linked = "email_password"
            );
        }
        self.inner
            .store
            .delete_pending(&secret_digest(&pending_id))
            .await?;
        self.remember_device(reply, &username);
        let login = FreshLogin {
            user: &user,
            issuance: &issuance,
            auth_time: self.now(),
        };
        self.logged_in_now(reply, Some(address), headers, &client, &request, login)
            .await
    }

    /// After a login on this browser (the password form, or an upstream provider): a new
    /// browser session, then the request continues (consent page or code).
    pub(super) async fn logged_in_now(
        &self,
        reply: &mut Reply,
        address: Option<IpAddr>,
        headers: &HeaderMap,
        client: &Client,
        request: &AuthorizationRequest,
        login: FreshLogin<'_>,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let FreshLogin {
            user,
            issuance,
            auth_time,
        } = login;
        let session = self
            .start_session(reply, headers, user, issuance, auth_time)
            .await?;
        let browser =
            cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies).unwrap_or_default();
        let grantable = user.grantable_scopes();
        let situation = Situation {
            request: Request::from(request),
            client: ClientView::new(client, request, Some(&session), &self.inner.issuer_url),
            step: Step::LoggedIn {
                account: account(user, *issuance, &grantable),
                auth_time,
            },
            consented: None,
            now: self.now(),
        };
        let next = decide::decide(&situation);
        let next = self
            .with_consent(next, situation, Some(&user.id), &client.client_id)
            .await?;
        let on = Acting {
            browser: &browser,
            client,
            request,
            address,
            user: Some((user, *issuance)),
        };
        self.act(next, on).await
    }

    /// Sets the device cookie for `username` (see `crate::token::device`): this browser's
    /// logins as that user count against the cookie from now on, not the per-username lock.
    fn remember_device(&self, reply: &mut Reply, username: &str) {
        let codec = self.inner.issuer.codec();
        let Ok(token) = codec.issue_device_token(username, DEVICE_COOKIE_LIFETIME) else {
            return;
        };
        let secure = self.inner.secure_cookies;
        let max_age = Some(DEVICE_COOKIE_LIFETIME.whole_seconds());
        if let Some(cookie) = cookies::set(DEVICE_COOKIE, &token, secure, max_age) {
            reply.cookies.push(cookie);
        }
    }

    /// The local user a pending upstream link is for; a page if the user is gone.
    async fn user_to_link(&self, link: &PendingLink) -> Result<User, Failure> {
        match self.inner.issuer.users().find_by_id(&link.user_id).await? {
            Some(user) => Ok(user),
            None => Err(Failure::Page(self.bad_request_page(
                "The account to link no longer exists. Go back to the application and start again.",
            ))),
        }
    }

    /// Links the upstream identity of `link` to `user`, found by its verified email: refused
    /// if the user already has another link from that issuer, or the identity was linked to
    /// someone else meanwhile.
    pub(super) async fn write_link_by_email(
        &self,
        link: &PendingLink,
        user: &User,
    ) -> Result<(), Failure> {
        let store = &self.inner.store;
        if self
            .has_link_from(&user.id, &link.issuer, &link.subject)
            .await?
        {
            return Err(self.already_linked(&link.issuer));
        }
        if store
            .link_identity(&link.issuer, &link.subject, &user.id, self.now())
            .await?
        {
            return Ok(());
        }
        // Linked meanwhile (a concurrent callback): fine if to this user.
        match store
            .find_identity_link(&link.issuer, &link.subject)
            .await?
        {
            Some(linked) if linked == user.id => Ok(()),
            _ => Err(self.already_linked(&link.issuer)),
        }
    }

    /// Whether `user_id` has a link from `issuer` other than (`issuer`, `subject`).
    pub(super) async fn has_link_from(
        &self,
        user_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, Failure> {
        let links = self.inner.store.identity_links(user_id).await?;
        Ok(links
            .iter()
            .any(|l| l.issuer == issuer && l.subject != subject))
    }

    /// The page for an email match whose user is linked to another identity of the provider.
    pub(super) fn already_linked(&self, issuer: &str) -> Failure {
        tracing::warn!(
            target: crate::events::TARGET, event = crate::events::UPSTREAM_LOGIN_FAILED,
            issuer, reason = "the user with this email is linked to another identity there"
        );
        Failure::Page(self.inner.pages.message(
            StatusCode::FORBIDDEN,
            "Account already linked",
            "The account on this server with this email address is already linked to another \
             account at that provider, so it is not linked to this one. Ask an administrator.",
        ))
    }

    async fn rotate_csrf(
        &self,
        pending_id: &str,
        pending: &PendingAuthorization,
    ) -> Result<String, Failure> {
        let csrf = random_secret();
        let renewed = PendingAuthorization {
            csrf: secret_digest(&csrf),
            ..pending.clone()
        };
        self.inner
            .store
            .put_pending(&secret_digest(pending_id), &renewed)
            .await?;
        Ok(csrf)
    }

    /// A new browser session for `user`, replacing the browser's previous one (a new id at
    /// every login, so an id planted before the login is worth nothing after it).
    async fn start_session(
        &self,
        reply: &mut Reply,
        headers: &HeaderMap,
        user: &User,
        issuance: &Issuance,
        auth_time: i64,
    ) -> Result<BrowserSession, Failure> {
        // A login in a browser that had a session of the same user keeps the native apps
        // confirmed in it: they were confirmed in this browser.
        let mut confirmed_clients = Vec::new();
        if let Some(old) = cookies::read(headers, SESSION_COOKIE, self.inner.secure_cookies) {
            let digest = secret_digest(&old);
            if let Some(previous) = self.inner.store.find_session(&digest).await?
                && previous.user_id == user.id
            {
                confirmed_clients = previous.confirmed_clients;
            }
            self.inner.store.delete_session(&digest).await?;
        }
        let id = random_secret();
        let lifetime = self.inner.browser_session.whole_seconds();
        let session = BrowserSession {
            user_id: user.id.clone(),
            auth_time,
            generation: issuance.generation,
            epoch: issuance.epoch,
            expires_at: auth_time + lifetime,
            confirmed_clients,
        };
        self.inner
            .store
            .put_session(&secret_digest(&id), &session)
            .await?;
        if let Some(cookie) = cookies::set(
            SESSION_COOKIE,
            &id,
            self.inner.secure_cookies,
            Some(lifetime),
        ) {
            reply.cookies.push(cookie);
        }
        Ok(session)
    }
}
