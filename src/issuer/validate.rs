//! Access-token validation: the codec's signature and claim checks, then one revocation round
//! trip (with the user row when one SQL store holds both).

use super::*;

impl TokenIssuer {
    /// Validates an access token: the codec's checks, then one revocation round trip (the token,
    /// its session and the user's generation), then, if configured, that the user still exists
    /// and is enabled. A store that does not answer is [`Error::Unavailable`], never a pass.
    pub async fn validate(&self, token: &str) -> Result<Verified<AccessClaims>, Error> {
        let inner = &self.inner;
        let claims = match self.access_claims(token) {
            Ok(claims) => claims,
            Err(err) if inner.check_user_on_validate => {
                return observe("validate", counted_validation(Err(err)));
            }
            Err(err) => return Err(err),
        };
        // A client's own token has no user to check: revocation is all there is.
        if inner.check_user_on_validate && claims.subject_kind == SubjectKind::User {
            return observe(
                "validate",
                counted_validation(self.validate_user_claims(claims).await),
            )
            .map(|(claims, _)| claims);
        }
        let query = access_query(&claims);
        observe(
            "validate",
            self.revocation_verdict(query, claims.generation, claims.epoch)
                .await,
        )?
        .map_err(Error::InvalidToken)?;
        Ok(claims)
    }

    /// [`Self::validate`] with the user check always on, returning the user as stored too, so a
    /// handler that needs the user (`/users/me`) does not look it up again. When the user store
    /// and the revocation store are one SQL store, this is a single statement. The claims'
    /// scopes are narrowed to the ones the user still has: a scope taken away from a user stops
    /// working at once, not when the token expires.
    pub async fn validate_user(
        &self,
        token: &str,
    ) -> Result<(Verified<AccessClaims>, User), Error> {
        let result = match self.access_claims(token) {
            Ok(claims) => self.validate_user_claims(claims).await,
            Err(err) => Err(err),
        };
        observe("validate", counted_validation(result))
    }

    async fn validate_user_claims(
        &self,
        mut claims: Verified<AccessClaims>,
    ) -> Result<(Verified<AccessClaims>, User), Error> {
        let inner = &self.inner;
        if claims.subject_kind == SubjectKind::Client {
            return Err(Error::InvalidToken(Rejection::NotAUser));
        }
        let query = access_query(&claims);
        let user = if inner.users_in_revocation_store {
            let (status, lookup) = inner.revocation.check_with_user(query).await?;
            verdict(&status, claims.generation, claims.epoch).map_err(Error::InvalidToken)?;
            match lookup {
                UserLookup::Found(user) => Some(user),
                UserLookup::Missing => None,
                UserLookup::NotHeld => inner.users.find_by_id(&claims.sub).await?,
            }
        } else {
            // Independent questions, asked at once: the latency is one round trip, not two.
            let (verdict, user) = tokio::join!(
                self.revocation_verdict(query, claims.generation, claims.epoch),
                inner.users.find_by_id(&claims.sub)
            );
            verdict?.map_err(Error::InvalidToken)?;
            user?
        };
        let user = user_verdict(user).map_err(Error::InvalidToken)?;
        if !claims.scope.is_subset(&user.scopes) {
            let grantable = user.grantable_scopes();
            if !claims.scope.is_subset(&grantable) {
                let kept = claims.scope.intersection(&grantable);
                claims.claims_mut().scope = kept;
            }
        }
        Ok((claims, user))
    }

    /// The codec's verdict on an access token, as an issuer error.
    fn access_claims(&self, token: &str) -> Result<Verified<AccessClaims>, Error> {
        self.inner
            .codec
            .validate_access(token)
            .map_err(|e| Error::InvalidToken(Rejection::Token(e)))
    }
}
