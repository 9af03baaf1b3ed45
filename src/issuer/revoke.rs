//! Revocation (RFC 7009) and logout everywhere.

use super::*;

impl TokenIssuer {
    /// Revokes a token (RFC 7009). An access token is revoked alone; a refresh token revokes its
    /// whole session, access tokens included. Garbage, expired and foreign tokens are accepted
    /// silently, as the RFC requires; only a store failure is an error.
    pub async fn revoke(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        observe("revoke", self.revoke_steps(token, hint).await)
    }

    async fn revoke_steps(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
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
