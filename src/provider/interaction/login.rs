//! `POST /authorize/login`: the password form, checked against the pending request and this
//! browser, counted by the login throttle, and a new browser session on success.

use super::*;

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
        let (client, request) = self.checked_request(&pending.query).await?;
        let username = form.take("username").unwrap_or_default();
        let password = SecretString::from(form.take("password").unwrap_or_default());
        let retry = |status: StatusCode, message: &str, csrf: &str| {
            self.login_page(status, &client, &pending_id, csrf, &username, Some(message))
        };
        let result = self
            .inner
            .issuer
            .authenticate_with(Some(address), &username, &password)
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
        self.inner
            .store
            .delete_pending(&secret_digest(&pending_id))
            .await?;
        let login = FreshLogin {
            user: &user,
            issuance: &issuance,
            auth_time: self.now(),
        };
        self.logged_in_now(reply, headers, &client, &request, &pending.query, login)
            .await
    }

    /// After a login on this browser (the password form, or an upstream provider): a new
    /// browser session, then the request continues (consent page or code).
    pub(super) async fn logged_in_now(
        &self,
        reply: &mut Reply,
        headers: &HeaderMap,
        client: &Client,
        request: &AuthorizationRequest,
        query: &str,
        login: FreshLogin<'_>,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let FreshLogin {
            user,
            issuance,
            auth_time,
        } = login;
        self.start_session(reply, headers, user, issuance, auth_time)
            .await?;
        let browser =
            cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies).unwrap_or_default();
        let grantable = user.grantable_scopes();
        let situation = Situation {
            request: Request::from(request),
            client: ClientView::from(client),
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
            query,
            user: Some((user, *issuance)),
        };
        self.act(next, on).await
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
    ) -> Result<(), Failure> {
        if let Some(old) = cookies::read(headers, SESSION_COOKIE, self.inner.secure_cookies) {
            self.inner
                .store
                .delete_session(&secret_digest(&old))
                .await?;
        }
        let id = random_secret();
        let lifetime = self.inner.browser_session.whole_seconds();
        let session = BrowserSession {
            user_id: user.id.clone(),
            auth_time,
            generation: issuance.generation,
            epoch: issuance.epoch,
            expires_at: auth_time + lifetime,
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
        Ok(())
    }
}
