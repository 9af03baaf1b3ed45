//! Password changes: by the user (with the current password) and by an operator; both cut off
//! every earlier token of the user.

use super::login::hashing_error;
use super::*;

impl TokenIssuer {
    /// Changes a user's password after checking the current one; every earlier token stops
    /// working. Wrong current passwords count towards the login throttle.
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        let result = self.change_password_steps(user_id, current, new).await;
        if result.is_ok() {
            tracing::info!(
                target: events::TARGET, event = events::PASSWORD_CHANGED, user_id, by = "user"
            );
        }
        observe("change_password", result)
    }

    async fn change_password_steps(
        &self,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let user = inner
            .users
            .find_by_id(user_id)
            .await?
            .ok_or(Error::UnknownUser)?;
        // Counted before the check, like a login, so concurrent guesses cannot outrun it; apart
        // from the logins' keys, whose budgets are other numbers.
        let key = format!("password-change:{}", user.id);
        self.admit(&key, self.now(), inner.throttle_policy).await?;
        let current_ok = PasswordHasher::check_input(current).is_ok()
            && match inner
                .hasher
                .verify_async(current, &user.password_hash)
                .await
            {
                Ok(ok) => ok,
                Err(err) => return Err(hashing_error(err)),
            };
        if !current_ok {
            return Err(Error::InvalidCredentials);
        }
        inner.throttle.clear(&key).await?;
        // Only over the hash that was verified: a change or reset that landed meanwhile wins.
        self.replace_password(&user, new, Some(&user.password_hash))
            .await
    }

    /// Sets a user's password without the current one (administrators, password reset); the new
    /// password is still policy-checked, and every earlier token stops working.
    pub async fn set_password(&self, user_id: &str, new: &SecretString) -> Result<(), Error> {
        let result = async {
            let user = self
                .inner
                .users
                .find_by_id(user_id)
                .await?
                .ok_or(Error::UnknownUser)?;
            self.replace_password(&user, new, None).await
        }
        .await;
        if result.is_ok() {
            tracing::info!(
                target: events::TARGET, event = events::PASSWORD_CHANGED, user_id,
                by = "administrator"
            );
        }
        observe("set_password", result)
    }

    /// Hashes `new` and stores it for `user` between two cutoffs. With `expected`, only if the
    /// stored hash is still that one (a compare-and-set); otherwise [`Error::InvalidCredentials`],
    /// as the password that was checked is no longer the current one.
    async fn replace_password(
        &self,
        user: &User,
        new: &SecretString,
        expected: Option<&PasswordHash>,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let hash = inner
            .hasher
            .hash_new_password_async(&user.username, new)
            .await
            .map_err(|err| match err {
                PasswordError::Policy(violation) => Error::WeakPassword(violation),
                PasswordError::TooLong { max } => {
                    Error::WeakPassword(crate::password::PolicyViolation::TooLong { max })
                }
                PasswordError::ContainsNul => {
                    Error::WeakPassword(crate::password::PolicyViolation::ContainsNul)
                }
                PasswordError::Empty => {
                    Error::WeakPassword(crate::password::PolicyViolation::TooShort {
                        min: inner.hasher.policy().min_chars(),
                    })
                }
                other => hashing_error(other),
            })?;
        // Cut off, write, cut off again. The first raise makes a store failure between the
        // steps leave tokens revoked with the old password in place, never the reverse; the
        // second cuts off a login that read the old hash before the write (logins read the
        // generation before the hash, see `check_password`). The steps run in a task of their
        // own, so a caller that gives up (a request deadline, a closed connection) cannot stop
        // the sequence between the write and the second cutoff.
        let (users, revocation) = (inner.users.clone(), inner.revocation.clone());
        let (id, expected) = (user.id.clone(), expected.cloned());
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Password(PasswordError::NoRuntime))?;
        let steps = runtime.spawn(async move {
            revocation.bump_user_generation(&id).await?;
            match expected {
                Some(expected) => {
                    if !users.upgrade_password_hash(&id, &expected, &hash).await? {
                        return Err(Error::InvalidCredentials);
                    }
                }
                None => users.update_password_hash(&id, &hash).await?,
            }
            revocation.bump_user_generation(&id).await?;
            Ok(())
        });
        steps
            .await
            .map_err(|_| Error::Password(PasswordError::WorkerFailed))?
    }
}
