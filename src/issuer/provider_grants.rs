//! What the authorization server asks of the issuer: tokens for a redeemed
//! authorization code, for a client itself, and the checks a browser session needs. The
//! security decisions stay here, beside the password and refresh grants they mirror.

use secrecy::SecretString;

use super::{
    TokenIssuer, TokenPair, new_session_id, observe, session_keep_until, user_verdict, verdict,
};
use crate::error::{Error, Rejection};
use crate::events;
use crate::store::{CodeGrant, Issuance, RevocationQuery, User};
use crate::token::{AccessClaims, Scopes, SubjectKind, TokenSubject};

/// An access token a client got for itself (client credentials): no refresh token.
pub struct ClientToken {
    /// The access token.
    pub access_token: SecretString,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its claims.
    pub claims: AccessClaims,
}

impl TokenIssuer {
    /// The user with this id if they exist and are enabled, with the generation and epoch their
    /// tokens get now: a browser session is only as good as this answer.
    pub(crate) async fn session_user(
        &self,
        user_id: &str,
    ) -> Result<Option<(User, Issuance)>, Error> {
        let inner = &self.inner;
        let (issuance, user) = tokio::join!(
            inner.revocation.issuance(user_id),
            inner.users.find_by_id(user_id)
        );
        let issuance = issuance?;
        Ok(match user? {
            Some(user) if !user.disabled => Some((user, issuance)),
            _ => None,
        })
    }

    /// Tokens for a code just redeemed: refused if the user is gone or disabled, or if a
    /// logout-all, password change or revocation of the code's session happened since the
    /// login it records.
    pub(crate) async fn issue_for_code(&self, grant: &CodeGrant) -> Result<TokenPair, Error> {
        observe("authorization_code", self.issue_for_code_steps(grant).await)
    }

    async fn issue_for_code_steps(&self, grant: &CodeGrant) -> Result<TokenPair, Error> {
        let inner = &self.inner;
        let query = RevocationQuery {
            // No token of the session exists yet; only the session and the user are asked about.
            jti: "",
            session_id: &grant.session_id,
            user_id: &grant.user_id,
        };
        let (status, user) = tokio::join!(
            inner.revocation.check(query),
            inner.users.find_by_id(&grant.user_id)
        );
        verdict(&status?, grant.generation, grant.epoch).map_err(Error::InvalidGrant)?;
        let user = user_verdict(user?).map_err(Error::InvalidGrant)?;
        // Scopes the user lost since the login are not granted.
        let scope = grant.scope.intersection(&user.grantable_scopes());
        let session_exp = self.session_exp();
        let subject = TokenSubject {
            user_id: &user.id,
            session_id: &grant.session_id,
            generation: grant.generation,
            epoch: grant.epoch,
            session_exp: Some(session_exp),
        };
        self.issue_pair(subject, &scope, &scope, session_exp, Some(&grant.client_id))
    }

    /// Revokes everything issued from a code presented a second time (RFC 6749 §4.1.2: the
    /// code may have been stolen, so its tokens may be in the wrong hands).
    pub(crate) async fn revoke_code_tokens(&self, grant: &CodeGrant) -> Result<(), Error> {
        let keep_until = session_keep_until(self.session_exp());
        self.inner
            .revocation
            .revoke_session(&grant.session_id, keep_until)
            .await?;
        ::metrics::counter!(crate::metrics::REFRESH_REUSE).increment(1);
        tracing::warn!(
            target: events::TARGET, event = events::CODE_REPLAYED,
            user_id = %grant.user_id, client_id = %grant.client_id, session_id = %grant.session_id
        );
        Ok(())
    }

    /// An access token for `client_id` itself (RFC 6749 §4.4), `sub` the client id. Refused if
    /// a user has that id, so a client's token can never pass for a user's (RFC 9068 §5).
    pub(crate) async fn issue_for_client(
        &self,
        client_id: &str,
        scope: &Scopes,
    ) -> Result<ClientToken, Error> {
        let inner = &self.inner;
        let (issuance, user) = tokio::join!(
            inner.revocation.issuance(client_id),
            inner.users.find_by_id(client_id)
        );
        let issuance = issuance?;
        if user?.is_some() {
            tracing::warn!(
                client_id,
                "a user has this client's id; client credentials refused"
            );
            return Err(Error::InvalidGrant(Rejection::OtherClient));
        }
        let session_id = new_session_id();
        let subject = TokenSubject {
            user_id: client_id,
            session_id: &session_id,
            generation: issuance.generation,
            epoch: issuance.epoch,
            session_exp: None,
        };
        let access = inner
            .codec
            .issue_access_as(subject, scope, &(), Some(client_id), SubjectKind::Client)
            .map_err(Error::Signing)?;
        Ok(ClientToken {
            expires_in: u64::try_from(access.claims.exp - access.claims.iat).unwrap_or(0),
            access_token: access.token,
            claims: access.claims,
        })
    }

    /// The claims of a refresh token this issuer would still accept from `client_id`, without
    /// spending it (introspection). `None` for anything else.
    pub(crate) async fn inspect_refresh(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<Option<crate::token::Verified<crate::token::RefreshClaims>>, Error> {
        let Ok(claims) = self.inner.codec.validate_refresh(token) else {
            return Ok(None);
        };
        if claims.client_id.as_deref() != Some(client_id) {
            return Ok(None);
        }
        let query = RevocationQuery {
            jti: &claims.jti,
            session_id: &claims.sid,
            user_id: &claims.sub,
        };
        let (status, used, user) = tokio::join!(
            self.inner.revocation.check(query),
            self.inner.revocation.refresh_used(&claims.jti),
            self.inner.users.find_by_id(&claims.sub)
        );
        // A token its user can no longer refresh (deleted, disabled) is not active.
        if user_verdict(user?).is_err() {
            return Ok(None);
        }
        // A store that cannot tell whether it was used does not get to call it active.
        let used = match used {
            Ok(used) => used,
            Err(crate::store::StoreError::Config(_)) => true,
            Err(err) => return Err(err.into()),
        };
        if verdict(&status?, claims.generation, claims.epoch).is_err() || used {
            return Ok(None);
        }
        Ok(Some(claims))
    }
}

/// The id of a new login session for a code (its refresh family).
pub(crate) fn code_session_id() -> String {
    new_session_id()
}
