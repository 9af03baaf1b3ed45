//! The budget of failed client authentications (RFC 6749 §2.3.1 secrets at the token,
//! revocation and introspection endpoints), per client id and per client address, in the login
//! throttle's store. Checked before any secret is verified, so a flood of wrong secrets costs a
//! throttle read each instead of an argon2 verification each, and cannot starve user logins of
//! the hasher pool.

use super::*;

/// The throttle keys one client authentication counts against: its client id, and its address
/// apart from that address's password logins (`login::client_key`), so a campus that used up
/// its login budget can still run its services.
fn keys(client_id: &str, address: IpAddr) -> [String; 2] {
    [
        format!("client-id:{client_id}"),
        format!("client-auth-{}", login::client_key(address)),
    ]
}

impl TokenIssuer {
    /// Refuses with [`Error::Throttled`] when `client_id` or `address` has used up its budget of
    /// failed client authentications (the per-address policy, [`TokenIssuerBuilder::client_throttle`]),
    /// counting nothing. Only failures count ([`Self::client_authentication_failed`]), so a
    /// service authenticating correctly never locks itself out.
    pub(crate) async fn admit_client_authentication(
        &self,
        client_id: &str,
        address: IpAddr,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let now = self.now();
        for key in keys(client_id, address) {
            if let Some(retry_after_secs) = inner
                .throttle
                .locked_for(&key, now, inner.client_policy)
                .await?
            {
                tracing::warn!(
                    target: events::TARGET, event = events::CLIENT_AUTH_THROTTLED,
                    client_id = logged_client_id(client_id), client = %address, retry_after_secs
                );
                return Err(Error::Throttled { retry_after_secs });
            }
        }
        Ok(())
    }

    /// Counts a failed client authentication against `client_id` and `address`.
    pub(crate) async fn client_authentication_failed(
        &self,
        client_id: &str,
        address: IpAddr,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let now = self.now();
        tracing::info!(
            target: events::TARGET, event = events::CLIENT_AUTH_FAILED,
            client_id = logged_client_id(client_id), client = %address
        );
        for key in keys(client_id, address) {
            // The answer is already a failure; a lock takes effect from the next attempt.
            inner
                .throttle
                .attempt(&key, now, inner.client_policy)
                .await?;
        }
        Ok(())
    }
}

/// A client id as security events show it: at most 64 characters (it is whatever was sent).
fn logged_client_id(client_id: &str) -> &str {
    match client_id.char_indices().nth(64) {
        Some((end, _)) => &client_id[..end],
        None => client_id,
    }
}
