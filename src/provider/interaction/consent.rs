//! `POST /authorize/consent`: the user's answer on the consent page, recorded and acted on.

use super::*;

impl AuthorizationServer {
    /// `POST /authorize/consent`: `decision=allow` or `deny`.
    pub async fn consent(&self, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
        let reply = Reply::new();
        let result = self.consent_steps(headers, body).await;
        self.finish(reply, result)
    }

    async fn consent_steps(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response<Vec<u8>>, Failure> {
        let mut form = Form::parse(headers, body)
            .map_err(|e| Failure::Page(self.bad_request_page(&e.description)))?;
        let (pending_id, pending) = self.pending_of(headers, &mut form).await?;
        let (client, request) = self.checked_request(&pending.query).await?;
        let now = self.now();
        let found = self.browser_session(headers, now).await?;
        let next = decide::decide(&Situation {
            request: Request::from(&request),
            client: ClientView::from(&client),
            step: Step::ConsentAnswer {
                session: found.as_ref().map(FoundSession::view),
                pending_user: pending.user_id.as_deref(),
                pending_auth_time: pending.auth_time,
                allow: form.take("decision").as_deref() == Some("allow"),
            },
            consented: None,
            now,
        });
        let user = found.as_ref().and_then(FoundSession::user);
        // A form the browser's login cannot answer does not use up the request it names.
        if !matches!(next, Next::StartOver { .. }) {
            self.inner
                .store
                .delete_pending(&secret_digest(&pending_id))
                .await?;
        }
        if let (Next::IssueCode { scope, .. }, Some((user, _))) = (&next, user) {
            self.inner
                .store
                .add_consent(&user.id, &client.client_id, scope)
                .await?;
        }
        let browser =
            cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies).unwrap_or_default();
        let on = Acting {
            browser: &browser,
            client: &client,
            request: &request,
            query: &pending.query,
            user,
        };
        self.act(next, on).await
    }
}
