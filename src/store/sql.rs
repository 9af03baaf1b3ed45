//! The SQL stores (SQLite and PostgreSQL) share every query: both accept `$N` placeholders,
//! `ON CONFLICT`, `RETURNING` and `EXISTS`, so one implementation, instantiated per database by
//! [`sql_store!`], serves both. Only connecting and the migrations differ.

/// Implements [`UserStore`](super::UserStore), [`TokenRevocation`](super::TokenRevocation) and
/// [`LoginThrottle`](super::LoginThrottle) for `$store`, a struct with fields `pool`, `timeout`
/// and `writes`, on database `$db`; `$name` names the store in errors.
macro_rules! sql_store {
    ($store:ty, $db:ty, $name:expr) => {
        const NAME: &str = $name;

        fn unavailable(err: sqlx::Error) -> StoreError {
            StoreError::Unavailable(format!("{NAME} ({err})"))
        }

        impl $store {
            /// Deletes revocations, used refresh tokens and throttle windows that no longer matter.
            /// Runs by itself every few thousand writes; call it from a timer if you prefer.
            pub async fn prune_expired(&self, now: i64) -> Result<u64, StoreError> {
                bounded(NAME, self.timeout, async {
                    let mut removed = 0;
                    // Spent codes are kept a while past expiry so a late replay is recognised.
                    let spent_code_memory = crate::store::memory_provider::SPENT_CODE_MEMORY_SECS;
                    for (table, grace) in [
                        ("revoked_tokens", 0),
                        ("revoked_sessions", 0),
                        ("used_refresh_tokens", 0),
                        ("authorization_codes", spent_code_memory),
                        ("browser_sessions", 0),
                        ("pending_authorizations", 0),
                        ("upstream_logins", 0),
                    ] {
                        removed += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                            .bind(now - grace)
                            .execute(&self.pool)
                            .await
                            .map_err(unavailable)?
                            .rows_affected();
                    }
                    // Throttle windows are never longer than a day in any sane configuration.
                    removed += sqlx::query("DELETE FROM login_failures WHERE window_start < $1")
                        .bind(now - 86_400)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?
                        .rows_affected();
                    Ok(removed)
                })
                .await
            }

            /// The user whose `column` (`id` or `username`, both unique) equals `value`.
            async fn find_user(
                &self,
                column: &'static str,
                value: &str,
            ) -> Result<Option<User>, StoreError> {
                bounded(NAME, self.timeout, async {
                    let row = sqlx::query(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE {column} = $1"
                    ))
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    row.as_ref().map(user_from_row).transpose()
                })
                .await
            }

            /// The revocation questions and, with `with_user`, the user: one statement.
            async fn check_revocation(
                &self,
                query: RevocationQuery<'_>,
                with_user: bool,
            ) -> Result<(RevocationStatus, UserLookup), StoreError> {
                // The user row costs one index lookup; asking for it always keeps one statement.
                const CHECK: &str =
                    "SELECT EXISTS(SELECT 1 FROM revoked_tokens WHERE jti = $1) AS token_revoked, \
                     EXISTS(SELECT 1 FROM revoked_sessions WHERE sid = $2) AS session_revoked, \
                     COALESCE((SELECT generation FROM user_generations WHERE user_id = $3), 0) \
                     AS generation, \
                     (SELECT epoch FROM revocation_epoch WHERE id = 1) AS epoch, \
                     users.id, users.username, users.password_hash, users.scopes, users.disabled, \
                     users.full_name, users.email \
                     FROM (SELECT 1 AS one) AS one LEFT JOIN users ON users.id = $3";
                bounded(NAME, self.timeout, async {
                    let row = sqlx::query(CHECK)
                        .bind(query.jti)
                        .bind(query.session_id)
                        .bind(query.user_id)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    let status = RevocationStatus {
                        token_revoked: row.try_get("token_revoked").map_err(unavailable)?,
                        session_revoked: row.try_get("session_revoked").map_err(unavailable)?,
                        user_generation: u64::try_from(
                            row.try_get::<i64, _>("generation").map_err(unavailable)?,
                        )
                        .unwrap_or(0),
                        epoch: row
                            .try_get::<Option<i64>, _>("epoch")
                            .map_err(unavailable)?
                            .and_then(|e| u64::try_from(e).ok()),
                    };
                    let user = if !with_user {
                        UserLookup::NotHeld
                    } else if row.try_get::<Option<String>, _>("id").map_err(unavailable)?.is_none() {
                        UserLookup::Missing
                    } else {
                        UserLookup::Found(user_from_row(&row)?)
                    };
                    Ok((status, user))
                })
                .await
            }

            async fn select_one(&self) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query("SELECT 1")
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    Ok(())
                })
                .await
            }

            /// The store's epoch, created if there is none; concurrent creators agree on one
            /// (the upsert that changes nothing returns the row that won).
            async fn establish_epoch(&self) -> Result<u64, StoreError> {
                bounded(NAME, self.timeout, async {
                    let candidate = i64::try_from(super::memory::new_epoch()).unwrap_or(1);
                    let epoch: i64 = sqlx::query_scalar(
                        "INSERT INTO revocation_epoch (id, epoch) VALUES (1, $1) \
                         ON CONFLICT(id) DO UPDATE SET epoch = revocation_epoch.epoch \
                         RETURNING epoch",
                    )
                    .bind(candidate)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    u64::try_from(epoch).map_err(|_| StoreError::Corrupt("negative revocation epoch".into()))
                })
                .await
            }

            async fn after_write(&self) {
                if prune_due(&self.writes) {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    if let Err(error) = self.prune_expired(now).await {
                        tracing::warn!(%error, "pruning expired rows failed");
                    }
                }
            }

            async fn insert_expiring(
                &self,
                table: &str,
                key: &str,
                expires_at: i64,
            ) -> Result<bool, StoreError> {
                let key_column = if table == "revoked_sessions" {
                    "sid"
                } else {
                    "jti"
                };
                let inserted = bounded(NAME, self.timeout, async {
                    sqlx::query(&format!(
                        "INSERT INTO {table} ({key_column}, expires_at) VALUES ($1, $2) \
                         ON CONFLICT({key_column}) DO NOTHING"
                    ))
                    .bind(key)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(unavailable)
                })
                .await?;
                self.after_write().await;
                Ok(inserted)
            }
        }

        fn user_from_row(row: &<$db as sqlx::Database>::Row) -> Result<User, StoreError> {
            let id: String = row.try_get("id").map_err(unavailable)?;
            let corrupt = |what: &str| StoreError::Corrupt(format!("user {id}: {what}"));
            let hash: String = row.try_get("password_hash").map_err(unavailable)?;
            let scopes: String = row.try_get("scopes").map_err(unavailable)?;
            Ok(User {
                username: row.try_get("username").map_err(unavailable)?,
                password_hash: PasswordHash::parse(hash)
                    .map_err(|e| corrupt(&format!("password hash: {e}")))?,
                scopes: Scopes::parse(&scopes).map_err(|e| corrupt(&format!("scopes: {e}")))?,
                disabled: row.try_get::<bool, _>("disabled").map_err(unavailable)?,
                full_name: row.try_get("full_name").map_err(unavailable)?,
                email: row.try_get("email").map_err(unavailable)?,
                id,
            })
        }

        const USER_COLUMNS: &str = "id, username, password_hash, scopes, disabled, full_name, email";

        #[async_trait]
        impl UserStore for $store {
            async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
                self.find_user("username", username).await
            }

            async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
                self.find_user("id", id).await
            }

            async fn find_by_email(&self, email: &str, limit: usize) -> Result<Vec<User>, StoreError> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                bounded(NAME, self.timeout, async {
                    let rows = sqlx::query(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE email = $1 ORDER BY username LIMIT $2"
                    ))
                    .bind(email)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    rows.iter().map(user_from_row).collect()
                })
                .await
            }

            async fn upsert(&self, mut user: User) -> Result<User, StoreError> {
                if user.id.is_empty() {
                    user.id = super::memory::new_user_id();
                }
                bounded(NAME, self.timeout, async {
                    let id: String = sqlx::query_scalar(
                        "INSERT INTO users (id, username, password_hash, scopes, disabled, full_name, email) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, \
                         scopes = excluded.scopes, disabled = excluded.disabled, \
                         full_name = excluded.full_name, email = excluded.email \
                         RETURNING id",
                    )
                    .bind(&user.id)
                    .bind(&user.username)
                    .bind(user.password_hash.expose_secret())
                    .bind(user.scopes.to_string())
                    .bind(user.disabled)
                    .bind(&user.full_name)
                    .bind(&user.email)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    user.id = id;
                    Ok(user)
                })
                .await
            }

            async fn update_password_hash(&self, id: &str, hash: &PasswordHash) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    let result = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(hash.expose_secret())
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    if result.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                })
                .await
            }

            async fn upgrade_password_hash(
                &self,
                id: &str,
                current: &PasswordHash,
                new: &PasswordHash,
            ) -> Result<bool, StoreError> {
                bounded(NAME, self.timeout, async {
                    let result = sqlx::query(
                        "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                    )
                    .bind(new.expose_secret())
                    .bind(id)
                    .bind(current.expose_secret())
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    Ok(result.rows_affected() == 1)
                })
                .await
            }

            async fn import(
                &self,
                users: Vec<User>,
                mode: ImportMode,
            ) -> Result<ImportReport, StoreError> {
                // The whole file is one transaction, with one call's deadline per 100 users.
                let rounds = u32::try_from(users.len() / 100 + 1).unwrap_or(u32::MAX);
                bounded(NAME, self.timeout.saturating_mul(rounds), async {
                    let mut tx = self.pool.begin().await.map_err(unavailable)?;
                    let mut report = ImportReport::default();
                    for mut wanted in users {
                        if wanted.id.is_empty() {
                            wanted.id = super::memory::new_user_id();
                        }
                        // Writing first takes SQLite's write lock before any read snapshot,
                        // so two importers wait for each other instead of failing, and an
                        // existing username (ours or a concurrent importer's) is left alone.
                        let created = sqlx::query(
                            "INSERT INTO users (id, username, password_hash, scopes, disabled, full_name, email) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(username) DO NOTHING",
                        )
                        .bind(&wanted.id)
                        .bind(&wanted.username)
                        .bind(wanted.password_hash.expose_secret())
                        .bind(wanted.scopes.to_string())
                        .bind(wanted.disabled)
                        .bind(&wanted.full_name)
                        .bind(&wanted.email)
                        .execute(&mut *tx)
                        .await
                        .map_err(unavailable)?
                        .rows_affected()
                            == 1;
                        if created {
                            report.created += 1;
                            continue;
                        }
                        let row = sqlx::query(&format!(
                            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
                        ))
                        .bind(&wanted.username)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(unavailable)?;
                        let existing = user_from_row(&row)?;
                        if report.count_existing(&existing, &wanted, mode) {
                            sqlx::query(
                                "UPDATE users SET password_hash = $1, scopes = $2, disabled = $3, \
                                 full_name = $4, email = $5 WHERE id = $6",
                            )
                            .bind(wanted.password_hash.expose_secret())
                            .bind(wanted.scopes.to_string())
                            .bind(wanted.disabled)
                            .bind(&wanted.full_name)
                            .bind(&wanted.email)
                            .bind(&existing.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(unavailable)?;
                        }
                    }
                    tx.commit().await.map_err(unavailable)?;
                    Ok(report)
                })
                .await
            }

            async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unavailable)
                })
                .await
            }

            async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query(
                        "INSERT INTO settings (name, value) VALUES ($1, $2) \
                         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(name)
                    .bind(value)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    Ok(())
                })
                .await
            }

            async fn set_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    let result = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                        .bind(disabled)
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    if result.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                })
                .await
            }

            async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                bounded(NAME, self.timeout, async {
                    // `$1 IS NULL OR ...` makes `after` optional within one statement.
                    let rows = sqlx::query(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE $1 IS NULL OR username > $1 \
                         ORDER BY username LIMIT $2"
                    ))
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    rows.iter().map(user_from_row).collect()
                })
                .await
            }

            async fn ping(&self) -> Result<(), StoreError> {
                self.select_one().await
            }
        }

        #[async_trait]
        impl TokenRevocation for $store {
            async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
                self.insert_expiring("revoked_tokens", jti, expires_at)
                    .await
                    .map(drop)
            }

            async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
                self.insert_expiring("revoked_sessions", session_id, expires_at)
                    .await
                    .map(drop)
            }

            async fn bump_user_generation(&self, user_id: &str) -> Result<u64, StoreError> {
                bounded(NAME, self.timeout, async {
                    let generation: i64 = sqlx::query_scalar(
                        "INSERT INTO user_generations (user_id, generation) VALUES ($1, 1) \
                         ON CONFLICT(user_id) DO UPDATE SET generation = user_generations.generation + 1 \
                         RETURNING generation",
                    )
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    Ok(u64::try_from(generation).unwrap_or(0))
                })
                .await
            }

            async fn issuance(&self, user_id: &str) -> Result<Issuance, StoreError> {
                let (generation, epoch): (i64, Option<i64>) = bounded(NAME, self.timeout, async {
                    sqlx::query_as(
                        "SELECT COALESCE((SELECT generation FROM user_generations WHERE user_id = $1), 0), \
                         (SELECT epoch FROM revocation_epoch WHERE id = 1)",
                    )
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)
                })
                .await?;
                let epoch = match epoch.and_then(|e| u64::try_from(e).ok()) {
                    Some(epoch) => epoch,
                    None => {
                        // Created at open, so gone means the tables were emptied meanwhile.
                        tracing::warn!(
                            store = NAME,
                            "revocation store lost its epoch; tokens issued before now are refused"
                        );
                        self.establish_epoch().await?
                    }
                };
                Ok(Issuance {
                    generation: u64::try_from(generation).unwrap_or(0),
                    epoch,
                })
            }

            async fn rotate_epoch(&self) -> Result<u64, StoreError> {
                let epoch = super::memory::new_epoch();
                bounded(NAME, self.timeout, async {
                    sqlx::query(
                        "INSERT INTO revocation_epoch (id, epoch) VALUES (1, $1) \
                         ON CONFLICT(id) DO UPDATE SET epoch = excluded.epoch",
                    )
                    .bind(i64::try_from(epoch).unwrap_or(1))
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    Ok(epoch)
                })
                .await
            }

            async fn consume_refresh(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
                self.insert_expiring("used_refresh_tokens", jti, expires_at)
                    .await
            }

            async fn refresh_used(&self, jti: &str) -> Result<bool, StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query("SELECT EXISTS(SELECT 1 FROM used_refresh_tokens WHERE jti = $1) AS used")
                        .bind(jti)
                        .fetch_one(&self.pool)
                        .await
                        .and_then(|row| row.try_get::<bool, _>("used"))
                        .map_err(unavailable)
                })
                .await
            }

            async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, StoreError> {
                self.check_revocation(query, false).await.map(|(status, _)| status)
            }

            async fn check_with_user(
                &self,
                query: RevocationQuery<'_>,
            ) -> Result<(RevocationStatus, UserLookup), StoreError> {
                self.check_revocation(query, true).await
            }

            async fn ping(&self) -> Result<(), StoreError> {
                self.select_one().await
            }
        }

        fn window_secs(policy: ThrottlePolicy) -> i64 {
            i64::try_from(policy.window_secs).unwrap_or(i64::MAX)
        }

        #[async_trait]
        impl LoginThrottle for $store {
            async fn locked_for(
                &self,
                key: &str,
                now: i64,
                policy: ThrottlePolicy,
            ) -> Result<Option<u64>, StoreError> {
                bounded(NAME, self.timeout, async {
                    let row: Option<(i64, i64)> =
                        sqlx::query_as("SELECT window_start, failures FROM login_failures WHERE key = $1")
                            .bind(key)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(unavailable)?;
                    Ok(row.and_then(|(start, failures)| {
                        policy.retry_after(start, u64::try_from(failures).unwrap_or(0), now)
                    }))
                })
                .await
            }

            async fn attempt(
                &self,
                key: &str,
                now: i64,
                policy: ThrottlePolicy,
            ) -> Result<Admission, StoreError> {
                let (start, count): (i64, i64) = bounded(NAME, self.timeout, async {
                    // One statement, so concurrent attempts are counted one after the other. In
                    // ON CONFLICT DO UPDATE every column reference reads the row before the
                    // update; a refused attempt leaves the count at max + 1.
                    sqlx::query_as(
                        "INSERT INTO login_failures (key, window_start, failures) VALUES ($1, $2, 1) \
                         ON CONFLICT(key) DO UPDATE SET \
                         failures = CASE WHEN $2 >= login_failures.window_start + $3 THEN 1 \
                         WHEN login_failures.failures > $4 THEN login_failures.failures \
                         ELSE login_failures.failures + 1 END, \
                         window_start = CASE WHEN $2 >= login_failures.window_start + $3 THEN $2 \
                         ELSE login_failures.window_start END \
                         RETURNING window_start, failures",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(window_secs(policy))
                    .bind(i64::from(policy.max_failures))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unavailable)
                })
                .await?;
                self.after_write().await;
                Ok(policy.admission(start, u64::try_from(count).unwrap_or(0), now))
            }

            async fn release(
                &self,
                key: &str,
                now: i64,
                policy: ThrottlePolicy,
            ) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query(
                        "UPDATE login_failures SET failures = failures - 1 \
                         WHERE key = $1 AND failures > 0 AND $2 < window_start + $3",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(window_secs(policy))
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                    Ok(())
                })
                .await?;
                self.after_write().await;
                Ok(())
            }

            async fn clear(&self, key: &str) -> Result<(), StoreError> {
                bounded(NAME, self.timeout, async {
                    sqlx::query("DELETE FROM login_failures WHERE key = $1")
                        .bind(key)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    Ok(())
                })
                .await
            }
        }

    };
}

pub(crate) use sql_store;
