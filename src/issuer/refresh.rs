//! Refresh rotation (RFC 6749 §6): single use, reuse revokes the whole login, bound to the
//! client it was issued to, never past the login session.

use super::*;

impl TokenIssuer {
    /// Exchanges a refresh token for a new pair (RFC 6749 §6). The token is consumed atomically:
    /// of any number of concurrent calls with it, one wins; every other use, then or later, is
    /// reuse, and revokes its whole session, the winner's new tokens included. `requested` may
    /// narrow the scopes, never widen them.
    ///
    /// Refresh tokens issued to an OAuth client (the authorization code flow) are refused here:
    /// they need that client, through the authorization server's token endpoint.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
    ) -> Result<TokenPair, Error> {
        self.refresh_for(refresh_token, requested, None).await
    }

    /// [`Self::refresh`] by `client` (the authenticated client, `None` for none): the token
    /// must have been issued to exactly that client, and scopes since removed from the
    /// client's registration are not granted again.
    pub(crate) async fn refresh_for(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
        client: Option<&Client>,
    ) -> Result<TokenPair, Error> {
        observe(
            "refresh",
            self.refresh_steps(refresh_token, requested, client).await,
        )
    }

    async fn refresh_steps(
        &self,
        refresh_token: &str,
        requested: Option<&Scopes>,
        client: Option<&Client>,
    ) -> Result<TokenPair, Error> {
        let inner = &self.inner;
        let claims = inner
            .codec
            .validate_refresh(refresh_token)
            .map_err(|e| Error::InvalidGrant(Rejection::Token(e)))?;
        // Checked before anything is consumed: another client's attempt must not burn the
        // token (or its family) for the client that holds it.
        if claims.client_id.as_deref() != client.map(|c| c.client_id.as_str()) {
            return Err(Error::InvalidGrant(Rejection::OtherClient));
        }
        let query = RevocationQuery {
            jti: &claims.jti,
            session_id: &claims.sid,
            user_id: &claims.sub,
        };
        self.revocation_verdict(query, claims.generation, claims.epoch)
            .await?
            .map_err(Error::InvalidGrant)?;
        // Everything that can refuse the request is checked before the token is consumed, so a
        // bad scope parameter or a store outage followed by a client retry does not burn it.
        let granted = grant(&claims.scope, requested)?;
        let user = inner.users.find_by_id(&claims.sub).await?;
        let user = user_verdict(user.as_ref()).map_err(Error::InvalidGrant)?;
        // Kept past the token's expiry by the most leeway any validator may allow, so a used
        // token cannot come back while some instance still accepts it.
        let keep_until = claims.exp.saturating_add(MAX_LEEWAY.whole_seconds());
        if !inner
            .revocation
            .consume_refresh(&claims.jti, keep_until)
            .await?
        {
            inner
                .revocation
                .revoke_session(&claims.sid, session_keep_until(claims.session_exp))
                .await?;
            ::metrics::counter!(crate::metrics::REFRESH_REUSE).increment(1);
            tracing::warn!(
                target: events::TARGET, event = events::REFRESH_REUSED,
                user_id = %claims.sub, session_id = %claims.sid
            );
            return Err(Error::InvalidGrant(Rejection::RefreshReused));
        }
        // Scopes the user has lost since login, or the client since it was registered with
        // them, are not granted again.
        let mut grantable = user.grantable_scopes();
        if let Some(client) = client {
            grantable = grantable.intersection(&client.scopes);
        }
        let granted = granted.intersection(&grantable);
        let refresh_scope = claims.scope.intersection(&grantable);
        let subject = TokenSubject {
            user_id: &claims.sub,
            session_id: &claims.sid,
            generation: claims.generation,
            epoch: claims.epoch,
            session_exp: Some(claims.session_exp),
        };
        self.issue_pair(
            subject,
            &granted,
            &refresh_scope,
            claims.session_exp,
            claims.client_id.as_deref(),
        )
    }
}
