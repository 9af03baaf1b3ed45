//! `GET|POST /logout` (OpenID RP-Initiated Logout 1.0): ends the browser session and, for a
//! registered client's URI, sends the browser back.
//!
//! A request that does not show it comes from the signed-in user's client (an `id_token_hint`
//! this server issued for the session's user) gets a confirmation page first, as §2 and §6
//! suggest: otherwise any site could sign the user out with a link or an image. The page's form
//! carries a CSRF token derived from the session cookie, so only a page this browser was shown
//! can confirm.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::provider::LOGOUT_PATH;
use crate::token::{IdTokenClaims, Verified};

/// What the confirmation form's CSRF token signs, keyed with the session cookie.
const CONFIRMATION_CONTEXT: &[u8] = b"tokenward logout confirmation";

/// The parameters of a logout request (§2), and the confirmation form's CSRF token.
#[derive(Default)]
struct LogoutRequest {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    id_token_hint: Option<String>,
    csrf: Option<String>,
}

impl LogoutRequest {
    /// `None` if a parameter is repeated (which of two values to trust is not for us to guess).
    fn parse(params: &str) -> Option<Self> {
        let mut request = Self::default();
        for (name, value) in form_urlencoded::parse(params.as_bytes()) {
            let slot = match name.as_ref() {
                "client_id" => &mut request.client_id,
                "post_logout_redirect_uri" => &mut request.post_logout_redirect_uri,
                "state" => &mut request.state,
                "id_token_hint" => &mut request.id_token_hint,
                "csrf" => &mut request.csrf,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return None;
            }
        }
        Some(request)
    }
}

impl AuthorizationServer {
    /// `GET` or `POST /logout` with the query (or form) `[id_token_hint&client_id&
    /// post_logout_redirect_uri&state]`: ends the browser session at once for a valid
    /// `id_token_hint` of the session's user, else after the user confirms on a page; then
    /// redirects only to a URI registered for that client.
    pub async fn logout(&self, headers: &HeaderMap, params: &str) -> Response<Vec<u8>> {
        let mut reply = Reply::new();
        let result = self.logout_steps(&mut reply, headers, params).await;
        self.finish(reply, result)
    }

    async fn logout_steps(
        &self,
        reply: &mut Reply,
        headers: &HeaderMap,
        params: &str,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let Some(mut request) = LogoutRequest::parse(params) else {
            return Err(Failure::Page(
                self.bad_request_page("The sign-out request repeats a parameter."),
            ));
        };
        let hint = self.id_token_hint(&request);
        if let Some(hint) = &hint {
            // §2: a client_id beside the hint must be the client the id_token was issued to.
            match &request.client_id {
                Some(client_id) if *client_id != hint.aud => {
                    return Err(Failure::Page(self.bad_request_page(
                        "The sign-out request names another client than its id_token_hint.",
                    )));
                }
                _ => request.client_id = Some(hint.aud.clone()),
            }
        }
        let secure = self.inner.secure_cookies;
        if let Some(cookie) = cookies::read(headers, SESSION_COOKIE, secure) {
            let digest = secret_digest(&cookie);
            let live = self
                .inner
                .store
                .find_session(&digest)
                .await?
                .filter(|session| session.expires_at > self.now());
            if let Some(session) = live {
                let from_its_client = hint.as_ref().is_some_and(|h| h.sub == session.user_id);
                let confirmed = request
                    .csrf
                    .as_deref()
                    .is_some_and(|csrf| confirmation_matches(&cookie, csrf));
                if !from_its_client && !confirmed {
                    return self.logout_page(&request, &cookie).await;
                }
            }
            self.inner.store.delete_session(&digest).await?;
            if let Some(clear) = cookies::clear(SESSION_COOKIE, secure) {
                reply.cookies.push(clear);
            }
        }
        self.after_logout(request).await
    }

    /// The request's `id_token_hint` if this server issued it (expired or not). One it cannot
    /// verify (another issuer's, a retired key's, a forgery) proves nothing and is passed over:
    /// the user is asked instead.
    fn id_token_hint(&self, request: &LogoutRequest) -> Option<Verified<IdTokenClaims>> {
        let token = request.id_token_hint.as_deref()?;
        match self.inner.issuer.codec().validate_id_token_hint(token) {
            Ok(claims) => Some(claims),
            Err(error) => {
                tracing::debug!(%error, "logout: id_token_hint not accepted");
                None
            }
        }
    }

    /// The confirmation page: a form posting the request back with the CSRF token.
    async fn logout_page(
        &self,
        request: &LogoutRequest,
        session_cookie: &str,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let client_name = match &request.client_id {
            Some(client_id) => self
                .inner
                .clients
                .find_client(client_id)
                .await?
                .map(|client| client.name),
            None => None,
        };
        Ok(self.inner.pages.render(
            StatusCode::OK,
            "logout.html",
            minijinja::context! {
                title => "Sign out?",
                action => LOGOUT_PATH,
                csrf => confirmation_token(session_cookie),
                client_name,
                client_id => &request.client_id,
                post_logout_redirect_uri => &request.post_logout_redirect_uri,
                state => &request.state,
            },
        ))
    }

    /// The redirect to the client's registered URI (with its `state`, §3), or the signed-out
    /// page when there is none to trust.
    async fn after_logout(&self, request: LogoutRequest) -> Result<Response<Vec<u8>>, Failure> {
        if let (Some(client_id), Some(target)) =
            (request.client_id, request.post_logout_redirect_uri)
        {
            let client = self.inner.clients.find_client(&client_id).await?;
            if client.is_some_and(|c| c.redirect_uri_matches(&target)) {
                let location = match (request.state, url::Url::parse(&target)) {
                    (Some(state), Ok(mut url)) => {
                        url.query_pairs_mut().append_pair("state", &state);
                        url.to_string()
                    }
                    _ => target,
                };
                return Ok(redirect(&location));
            }
        }
        Ok(self
            .inner
            .pages
            .message(StatusCode::OK, "Signed out", "You are signed out."))
    }
}

/// The confirmation form's CSRF token: an HMAC of a fixed context keyed with the session
/// cookie, so it needs no storage and only a page shown to this browser's session carries it.
fn confirmation_token(session_cookie: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, session_cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, CONFIRMATION_CONTEXT))
}

/// Whether `csrf` is the session's confirmation token (compared in constant time).
fn confirmation_matches(session_cookie: &str, csrf: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(csrf) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, session_cookie.as_bytes());
    hmac::verify(&key, CONFIRMATION_CONTEXT, &tag).is_ok()
}
