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
        let (client, request) = self.checked_stored_request(&pending.query).await?;
        let now = self.now();
        let found = self.browser_session(headers, now).await?;
        let next = decide::decide(&Situation {
            request: Request::from(&request),
            client: ClientView::new(
                &client,
                &request,
                found.as_ref().map(|f| &f.record),
                &self.inner.issuer_url,
            ),
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
            if let Some(found) = &found {
                self.confirmed_on_session(headers, &found.record, &client, &request)
                    .await?;
            }
        }
        let browser =
            cookies::read(headers, BROWSER_COOKIE, self.inner.secure_cookies).unwrap_or_default();
        let on = Acting {
            browser: &browser,
            client: &client,
            request: &request,
            address: None,
            user,
        };
        self.act(next, on).await
    }

    /// Records on the browser session that the user confirmed a native app's client (RFC 8252
    /// §8.6), so its next requests on this browser need no page.
    async fn confirmed_on_session(
        &self,
        headers: &HeaderMap,
        record: &BrowserSession,
        client: &Client,
        request: &AuthorizationRequest,
    ) -> Result<(), Failure> {
        let view = ClientView::new(client, request, Some(record), &self.inner.issuer_url);
        if !view.impersonable || view.confirmed_here {
            return Ok(());
        }
        let Some(cookie) = cookies::read(headers, SESSION_COOKIE, self.inner.secure_cookies) else {
            return Ok(());
        };
        let mut record = record.clone();
        record.confirm_client(&client.client_id);
        // Only over the session as it still is: a logout meanwhile is not undone.
        self.inner
            .store
            .update_session(&secret_digest(&cookie), &record)
            .await?;
        Ok(())
    }
}
