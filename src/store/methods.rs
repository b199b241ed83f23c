//! The store's units of work, written once for both backends.
//!
//! The SQL is the same on PostgreSQL and SQLite (both take `$n` placeholders,
//! `returning`, `on conflict do nothing`), so one body serves both; each backend
//! supplies only what differs: how a write transaction starts, and how a refresh
//! token row is locked. A macro rather than generic functions, because sqlx's
//! generic bounds (encode/decode of every type for the database, executor
//! lifetimes) would bury the queries.

macro_rules! store_methods {
    ($db:ty) => {
            pub async fn close(&self) {
                self.pool.close().await;
            }

            pub async fn ping(&self) -> StoreResult<()> {
                // Touches a real table: an open connection to a database without our
                // schema (or a broken file) is not ready.
                sqlx::query("select 1 from users limit 1")
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            /// Creates a user, optionally with a verification token or a first session,
            /// all in one transaction.
            pub async fn create_user(
                &self,
                user: NewUser,
                email_token: Option<NewEmailToken>,
                session: Option<NewSession>,
            ) -> StoreResult<UserRow> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let row: UserRow = sqlx::query_as(
                    "insert into users (id, email, email_key, password_hash, name, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $6)
                     returning id, email, password_hash, name, email_verified_at, created_at, updated_at",
                )
                .bind(user.id)
                .bind(&user.email)
                .bind(email_key(&user.email))
                .bind(&user.password_hash)
                .bind(&user.name)
                .bind(user.now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match &e {
                    // SQLite does not name the constraint; the random id never collides.
                    sqlx::Error::Database(db)
                        if db.is_unique_violation()
                            && db.constraint().is_none_or(|c| c == "users_email_key") =>
                    {
                        StoreError::EmailTaken
                    }
                    _ => StoreError::Database(e),
                })?;
                if let Some(token) = email_token {
                    Self::insert_email_token(&mut tx, row.id, &token, user.now).await?;
                }
                if let Some(session) = session {
                    Self::insert_session(&mut tx, &session).await?;
                }
                tx.commit().await?;
                Ok(row)
            }

            pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
                let sql = "select id, email, password_hash, name, email_verified_at, created_at, updated_at
                           from users where email_key = $1";
                Ok(sqlx::query_as(sql)
                    .bind(email_key(email))
                    .fetch_optional(&self.pool)
                    .await?)
            }

            pub async fn set_password_hash(
                &self,
                user_id: Uuid,
                hash: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
                    .bind(user_id)
                    .bind(hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            pub async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                let mut tx = Self::begin_write(&self.pool).await?;
                Self::insert_session(&mut tx, &session).await?;
                tx.commit().await?;
                Ok(())
            }

            /// The user of a session that is neither revoked nor expired.
            pub async fn active_session_user(
                &self,
                session_id: Uuid,
                user_id: Uuid,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<UserRow>> {
                let sql = "select u.id, u.email, u.password_hash, u.name, u.email_verified_at,
                                  u.created_at, u.updated_at
                           from sessions s join users u on u.id = s.user_id
                           where s.id = $1 and s.user_id = $2 and s.revoked_at is null
                             and s.expires_at > $3 and s.idle_expires_at > $3";
                Ok(sqlx::query_as(sql)
                    .bind(session_id)
                    .bind(user_id)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            /// Exchanges a refresh token under row locks, so concurrent refreshes of one
            /// token are serialised: the first rotates it, the others see it rotated.
            /// `rule` decides; the store only carries the decision out.
            pub async fn refresh(
                &self,
                presented: &TokenHash,
                successor: &TokenHash,
                now: DateTime<Utc>,
                rule: RefreshRule<'_>,
            ) -> StoreResult<RefreshOutcome> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let Some(locked) = Self::lock_refresh_token(&mut tx, presented).await? else {
                    return Ok(RefreshOutcome::Refused);
                };
                let outcome = match rule(&locked.state()) {
                    RefreshDecision::Refuse => RefreshOutcome::Refused,
                    RefreshDecision::RevokeForReuse => {
                        Self::revoke_for_reuse(&mut tx, &locked, now).await?;
                        RefreshOutcome::Revoked {
                            session_id: locked.session_id,
                        }
                    }
                    decision @ (RefreshDecision::Rotate { idle_expires_at }
                    | RefreshDecision::GraceReissue { idle_expires_at }) => {
                        if matches!(decision, RefreshDecision::Rotate { .. }) {
                            sqlx::query("update refresh_tokens set rotated_at = $2 where token_hash = $1")
                                .bind(&presented.0[..])
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                        Self::insert_refresh_token(&mut tx, locked.session_id, successor, now).await?;
                        sqlx::query(
                            "update sessions set last_used_at = $2, idle_expires_at = $3 where id = $1",
                        )
                        .bind(locked.session_id)
                        .bind(now)
                        .bind(idle_expires_at)
                        .execute(&mut *tx)
                        .await?;
                        let user = Self::user_by_id(&mut tx, locked.user_id).await?;
                        RefreshOutcome::Issued {
                            session_id: locked.session_id,
                            user,
                        }
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            /// Resolves a refresh token that `rule` still accepts to its session, without
            /// issuing anything. A reused token revokes its session here too.
            pub async fn session_of_refresh_token(
                &self,
                presented: &TokenHash,
                now: DateTime<Utc>,
                rule: RefreshRule<'_>,
            ) -> StoreResult<Option<SessionRef>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let Some(locked) = Self::lock_refresh_token(&mut tx, presented).await? else {
                    return Ok(None);
                };
                let found = match rule(&locked.state()) {
                    RefreshDecision::Rotate { .. } | RefreshDecision::GraceReissue { .. } => {
                        Some(SessionRef {
                            session_id: locked.session_id,
                            user_id: locked.user_id,
                        })
                    }
                    RefreshDecision::RevokeForReuse => {
                        Self::revoke_for_reuse(&mut tx, &locked, now).await?;
                        None
                    }
                    RefreshDecision::Refuse => None,
                };
                tx.commit().await?;
                Ok(found)
            }

            /// Revokes sessions of one user; returns how many were still active.
            pub async fn revoke_sessions(
                &self,
                user_id: Uuid,
                scope: RevokeScope,
                reason: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let mut tx = Self::begin_write(&self.pool).await?;
                let n = Self::revoke(&mut tx, user_id, scope, reason, now).await?;
                tx.commit().await?;
                Ok(n)
            }

            /// Spends a single-use email token of the given purpose. For `VerifyEmail`
            /// marks the address verified. `None`: unknown, expired, used or other purpose.
            pub async fn use_email_token(
                &self,
                hash: &TokenHash,
                purpose: EmailTokenPurpose,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<UserRow>> {
                let mut tx = Self::begin_write(&self.pool).await?;
                // The conditional update is the lock: of two concurrent uses, one wins.
                let user_id: Option<Uuid> = sqlx::query_scalar(
                    "update email_tokens set used_at = $3
                     where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
                     returning user_id",
                )
                .bind(&hash.0[..])
                .bind(purpose.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(user_id) = user_id else {
                    return Ok(None);
                };
                if purpose == EmailTokenPurpose::VerifyEmail {
                    sqlx::query(
                        "update users set email_verified_at = coalesce(email_verified_at, $2), updated_at = $2
                         where id = $1",
                    )
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let user = Self::user_by_id(&mut tx, user_id).await?;
                tx.commit().await?;
                Ok(Some(user))
            }

            /// Stored signing keys that still verify, the current one first. `candidate`
            /// becomes the current key if there is none yet.
            pub async fn signing_keys(
                &self,
                candidate: Option<SigningKeyRow>,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<SigningKeyRow>> {
                if let Some(key) = candidate {
                    // Concurrent first starts: the partial unique index lets one insert win.
                    sqlx::query(
                        "insert into signing_keys (kid, private_key, created_at) values ($1, $2, $3)
                         on conflict do nothing",
                    )
                    .bind(&key.kid)
                    .bind(&key.private_key)
                    .bind(key.created_at)
                    .execute(&self.pool)
                    .await?;
                }
                Ok(sqlx::query_as(
                    "select kid, private_key, created_at, retired_at from signing_keys
                     where retired_at is null or retired_at > $1
                     order by retired_at desc nulls first, created_at desc",
                )
                .bind(now - chrono::Duration::days(1))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn lock_refresh_token(
                tx: &mut Transaction<'_, $db>,
                hash: &TokenHash,
            ) -> StoreResult<Option<LockedRefreshToken>> {
                Ok(sqlx::query_as(Self::LOCK_REFRESH_TOKEN)
                .bind(&hash.0[..])
                .fetch_optional(&mut **tx)
                .await?)
            }

            async fn user_by_id(tx: &mut Transaction<'_, $db>, id: Uuid) -> StoreResult<UserRow> {
                let sql = "select id, email, password_hash, name, email_verified_at, created_at, updated_at
                           from users where id = $1";
                Ok(sqlx::query_as(sql).bind(id).fetch_one(&mut **tx).await?)
            }

            async fn insert_session(tx: &mut Transaction<'_, $db>, s: &NewSession) -> StoreResult<()> {
                sqlx::query(
                    "insert into sessions (id, user_id, created_at, last_used_at, idle_expires_at, expires_at, ip, user_agent)
                     values ($1, $2, $3, $3, $4, $5, $6, $7)",
                )
                .bind(s.id)
                .bind(s.user_id)
                .bind(s.now)
                .bind(s.idle_expires_at)
                .bind(s.expires_at)
                .bind(&s.ip)
                .bind(&s.user_agent)
                .execute(&mut **tx)
                .await?;
                Self::insert_refresh_token(tx, s.id, &s.refresh_token, s.now).await
            }

            async fn insert_refresh_token(
                tx: &mut Transaction<'_, $db>,
                session_id: Uuid,
                hash: &TokenHash,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "insert into refresh_tokens (token_hash, session_id, created_at) values ($1, $2, $3)",
                )
                .bind(&hash.0[..])
                .bind(session_id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_email_token(
                tx: &mut Transaction<'_, $db>,
                user_id: Uuid,
                t: &NewEmailToken,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at)
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(&t.hash.0[..])
                .bind(user_id)
                .bind(t.purpose.as_str())
                .bind(now)
                .bind(t.expires_at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// A rotated token came back after the grace period: it leaked, so the
            /// whole session goes.
            async fn revoke_for_reuse(
                tx: &mut Transaction<'_, $db>,
                locked: &LockedRefreshToken,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let scope = RevokeScope::One(locked.session_id);
                Self::revoke(tx, locked.user_id, scope, "refresh_token_reuse", now).await
            }

            async fn revoke(
                tx: &mut Transaction<'_, $db>,
                user_id: Uuid,
                scope: RevokeScope,
                reason: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let sql = match scope {
                    RevokeScope::One(_) => {
                        "update sessions set revoked_at = $2, revoked_reason = $3
                         where user_id = $1 and revoked_at is null and id = $4"
                    }
                    RevokeScope::AllExcept(_) => {
                        "update sessions set revoked_at = $2, revoked_reason = $3
                         where user_id = $1 and revoked_at is null and id <> $4"
                    }
                    RevokeScope::All => {
                        "update sessions set revoked_at = $2, revoked_reason = $3
                         where user_id = $1 and revoked_at is null"
                    }
                };
                let mut query = sqlx::query(sql).bind(user_id).bind(now).bind(reason);
                if let RevokeScope::One(id) | RevokeScope::AllExcept(id) = scope {
                    query = query.bind(id);
                }
                let done = query.execute(&mut **tx).await?;
                Ok(done.rows_affected())
            }
    };
}

pub(super) use store_methods;
