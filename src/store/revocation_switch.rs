//! The rule "a deployment that moved its revocations to another store refuses the tokens issued
//! before", applied where stores are opened for serving. Its reasons are on
//! [`Stores::adopt_revocation_store`], which rustdoc shows (this module is private).

use std::fmt;

use super::open::{REVOCATION_IN_DATABASE, REVOCATION_IN_REDIS, REVOCATION_STORE_SETTING};
use super::{StoreError, Stores, open};

/// Where a deployment keeps its revocations, as recorded under [`REVOCATION_STORE_SETTING`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationStoreKind {
    /// In the database the users live in ([`REVOCATION_IN_DATABASE`]).
    Database,
    /// In Redis ([`REVOCATION_IN_REDIS`]).
    Redis,
}

impl RevocationStoreKind {
    /// Where [`open`] puts revocations for this `redis_url`: Redis when one is given.
    pub fn for_redis_url(redis_url: Option<&str>) -> Self {
        if redis_url.is_some() {
            Self::Redis
        } else {
            Self::Database
        }
    }

    /// The value recorded under [`REVOCATION_STORE_SETTING`].
    pub fn setting_value(self) -> &'static str {
        match self {
            Self::Database => REVOCATION_IN_DATABASE,
            Self::Redis => REVOCATION_IN_REDIS,
        }
    }

    /// Whether a start that finds `recorded` must rotate the epoch before using this store.
    /// Nothing recorded (a new database, or one no server has started on) is no switch: there
    /// is no other store whose revocations could have been missed. Any other value, even one
    /// this version does not know, is a switch.
    pub fn switches_from(self, recorded: Option<&str>) -> bool {
        recorded.is_some_and(|recorded| recorded != self.setting_value())
    }
}

impl fmt::Display for RevocationStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.setting_value())
    }
}

/// What [`Stores::adopt_revocation_store`] found recorded, and so what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStoreChange {
    /// Nothing was recorded: recorded now, no token refused.
    FirstRecord,
    /// The same store as recorded: no token refused.
    Unchanged,
    /// Another store was recorded: the epoch of the store now in use was rotated, so every token
    /// issued before is refused.
    Switched {
        /// The value that was recorded (normally [`REVOCATION_IN_DATABASE`] or
        /// [`REVOCATION_IN_REDIS`]).
        from: String,
        /// Where revocations are now, as recorded from now on.
        to: RevocationStoreKind,
        /// The new epoch, which tokens issued from now on carry.
        epoch: u64,
    },
}

impl Stores {
    /// Records that this deployment keeps its revocations in `kind` and, if the database
    /// recorded another store, first rotates the epoch of [`Self::revocation`]: every token
    /// issued before the switch is refused, and users log in again. Call it once per start,
    /// before issuing or checking tokens, with the `kind` these stores were opened for
    /// ([`RevocationStoreKind::for_redis_url`]); [`open_for_serving`] does.
    ///
    /// Why: revocations, used refresh tokens and user generations live only in the revocation
    /// store. While a deployment keeps them in one store (the database, or Redis), the other
    /// misses every revocation made meanwhile, yet its
    /// [epoch](super::TokenRevocation#epochs-losing-the-state-fails-closed) survives, so moving
    /// back to it would accept a token revoked, a refresh token used or a user cut off in
    /// between. The record ([`REVOCATION_STORE_SETTING`], in the database) is what tells a start
    /// that this happened; tools that write cutoffs read it too.
    ///
    /// The record is written only after the rotation succeeded: a failed rotation leaves the old
    /// record, so the next start tries again rather than trusting tokens it should refuse.
    /// A Redis that lost its data needs nothing from here: the record is in the database and
    /// still says Redis, and Redis lost its epoch with the data, which refuses every earlier
    /// token by itself.
    pub async fn adopt_revocation_store(
        &self,
        kind: RevocationStoreKind,
    ) -> Result<RevocationStoreChange, StoreError> {
        let recorded = self.users.setting(REVOCATION_STORE_SETTING).await?;
        let change = match recorded {
            None => RevocationStoreChange::FirstRecord,
            Some(from) if kind.switches_from(Some(&from)) => {
                let epoch = self.revocation.rotate_epoch().await?;
                RevocationStoreChange::Switched {
                    from,
                    to: kind,
                    epoch,
                }
            }
            Some(_) => RevocationStoreChange::Unchanged,
        };
        self.users
            .put_setting(REVOCATION_STORE_SETTING, kind.setting_value())
            .await?;
        Ok(change)
    }
}

/// [`open`], for a server that issues or checks tokens: also
/// [adopts](Stores::adopt_revocation_store) the revocation store `redis_url` selects, so a
/// deployment that moved its revocations between the database and Redis since the last start
/// refuses every token issued before (logged as a warning). Tools that only read or edit users
/// use [`open`], which records nothing.
pub async fn open_for_serving(
    database_url: &str,
    redis_url: Option<&str>,
) -> Result<Stores, StoreError> {
    let stores = open(database_url, redis_url).await?;
    let change = stores
        .adopt_revocation_store(RevocationStoreKind::for_redis_url(redis_url))
        .await?;
    if let RevocationStoreChange::Switched { from, to, .. } = &change {
        tracing::warn!(
            from = %from,
            to = %to,
            "revocations moved to another store: tokens issued before are refused"
        );
    }
    Ok(stores)
}
