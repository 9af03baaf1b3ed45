//! [`ClientStore`](crate::store::ClientStore) and
//! [`AuthorizationStore`](crate::store::AuthorizationStore) for the SQL stores, one
//! implementation for SQLite and PostgreSQL like [`super::sql`].

/// Implements the provider's store traits for `$store` (the same struct as `sql_store!`, in
/// the module that invoked it, so `NAME`, `unavailable` and `bounded` are in scope).
macro_rules! sql_provider_store {
    ($store:ident, $db:ty) => {
        mod provider_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::{NAME, unavailable};
            use crate::store::{
                AuthorizationStore, BrowserSession, Client, ClientStore, CodeGrant,
                CodeRedemption, GrantType, IdentityLink, PendingAuthorization, StoreError,
                UpstreamLoginState,
            };
            use crate::store::bounded::bounded;
            use crate::token::Scopes;

            const CLIENT_COLUMNS: &str =
                "client_id, secret_hash, redirect_uris, grant_types, scopes, name, first_party";

            fn corrupt(what: &str) -> StoreError {
                StoreError::Corrupt(what.to_owned())
            }

            fn client_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Client, StoreError> {
                let client_id: String = row.try_get("client_id").map_err(unavailable)?;
                let bad = |what: &str| corrupt(&format!("client {client_id}: {what}"));
                let uris: String = row.try_get("redirect_uris").map_err(unavailable)?;
                let grants: String = row.try_get("grant_types").map_err(unavailable)?;
                let scopes: String = row.try_get("scopes").map_err(unavailable)?;
                let grant_types = grants
                    .split_whitespace()
                    .map(|g| GrantType::from_name(g).ok_or_else(|| bad("grant types")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Client {
                    secret_hash: row.try_get("secret_hash").map_err(unavailable)?,
                    redirect_uris: serde_json::from_str(&uris).map_err(|_| bad("redirect URIs"))?,
                    grant_types,
                    scopes: Scopes::parse(&scopes).map_err(|_| bad("scopes"))?,
                    name: row.try_get("name").map_err(unavailable)?,
                    first_party: row.try_get("first_party").map_err(unavailable)?,
                    client_id,
                })
            }

            fn grant_names(client: &Client) -> String {
                client
                    .grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }

            fn uris_json(client: &Client) -> Result<String, StoreError> {
                serde_json::to_string(&client.redirect_uris)
                    .map_err(|_| corrupt("redirect URIs do not serialise"))
            }

            fn record<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, StoreError> {
                serde_json::from_str(json).map_err(|_| corrupt(what))
            }

            fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
                serde_json::to_string(value).map_err(|_| corrupt("record does not serialise"))
            }

            #[async_trait]
            impl ClientStore for super::$store {
                async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
                    bounded(NAME, self.timeout, async {
                        let row = sqlx::query(&format!(
                            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
                        ))
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        row.as_ref().map(client_from_row).transpose()
                    })
                    .await
                }

                async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
                    bounded(NAME, self.timeout, async {
                        let rows = sqlx::query(&format!(
                            "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"
                        ))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        rows.iter().map(client_from_row).collect()
                    })
                    .await
                }

                async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
                    let uris = uris_json(client)?;
                    bounded(NAME, self.timeout, async {
                        sqlx::query(&format!(
                            "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT(client_id) DO NOTHING"
                        ))
                        .bind(&client.client_id)
                        .bind(&client.secret_hash)
                        .bind(&uris)
                        .bind(grant_names(client))
                        .bind(client.scopes.to_string())
                        .bind(&client.name)
                        .bind(client.first_party)
                        .execute(&self.pool)
                        .await
                        .map(|r| r.rows_affected() == 1)
                        .map_err(unavailable)
                    })
                    .await
                }

                async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
                    let uris = uris_json(client)?;
                    let updated = bounded(NAME, self.timeout, async {
                        sqlx::query(
                            "UPDATE clients SET secret_hash = $2, redirect_uris = $3, \
                             grant_types = $4, scopes = $5, name = $6, first_party = $7 \
                             WHERE client_id = $1",
                        )
                        .bind(&client.client_id)
                        .bind(&client.secret_hash)
                        .bind(&uris)
                        .bind(grant_names(client))
                        .bind(client.scopes.to_string())
                        .bind(&client.name)
                        .bind(client.first_party)
                        .execute(&self.pool)
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(unavailable)
                    })
                    .await?;
                    if updated == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
                    bounded(NAME, self.timeout, async {
                        sqlx::query("DELETE FROM clients WHERE client_id = $1")
                            .bind(client_id)
                            .execute(&self.pool)
                            .await
                            .map(|r| r.rows_affected() == 1)
                            .map_err(unavailable)
                    })
                    .await
                }
            }

            impl super::$store {
                async fn put_record(
                    &self,
                    table: &'static str,
                    digest: &str,
                    json: String,
                    expires_at: i64,
                ) -> Result<(), StoreError> {
                    bounded(NAME, self.timeout, async {
                        sqlx::query(&format!(
                            "INSERT INTO {table} (digest, record_json, expires_at) VALUES ($1, $2, $3) \
                             ON CONFLICT(digest) DO UPDATE SET record_json = $2, expires_at = $3"
                        ))
                        .bind(digest)
                        .bind(json)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)
                    })
                    .await?;
                    self.after_write().await;
                    Ok(())
                }

                /// Replaces an existing record; `false` when there is none.
                async fn update_record(
                    &self,
                    table: &'static str,
                    digest: &str,
                    json: String,
                    expires_at: i64,
                ) -> Result<bool, StoreError> {
                    let updated = bounded(NAME, self.timeout, async {
                        sqlx::query(&format!(
                            "UPDATE {table} SET record_json = $2, expires_at = $3 WHERE digest = $1"
                        ))
                        .bind(digest)
                        .bind(json)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await
                        .map(|done| done.rows_affected() == 1)
                        .map_err(unavailable)
                    })
                    .await?;
                    self.after_write().await;
                    Ok(updated)
                }

                async fn find_record(
                    &self,
                    table: &'static str,
                    digest: &str,
                ) -> Result<Option<String>, StoreError> {
                    bounded(NAME, self.timeout, async {
                        sqlx::query(&format!("SELECT record_json FROM {table} WHERE digest = $1"))
                            .bind(digest)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(unavailable)?
                            .map(|row| row.try_get::<String, _>("record_json").map_err(unavailable))
                            .transpose()
                    })
                    .await
                }

                async fn delete_record(
                    &self,
                    table: &'static str,
                    digest: &str,
                ) -> Result<(), StoreError> {
                    bounded(NAME, self.timeout, async {
                        sqlx::query(&format!("DELETE FROM {table} WHERE digest = $1"))
                            .bind(digest)
                            .execute(&self.pool)
                            .await
                            .map(|_| ())
                            .map_err(unavailable)
                    })
                    .await
                }
            }

            #[async_trait]
            impl AuthorizationStore for super::$store {
                async fn put_code(&self, digest: &str, grant: &CodeGrant) -> Result<(), StoreError> {
                    let grant_json = json(grant)?;
                    bounded(NAME, self.timeout, async {
                        sqlx::query(
                            "INSERT INTO authorization_codes (digest, grant_json, spent, expires_at) \
                             VALUES ($1, $2, FALSE, $3)",
                        )
                        .bind(digest)
                        .bind(grant_json)
                        .bind(grant.expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)
                    })
                    .await?;
                    self.after_write().await;
                    Ok(())
                }

                async fn redeem_code(&self, digest: &str) -> Result<CodeRedemption, StoreError> {
                    bounded(NAME, self.timeout, async {
                        // One statement flips `spent`: of concurrent redemptions exactly one
                        // gets the row back.
                        let fresh = sqlx::query(
                            "UPDATE authorization_codes SET spent = TRUE \
                             WHERE digest = $1 AND spent = FALSE RETURNING grant_json",
                        )
                        .bind(digest)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        if let Some(row) = fresh {
                            let text: String = row.try_get("grant_json").map_err(unavailable)?;
                            return Ok(CodeRedemption::Redeemed(record(&text, "authorization code")?));
                        }
                        let spent = sqlx::query(
                            "SELECT grant_json FROM authorization_codes WHERE digest = $1",
                        )
                        .bind(digest)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        match spent {
                            Some(row) => {
                                let text: String = row.try_get("grant_json").map_err(unavailable)?;
                                Ok(CodeRedemption::Replayed(record(&text, "authorization code")?))
                            }
                            None => Ok(CodeRedemption::Unknown),
                        }
                    })
                    .await
                }

                async fn put_session(
                    &self,
                    digest: &str,
                    session: &BrowserSession,
                ) -> Result<(), StoreError> {
                    self.put_record("browser_sessions", digest, json(session)?, session.expires_at)
                        .await
                }

                async fn update_session(
                    &self,
                    digest: &str,
                    session: &BrowserSession,
                ) -> Result<bool, StoreError> {
                    self.update_record("browser_sessions", digest, json(session)?, session.expires_at)
                        .await
                }

                async fn find_session(
                    &self,
                    digest: &str,
                ) -> Result<Option<BrowserSession>, StoreError> {
                    self.find_record("browser_sessions", digest)
                        .await?
                        .map(|text| record(&text, "browser session"))
                        .transpose()
                }

                async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
                    self.delete_record("browser_sessions", digest).await
                }

                async fn put_pending(
                    &self,
                    digest: &str,
                    pending: &PendingAuthorization,
                ) -> Result<(), StoreError> {
                    self.put_record(
                        "pending_authorizations",
                        digest,
                        json(pending)?,
                        pending.expires_at,
                    )
                    .await
                }

                async fn find_pending(
                    &self,
                    digest: &str,
                ) -> Result<Option<PendingAuthorization>, StoreError> {
                    self.find_record("pending_authorizations", digest)
                        .await?
                        .map(|text| record(&text, "pending authorization"))
                        .transpose()
                }

                async fn delete_pending(&self, digest: &str) -> Result<(), StoreError> {
                    self.delete_record("pending_authorizations", digest).await
                }

                async fn consented_scopes(
                    &self,
                    user_id: &str,
                    client_id: &str,
                ) -> Result<Scopes, StoreError> {
                    bounded(NAME, self.timeout, async {
                        let row = sqlx::query(
                            "SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2",
                        )
                        .bind(user_id)
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        match row {
                            None => Ok(Scopes::default()),
                            Some(row) => {
                                let text: String = row.try_get("scopes").map_err(unavailable)?;
                                Scopes::parse(&text).map_err(|_| corrupt("consent scopes"))
                            }
                        }
                    })
                    .await
                }

                async fn add_consent(
                    &self,
                    user_id: &str,
                    client_id: &str,
                    scope: &Scopes,
                ) -> Result<(), StoreError> {
                    // Read and write in one transaction. Two consents racing for one user and client can still
                    // lose one's scopes under READ COMMITTED: the cost is one more consent page.
                    bounded(NAME, self.timeout, async {
                        let mut tx = self.pool.begin().await.map_err(unavailable)?;
                        let row = sqlx::query(
                            "SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2",
                        )
                        .bind(user_id)
                        .bind(client_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(unavailable)?;
                        let held = match row {
                            None => Scopes::default(),
                            Some(row) => {
                                let text: String = row.try_get("scopes").map_err(unavailable)?;
                                Scopes::parse(&text).map_err(|_| corrupt("consent scopes"))?
                            }
                        };
                        sqlx::query(
                            "INSERT INTO consents (user_id, client_id, scopes) VALUES ($1, $2, $3) \
                             ON CONFLICT(user_id, client_id) DO UPDATE SET scopes = $3",
                        )
                        .bind(user_id)
                        .bind(client_id)
                        .bind(held.union(scope).to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(unavailable)?;
                        tx.commit().await.map_err(unavailable)
                    })
                    .await
                }

                async fn put_upstream_login(
                    &self,
                    digest: &str,
                    login: &UpstreamLoginState,
                ) -> Result<(), StoreError> {
                    self.put_record("upstream_logins", digest, json(login)?, login.expires_at)
                        .await
                }

                async fn take_upstream_login(
                    &self,
                    digest: &str,
                ) -> Result<Option<UpstreamLoginState>, StoreError> {
                    let taken = bounded(NAME, self.timeout, async {
                        // One statement: of concurrent callbacks with one state, one gets the row.
                        sqlx::query(
                            "DELETE FROM upstream_logins WHERE digest = $1 RETURNING record_json",
                        )
                        .bind(digest)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)?
                        .map(|row| row.try_get::<String, _>("record_json").map_err(unavailable))
                        .transpose()
                    })
                    .await?;
                    self.after_write().await;
                    taken.map(|text| record(&text, "upstream login")).transpose()
                }

                async fn find_identity_link(
                    &self,
                    issuer: &str,
                    subject: &str,
                ) -> Result<Option<String>, StoreError> {
                    bounded(NAME, self.timeout, async {
                        sqlx::query_scalar(
                            "SELECT user_id FROM identity_links WHERE issuer = $1 AND subject = $2",
                        )
                        .bind(issuer)
                        .bind(subject)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)
                    })
                    .await
                }

                async fn link_identity(
                    &self,
                    issuer: &str,
                    subject: &str,
                    user_id: &str,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let linked = bounded(NAME, self.timeout, async {
                        sqlx::query(
                            "INSERT INTO identity_links (issuer, subject, user_id, created_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT(issuer, subject) DO NOTHING",
                        )
                        .bind(issuer)
                        .bind(subject)
                        .bind(user_id)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map(|r| r.rows_affected() == 1)
                        .map_err(unavailable)
                    })
                    .await?;
                    self.after_write().await;
                    Ok(linked)
                }

                async fn identity_links(
                    &self,
                    user_id: &str,
                ) -> Result<Vec<IdentityLink>, StoreError> {
                    bounded(NAME, self.timeout, async {
                        let rows = sqlx::query(
                            "SELECT issuer, subject, user_id, created_at FROM identity_links \
                             WHERE user_id = $1 ORDER BY issuer, subject",
                        )
                        .bind(user_id)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unavailable)?;
                        rows.iter()
                            .map(|row| {
                                Ok(IdentityLink {
                                    issuer: row.try_get("issuer").map_err(unavailable)?,
                                    subject: row.try_get("subject").map_err(unavailable)?,
                                    user_id: row.try_get("user_id").map_err(unavailable)?,
                                    created_at: row.try_get("created_at").map_err(unavailable)?,
                                })
                            })
                            .collect()
                    })
                    .await
                }

                async fn unlink_identity(
                    &self,
                    user_id: &str,
                    issuer: &str,
                    subject: &str,
                ) -> Result<bool, StoreError> {
                    let removed = bounded(NAME, self.timeout, async {
                        sqlx::query(
                            "DELETE FROM identity_links \
                             WHERE issuer = $1 AND subject = $2 AND user_id = $3",
                        )
                        .bind(issuer)
                        .bind(subject)
                        .bind(user_id)
                        .execute(&self.pool)
                        .await
                        .map(|r| r.rows_affected() == 1)
                        .map_err(unavailable)
                    })
                    .await?;
                    self.after_write().await;
                    Ok(removed)
                }
            }
        }
    };
}

pub(crate) use sql_provider_store;
