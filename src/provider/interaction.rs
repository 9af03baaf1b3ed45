//! The browser side of the code flow: `GET /authorize`, the login and consent forms, and
//! `/logout`. Each step is one rule of RFC 6749 §4.1, RFC 9700 or OpenID Core §3.1.2, in the
//! order the contract gives them. Whether a request needs a login or a consent, and which
//! scopes its code carries, is `decide`'s answer over what these controllers read from cookies,
//! forms and stores; they act on it.

use std::net::IpAddr;

use http::header::{HeaderValue, LOCATION, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use secrecy::SecretString;
use subtle::ConstantTimeEq;

use super::cookies::{self, BROWSER_COOKIE, SESSION_COOKIE};
use super::decide::{
    self, Account, ClientView, Next, Reason, Refusal, Request, Session, Situation, Step,
};
use super::server::{AuthorizationServer, CODE_LIFETIME, PENDING_LIFETIME, random_secret};
use super::{
    AuthorizationQuery, AuthorizationRequest, AuthorizeError, BrowserSession, Client, CodeGrant,
    PendingAuthorization, PendingLink, UnredirectableError, secret_digest,
};
use crate::Error;
use crate::issuer::code_session_id;
use crate::oauth2::Form;
use crate::store::{Issuance, StoreError, User};
use crate::token::Scopes;

mod consent;
mod login;
mod logout;
#[cfg(feature = "upstream")]
mod upstream_login;

/// Where the login form posts.
pub const LOGIN_PATH: &str = "/authorize/login";
/// Where the consent form posts.
pub const CONSENT_PATH: &str = "/authorize/consent";

const GENERIC_LOGIN_ERROR: &str = "The username or password is incorrect.";

/// A response under construction: the cookies to set travel with it.
struct Reply {
    cookies: Vec<HeaderValue>,
}

impl Reply {
    fn new() -> Self {
        Self {
            cookies: Vec::new(),
        }
    }

    fn finish(self, mut response: Response<Vec<u8>>) -> Response<Vec<u8>> {
        for cookie in self.cookies {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

/// The record a browser's session cookie names, and its user as loaded now.
struct FoundSession {
    record: BrowserSession,
    /// `None` if the user is gone or disabled, or was not looked up (the record had expired).
    account: Option<Loaded>,
}

impl FoundSession {
    fn view(&self) -> Session<'_> {
        Session {
            record: &self.record,
            account: self
                .account
                .as_ref()
                .map(|l| account(&l.user, l.issuance, &l.grantable)),
        }
    }

    fn user(&self) -> Option<(&User, Issuance)> {
        self.account.as_ref().map(|l| (&l.user, l.issuance))
    }
}

/// A session's user with their issuance now and what they may be granted.
struct Loaded {
    user: User,
    issuance: Issuance,
    grantable: Scopes,
}

fn account<'a>(user: &'a User, issuance: Issuance, grantable: &'a Scopes) -> Account<'a> {
    Account {
        user_id: &user.id,
        disabled: user.disabled,
        grantable,
        issuance,
    }
}

/// What acting on a decision needs besides the decision.
struct Acting<'a> {
    /// The browser cookie's value, for a page's pending request.
    browser: &'a str,
    client: &'a Client,
    request: &'a AuthorizationRequest,
    /// The peer's address where the route has it: a new pending request counts against it.
    address: Option<IpAddr>,
    /// The user the decision is about, if it got as far as one.
    user: Option<(&'a User, Issuance)>,
}

/// A user who has just proved who they are on this browser.
struct FreshLogin<'a> {
    user: &'a User,
    issuance: &'a Issuance,
    /// When they did (unix seconds).
    auth_time: i64,
}

/// What went wrong on the browser side, before a page could be chosen.
enum Failure {
    /// A store or the hasher did not answer.
    Unavailable,
    /// A page to show as it is.
    Page(Response<Vec<u8>>),
}

impl From<StoreError> for Failure {
    fn from(_: StoreError) -> Self {
        Failure::Unavailable
    }
}

impl From<Error> for Failure {
    fn from(_: Error) -> Self {
        Failure::Unavailable
    }
}

fn redirect(location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl AuthorizationServer {
    fn unavailable_page(&self) -> Response<Vec<u8>> {
        let mut response = self.inner.pages.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The sign-in service cannot answer right now. Please try again in a moment.",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("5"));
        response
    }

    fn too_many_forms_page(&self, retry_after_secs: u64) -> Response<Vec<u8>> {
        let mut response = self.inner.pages.message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts",
            "Too many sign-in pages were opened from here. Please wait a moment and try again.",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        response
    }

    fn bad_request_page(&self, message: &str) -> Response<Vec<u8>> {
        self.inner.pages.message(
            StatusCode::BAD_REQUEST,
            "This request cannot continue",
            message,
        )
    }

    fn unredirectable_page(&self, error: &UnredirectableError) -> Response<Vec<u8>> {
        // Never a redirect: the redirect URI is not known to belong to the client.
        self.bad_request_page(&format!(
            "The application sent an invalid sign-in request ({error}). Nothing was sent back to it."
        ))
    }

    fn finish(
        &self,
        reply: Reply,
        result: Result<Response<Vec<u8>>, Failure>,
    ) -> Response<Vec<u8>> {
        match result {
            Ok(response) => reply.finish(response),
            Err(Failure::Page(response)) => reply.finish(response),
            Err(Failure::Unavailable) => reply.finish(self.unavailable_page()),
        }
    }

    /// `GET /authorize` from `address` (the peer) with the request's query string (without `?`).
    pub async fn authorize(
        &self,
        address: IpAddr,
        headers: &HeaderMap,
        query: &str,
    ) -> Response<Vec<u8>> {
        let mut reply = Reply::new();
        let result = self
            .authorize_steps(&mut reply, address, headers, query)
            .await;
        self.finish(reply, result)
    }

    async fn authorize_steps(
        &self,
        reply: &mut Reply,
        address: IpAddr,
        headers: &HeaderMap,
        query: &str,
    ) -> Result<Response<Vec<u8>>, Failure> {
        // Only a navigation shows a sign-in page: an image, script or fetch from another site
        // would otherwise store forms against the visitor's address and browser budgets.
        if headers
            .get("sec-fetch-dest")
            .is_some_and(|dest| dest.as_bytes() != b"document")
        {
            return Err(Failure::Page(self.bad_request_page(
                "Sign-in pages open only in the browser window itself.",
            )));
        }
        let (client, request) = self.checked_request(query).await?;
        let now = self.now();
        let found = self.browser_session(headers, now).await?;
        let situation = Situation {
            request: Request::from(&request),
            client: ClientView::new(
                &client,
                &request,
                found.as_ref().map(|f| &f.record),
                &self.inner.issuer_url,
            ),
            step: Step::Authorize {
                session: found.as_ref().map(FoundSession::view),
            },
            consented: None,
            now,
        };
        let next = decide::decide(&situation);
        // Every answer but a silent login_required binds the browser, as it always has: that
        // one shows nothing and sends the browser away.
        let browser = match next {
            Next::Refuse {
                error: Refusal::LoginRequired,
                ..
            } => String::new(),
            _ => self.browser_id(reply, headers),
        };
        let user = found.as_ref().and_then(FoundSession::user);
        let next = self
            .with_consent(
                next,
                situation,
                user.map(|(u, _)| u.id.as_str()),
                &client.client_id,
            )
            .await?;
        let on = Acting {
            browser: &browser,
            client: &client,
            request: &request,
            address: Some(address),
            user,
        };
        self.act(next, on).await
    }

    /// Parses and checks an `/authorize` query against the client it names.
    async fn checked_request(
        &self,
        query: &str,
    ) -> Result<(Client, AuthorizationRequest), Failure> {
        let parsed = AuthorizationQuery::parse(query)
            .map_err(|e| Failure::Page(self.unredirectable_page(&e)))?;
        self.check_parsed(parsed).await
    }

    /// [`Self::checked_request`] for a request this server stored (`AuthorizationRequest::
    /// to_query`): checked again against the client as it is now, without the length limit of
    /// what browsers send, since re-encoding may have made it longer.
    async fn checked_stored_request(
        &self,
        query: &str,
    ) -> Result<(Client, AuthorizationRequest), Failure> {
        self.check_parsed(AuthorizationQuery::parse_stored(query))
            .await
    }

    async fn check_parsed(
        &self,
        parsed: AuthorizationQuery,
    ) -> Result<(Client, AuthorizationRequest), Failure> {
        let client = match parsed.client_id() {
            Ok(id) => self.inner.clients.find_client(id).await?,
            Err(_) => None,
        };
        match parsed.check(client.as_ref()) {
            Ok(request) => match client {
                Some(client) => Ok((client, request)),
                None => Err(Failure::Page(
                    self.unredirectable_page(&UnredirectableError::UnknownClient),
                )),
            },
            Err(AuthorizeError::Unredirectable(e)) => {
                Err(Failure::Page(self.unredirectable_page(&e)))
            }
            Err(AuthorizeError::Redirect(e)) => {
                Err(Failure::Page(redirect(&e.location(&self.inner.issuer_url))))
            }
        }
    }

    /// The record the browser's session cookie names, if any, and its user unless the record
    /// expired before `now`.
    async fn browser_session(
        &self,
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Option<FoundSession>, Failure> {
        let Some(cookie) = cookies::read(headers, SESSION_COOKIE, self.inner.secure_cookies) else {
            return Ok(None);
        };
        let digest = secret_digest(&cookie);
        let Some(record) = self.inner.store.find_session(&digest).await? else {
            return Ok(None);
        };
        // An expired session's user is not worth a lookup: the decision refuses it anyway.
        let account = if decide::expired(&record, now) {
            None
        } else {
            let found = self.inner.issuer.session_user(&record.user_id).await?;
            found.map(|(user, issuance)| Loaded {
                grantable: user.grantable_scopes(),
                user,
                issuance,
            })
        };
        Ok(Some(FoundSession { record, account }))
    }

    /// The browser binding cookie's value, set on the reply if the browser has none yet.
    fn browser_id(&self, reply: &mut Reply, headers: &HeaderMap) -> String {
        if let Some(id) = cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies) {
            return id;
        }
        let id = random_secret();
        if let Some(cookie) = cookies::set(BROWSER_COOKIE, &id, self.inner.secure_cookies, None) {
            reply.cookies.push(cookie);
        }
        id
    }

    /// Stores `request` as a pending request shown to `browser`, within the budgets of the
    /// browser and `address`; returns its id and CSRF token.
    async fn new_pending(
        &self,
        address: Option<IpAddr>,
        browser: &str,
        request: &AuthorizationRequest,
        user: Option<(&str, i64)>,
    ) -> Result<(String, String), Failure> {
        let browser = secret_digest(browser);
        match self
            .inner
            .issuer
            .admit_pending_request(address, &browser, self.inner.pending_limits)
            .await
        {
            Ok(()) => {}
            Err(Error::Throttled { retry_after_secs }) => {
                return Err(Failure::Page(self.too_many_forms_page(retry_after_secs)));
            }
            Err(_) => return Err(Failure::Unavailable),
        }
        let pending = PendingAuthorization {
            query: request.to_query(),
            browser,
            csrf: String::new(),
            user_id: user.map(|(id, _)| id.to_owned()),
            auth_time: user.map(|(_, at)| at),
            upstream_link: None,
            expires_at: self.now() + PENDING_LIFETIME.whole_seconds(),
        };
        self.put_new_pending(pending).await
    }

    /// Stores `pending` under a new id with a new CSRF token; returns both.
    async fn put_new_pending(
        &self,
        mut pending: PendingAuthorization,
    ) -> Result<(String, String), Failure> {
        let id = random_secret();
        let csrf = random_secret();
        pending.csrf = secret_digest(&csrf);
        self.inner
            .store
            .put_pending(&secret_digest(&id), &pending)
            .await?;
        Ok((id, csrf))
    }

    /// The login page. `linking`: the password check before an upstream identity is linked
    /// to `username` (fixed), without the upstream button.
    #[allow(clippy::too_many_arguments)]
    fn login_page(
        &self,
        status: StatusCode,
        client: &Client,
        pending: &str,
        csrf: &str,
        username: &str,
        error: Option<&str>,
        linking: bool,
    ) -> Response<Vec<u8>> {
        self.inner.pages.render(
            status,
            "login.html",
            minijinja::context! {
                title => if linking { "Confirm your password" } else { "Sign in" },
                client_name => &client.name,
                action => LOGIN_PATH,
                pending,
                csrf,
                username,
                error,
                linking,
                upstream_name => self.upstream_name(),
                upstream_action => super::UPSTREAM_START_PATH,
            },
        )
    }

    /// The upstream provider's button label, if one is configured.
    fn upstream_name(&self) -> Option<&str> {
        #[cfg(feature = "upstream")]
        if let Some(upstream) = &self.inner.upstream {
            return Some(upstream.name());
        }
        None
    }

    fn no_upstream_page(&self) -> Response<Vec<u8>> {
        self.inner.pages.message(
            StatusCode::NOT_FOUND,
            "Not available",
            "Signing in with another provider is not set up on this server.",
        )
    }

    /// `POST /upstream/start`: the login page's "Log in with ..." button (its form carries the
    /// pending request and CSRF token). Redirects to the upstream provider; an error page if it
    /// cannot be reached or none is configured.
    pub async fn upstream_start(&self, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        let reply = Reply::new();
        #[cfg(feature = "upstream")]
        if let Some(upstream) = &self.inner.upstream {
            let result = self.upstream_start_steps(upstream, headers, body).await;
            return self.finish(reply, result);
        }
        let _ = (headers, body);
        reply.finish(self.no_upstream_page())
    }

    /// `GET /upstream/callback` with its query (without `?`): the upstream provider's answer.
    /// Exchanges the code, verifies the id_token, logs the linked user in and continues the
    /// original `/authorize` request; an error page for anything else.
    pub async fn upstream_callback(&self, headers: &HeaderMap, query: &str) -> Response<Vec<u8>> {
        #[allow(unused_mut)]
        let mut reply = Reply::new();
        #[cfg(feature = "upstream")]
        if let Some(upstream) = &self.inner.upstream {
            let result = self
                .upstream_callback_steps(upstream, &mut reply, headers, query)
                .await;
            return self.finish(reply, result);
        }
        let _ = (headers, query);
        reply.finish(self.no_upstream_page())
    }

    /// `next`, or the decision again with what `user_id` has allowed `client_id` if `next`
    /// asked for it.
    async fn with_consent(
        &self,
        next: Next,
        situation: Situation<'_>,
        user_id: Option<&str>,
        client_id: &str,
    ) -> Result<Next, Failure> {
        let (Next::ReadConsent, Some(user_id)) = (&next, user_id) else {
            return Ok(next);
        };
        let consented = self
            .inner
            .store
            .consented_scopes(user_id, client_id)
            .await?;
        Ok(decide::decide(&Situation {
            consented: Some(&consented),
            ..situation
        }))
    }

    /// Shows the page, issues the code or redirects the error that `next` says.
    async fn act(&self, next: Next, on: Acting<'_>) -> Result<Response<Vec<u8>>, Failure> {
        let Acting {
            browser,
            client,
            request,
            address,
            user,
        } = on;
        match next {
            Next::Login { .. } => {
                let (pending, csrf) = self.new_pending(address, browser, request, None).await?;
                Ok(self.login_page(StatusCode::OK, client, &pending, &csrf, "", None, false))
            }
            Next::Consent {
                scope,
                auth_time,
                reason,
            } => {
                // Offered only after a usable login, which is `user`'s.
                let Some((user, _)) = user else {
                    return Err(Failure::Unavailable);
                };
                let (pending, csrf) = self
                    .new_pending(address, browser, request, Some((&user.id, auth_time)))
                    .await?;
                let scopes: Vec<&str> = scope.iter().collect();
                Ok(self.inner.pages.render(
                    StatusCode::OK,
                    "consent.html",
                    minijinja::context! {
                        title => "Allow access",
                        client_name => &client.name,
                        native_app => reason == Reason::UnconfirmedNativeApp,
                        username => &user.username,
                        scopes,
                        action => CONSENT_PATH,
                        pending,
                        csrf,
                    },
                ))
            }
            Next::IssueCode {
                scope, auth_time, ..
            } => {
                let Some((user, issuance)) = user else {
                    return Err(Failure::Unavailable);
                };
                self.issue_code(request, &scope, user, &issuance, auth_time)
                    .await
            }
            Next::Refuse { error, .. } => Ok(redirect(
                &request
                    .error(error.code(), error.description())
                    .location(&self.inner.issuer_url),
            )),
            Next::StartOver { .. } => Err(Failure::Page(self.bad_request_page(
                "You are no longer signed in. Go back to the application and start again.",
            ))),
            // `with_consent` has answered it whenever there was a user to read it for.
            Next::ReadConsent => Err(Failure::Unavailable),
        }
    }

    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        scope: &crate::token::Scopes,
        user: &User,
        issuance: &Issuance,
        auth_time: i64,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let code = random_secret();
        let grant = CodeGrant {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.as_str().to_owned(),
            scope: scope.clone(),
            nonce: request.nonce.clone(),
            user_id: user.id.clone(),
            auth_time,
            session_id: code_session_id(),
            generation: issuance.generation,
            epoch: issuance.epoch,
            expires_at: self.now() + CODE_LIFETIME.whole_seconds(),
        };
        self.inner
            .store
            .put_code(&secret_digest(&code), &grant)
            .await?;
        Ok(redirect(
            &request.success_location(&code, &self.inner.issuer_url),
        ))
    }

    /// The pending request a form names, if the form came from this browser with the right
    /// CSRF token; the page to show otherwise.
    async fn pending_of(
        &self,
        headers: &HeaderMap,
        form: &mut Form,
    ) -> Result<(String, PendingAuthorization), Failure> {
        let stale = || {
            Failure::Page(self.bad_request_page(
                "This sign-in form has expired or was not opened in this browser. \
                 Go back to the application and start again.",
            ))
        };
        let (Some(id), Some(csrf)) = (form.take("pending"), form.take("csrf")) else {
            return Err(stale());
        };
        let digest = secret_digest(&id);
        let Some(pending) = self.inner.store.find_pending(&digest).await? else {
            return Err(stale());
        };
        let browser = cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies)
            .map(|b| secret_digest(&b))
            .unwrap_or_default();
        // Login CSRF: the form must come back with the token it was given, from the browser it
        // was shown to. Both digests are compared in constant time.
        let bound = constant_time_eq(&browser, &pending.browser)
            & constant_time_eq(&secret_digest(&csrf), &pending.csrf);
        if !bound || pending.expires_at < self.now() {
            return Err(stale());
        }
        Ok((id, pending))
    }
}
