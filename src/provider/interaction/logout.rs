//! `GET|POST /logout`: ends the browser session and, for a registered client's URI, sends the
//! browser back.

use super::*;

impl AuthorizationServer {
    /// `GET` or `POST /logout` with the query (or form) `[client_id&post_logout_redirect_uri]`:
    /// ends the browser session; redirects only to a URI registered for that client.
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
        if let Some(cookie) = cookies::read(headers, SESSION_COOKIE, self.inner.secure_cookies) {
            self.inner
                .store
                .delete_session(&secret_digest(&cookie))
                .await?;
            if let Some(clear) = cookies::clear(SESSION_COOKIE, self.inner.secure_cookies) {
                reply.cookies.push(clear);
            }
        }
        let mut client_id = None;
        let mut target = None;
        let mut state = None;
        for (name, value) in form_urlencoded::parse(params.as_bytes()) {
            match name.as_ref() {
                "client_id" => client_id = Some(value.into_owned()),
                "post_logout_redirect_uri" => target = Some(value.into_owned()),
                "state" => state = Some(value.into_owned()),
                _ => {}
            }
        }
        if let (Some(client_id), Some(target)) = (client_id, target) {
            let client = self.inner.clients.find_client(&client_id).await?;
            if client.is_some_and(|c| c.redirect_uri_matches(&target)) {
                // RP-Initiated Logout 1.0 §3: the client's `state` comes back with it.
                let location = match (state, url::Url::parse(&target)) {
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
