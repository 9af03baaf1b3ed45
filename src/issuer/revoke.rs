//! Revocation (RFC 7009) and logout everywhere.

use super::*;

impl TokenIssuer {
    /// Revokes a token (RFC 7009). An access token is revoked alone; a refresh token revokes its
    /// whole session, access tokens included. Garbage, expired and foreign tokens are accepted
    /// silently, as the RFC requires; only a store failure is an error.
    ///
    /// The application calling this is trusted with any token, whichever client it was issued
    /// to; the revocation endpoint checks the caller first.
    pub async fn revoke(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        observe("revoke", self.revoke_steps(token, hint, None).await)
    }

    /// [`Self::revoke`] on behalf of a request at the revocation endpoint by `client` (the
    /// authenticated client, `None` for none): a token issued to a client is revoked only when
    /// that client asks (RFC 7009 §2.1), and otherwise left alone without an error, as for any
    /// token the server would not accept.
    #[cfg(feature = "provider")]
    pub(crate) async fn revoke_for(
        &self,
        token: &str,
        hint: Option<TokenTypeHint>,
        client: Option<&str>,
    ) -> Result<(), Error> {
        observe("revoke", self.revoke_steps(token, hint, Some(client)).await)
    }

    /// `caller`: `None` for the application itself, `Some(client)` for a request.
    async fn revoke_steps(
        &self,
        token: &str,
        hint: Option<TokenTypeHint>,
        caller: Option<Option<&str>>,
    ) -> Result<(), Error> {
        let others = |token_client: Option<&str>| match caller {
            Some(client) => token_client.is_some() && token_client != client,
            None => false,
        };
        let order = match hint {
            Some(TokenTypeHint::RefreshToken) => {
                [TokenTypeHint::RefreshToken, TokenTypeHint::AccessToken]
            }
            _ => [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken],
        };
        let inner = &self.inner;
        for kind in order {
            match kind {
                TokenTypeHint::AccessToken => {
                    if let Ok(claims) = inner.codec.validate_access(token) {
                        if others(claims.client_id.as_deref()) {
                            return Ok(());
                        }
                        let keep_until = claims.exp.saturating_add(MAX_LEEWAY.whole_seconds());
                        inner
                            .revocation
                            .revoke_token(&claims.jti, keep_until)
                            .await?;
                        tracing::info!(
                            target: events::TARGET, event = events::TOKEN_REVOKED,
                            kind = "access", user_id = %claims.sub, session_id = %claims.sid
                        );
                        return Ok(());
                    }
                }
                TokenTypeHint::RefreshToken => {
                    if let Ok(claims) = inner.codec.validate_refresh(token) {
                        if others(claims.client_id.as_deref()) {
                            return Ok(());
                        }
                        inner
                            .revocation
                            .revoke_session(&claims.sid, session_keep_until(claims.session_exp))
                            .await?;
                        tracing::info!(
                            target: events::TARGET, event = events::TOKEN_REVOKED,
                            kind = "refresh", user_id = %claims.sub, session_id = %claims.sid
                        );
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Invalidates every token the user holds, on every session. Logins after it work at once.
    pub async fn logout_all(&self, user_id: &str) -> Result<(), Error> {
        let result = self.inner.revocation.bump_user_generation(user_id).await;
        observe("logout_all", result.map_err(Error::from))?;
        tracing::info!(target: events::TARGET, event = events::LOGOUT_ALL, user_id);
        Ok(())
    }
}
