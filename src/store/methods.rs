//! The store's units of work, written once for both backends.
//!
//! The SQL is the same on PostgreSQL and SQLite (both take `$n` placeholders,
//! `returning`, `on conflict do nothing`, row values), so one body serves both;
//! each backend supplies only what differs: how a write transaction starts, how a
//! refresh-token row is locked, and how outbox rows are claimed. A macro rather
//! than generic functions, because sqlx's generic bounds (encode/decode of every
//! type for the database, executor lifetimes) would bury the queries.
//!
//! Every public method is one transaction; audit events and outbox mail are
//! written inside it, so they exist exactly when the change does.

macro_rules! store_methods {
    ($db:ty) => {
        pub async fn close(&self) {
            self.pool.close().await;
        }

        pub async fn ping(&self) -> StoreResult<()> {
            // Touches a real table: an open connection to a database without our
            // schema (or a broken file) is not ready.
            sqlx::query("select 1 from users limit 1").execute(&self.pool).await?;
            Ok(())
        }

        pub async fn create_user(
            &self,
            user: NewUser,
            email_token: Option<NewEmailToken>,
            session: Option<NewSession>,
            effects: &Effects,
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
            Self::write_effects(&mut tx, effects, Some(row.id), user.now).await?;
            tx.commit().await?;
            Ok(row)
        }

        pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
            let sql = "select id, email, password_hash, name, email_verified_at, created_at, updated_at
                       from users where email_key = $1";
            Ok(sqlx::query_as(sql).bind(email_key(email)).fetch_optional(&self.pool).await?)
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

        pub async fn issue_email_token(
            &self,
            email: &str,
            only_unverified: bool,
            token: &NewEmailToken,
            now: DateTime<Utc>,
            effects: &Effects,
        ) -> StoreResult<bool> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let found: Option<(Uuid, String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "select id, email, email_verified_at from users where email_key = $1",
            )
            .bind(email_key(email))
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, stored_email, verified_at)) = found else {
                return Ok(false);
            };
            if only_unverified && verified_at.is_some() {
                return Ok(false);
            }
            Self::insert_email_token(&mut tx, user_id, token, now).await?;
            // Mail goes to the address on the account, however the request spelled it.
            let mut effects = effects.clone();
            for mail in &mut effects.mails {
                mail.to.clone_from(&stored_email);
            }
            Self::write_effects(&mut tx, &effects, Some(user_id), now).await?;
            tx.commit().await?;
            Ok(true)
        }

        pub async fn verify_email(
            &self,
            hash: &TokenHash,
            now: DateTime<Utc>,
            effects: &Effects,
        ) -> StoreResult<Option<UserRow>> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let purpose = EmailTokenPurpose::VerifyEmail;
            let Some(user_id) = Self::spend_email_token(&mut tx, hash, purpose, now).await? else {
                return Ok(None);
            };
            sqlx::query(
                "update users set email_verified_at = coalesce(email_verified_at, $2), updated_at = $2
                 where id = $1",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Self::write_effects(&mut tx, effects, Some(user_id), now).await?;
            let user = Self::user_by_id(&mut tx, user_id).await?;
            tx.commit().await?;
            Ok(Some(user))
        }

        pub async fn reset_password(
            &self,
            hash: &TokenHash,
            new_password_hash: &str,
            now: DateTime<Utc>,
            effects: &Effects,
        ) -> StoreResult<Option<UserRow>> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let purpose = EmailTokenPurpose::PasswordReset;
            let Some(user_id) = Self::spend_email_token(&mut tx, hash, purpose, now).await? else {
                return Ok(None);
            };
            sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
                .bind(user_id)
                .bind(new_password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            // Every other outstanding reset link of this user stops working too.
            sqlx::query(
                "update email_tokens set used_at = $3
                 where user_id = $1 and purpose = $2 and used_at is null",
            )
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Self::revoke(&mut tx, user_id, RevokeScope::All, "password_reset", now).await?;
            Self::write_effects(&mut tx, effects, Some(user_id), now).await?;
            let user = Self::user_by_id(&mut tx, user_id).await?;
            tx.commit().await?;
            Ok(Some(user))
        }

        pub async fn change_password(
            &self,
            user_id: Uuid,
            keep: Uuid,
            new_password_hash: &str,
            now: DateTime<Utc>,
            effects: &Effects,
        ) -> StoreResult<()> {
            let mut tx = Self::begin_write(&self.pool).await?;
            sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
                .bind(user_id)
                .bind(new_password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let others = RevokeScope::AllExcept(keep);
            Self::revoke(&mut tx, user_id, others, "password_changed", now).await?;
            Self::write_effects(&mut tx, effects, Some(user_id), now).await?;
            tx.commit().await?;
            Ok(())
        }

        pub async fn create_session(&self, session: &NewSession, effects: &Effects) -> StoreResult<()> {
            let mut tx = Self::begin_write(&self.pool).await?;
            Self::insert_session(&mut tx, session).await?;
            Self::write_effects(&mut tx, effects, Some(session.user_id), session.now).await?;
            tx.commit().await?;
            Ok(())
        }

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

        pub async fn active_sessions(
            &self,
            user_id: Uuid,
            now: DateTime<Utc>,
        ) -> StoreResult<Vec<SessionRow>> {
            let sql = "select id, created_at, last_used_at, idle_expires_at, expires_at, ip, user_agent
                       from sessions
                       where user_id = $1 and revoked_at is null
                         and expires_at > $2 and idle_expires_at > $2
                       order by last_used_at desc, id";
            Ok(sqlx::query_as(sql).bind(user_id).bind(now).fetch_all(&self.pool).await?)
        }

        pub async fn refresh(
            &self,
            presented: &TokenHash,
            successor: &TokenHash,
            now: DateTime<Utc>,
            rule: RefreshRule<'_>,
            actor: &Actor,
        ) -> StoreResult<RefreshOutcome> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let Some(locked) = Self::lock_refresh_token(&mut tx, presented).await? else {
                return Ok(RefreshOutcome::Refused);
            };
            let outcome = match rule(&locked.state()) {
                RefreshDecision::Refuse => RefreshOutcome::Refused,
                RefreshDecision::RevokeForReuse => {
                    Self::revoke_for_reuse(&mut tx, &locked, now, actor).await?;
                    RefreshOutcome::Revoked { session_id: locked.session_id }
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
                    sqlx::query("update sessions set last_used_at = $2, idle_expires_at = $3 where id = $1")
                        .bind(locked.session_id)
                        .bind(now)
                        .bind(idle_expires_at)
                        .execute(&mut *tx)
                        .await?;
                    let user = Self::user_by_id(&mut tx, locked.user_id).await?;
                    RefreshOutcome::Issued { session_id: locked.session_id, user }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        }

        pub async fn session_of_refresh_token(
            &self,
            presented: &TokenHash,
            now: DateTime<Utc>,
            rule: RefreshRule<'_>,
            actor: &Actor,
        ) -> StoreResult<Option<SessionRef>> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let Some(locked) = Self::lock_refresh_token(&mut tx, presented).await? else {
                return Ok(None);
            };
            let found = match rule(&locked.state()) {
                RefreshDecision::Rotate { .. } | RefreshDecision::GraceReissue { .. } => {
                    Some(SessionRef { session_id: locked.session_id, user_id: locked.user_id })
                }
                RefreshDecision::RevokeForReuse => {
                    Self::revoke_for_reuse(&mut tx, &locked, now, actor).await?;
                    None
                }
                RefreshDecision::Refuse => None,
            };
            tx.commit().await?;
            Ok(found)
        }

        pub async fn revoke_sessions(
            &self,
            user_id: Uuid,
            scope: RevokeScope,
            reason: &str,
            now: DateTime<Utc>,
            effects: &Effects,
        ) -> StoreResult<u64> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let n = Self::revoke(&mut tx, user_id, scope, reason, now).await?;
            if n > 0 {
                Self::write_effects(&mut tx, effects, Some(user_id), now).await?;
            }
            tx.commit().await?;
            Ok(n)
        }

        pub async fn record(&self, effects: &Effects, now: DateTime<Utc>) -> StoreResult<()> {
            let mut tx = Self::begin_write(&self.pool).await?;
            Self::write_effects(&mut tx, effects, None, now).await?;
            tx.commit().await?;
            Ok(())
        }

        pub async fn events(
            &self,
            user_id: Uuid,
            before: Option<Uuid>,
            limit: u32,
        ) -> StoreResult<Vec<EventRow>> {
            let query = match before {
                None => sqlx::query_as(
                    "select id, kind, session_id, ip, user_agent, created_at from audit_events
                     where user_id = $1
                     order by created_at desc, id desc limit $2",
                ),
                // Keyset pagination: strictly older than the cursor event.
                Some(_) => sqlx::query_as(
                    "select e.id, e.kind, e.session_id, e.ip, e.user_agent, e.created_at
                     from audit_events e, audit_events c
                     where e.user_id = $1 and c.id = $3 and c.user_id = $1
                       and (e.created_at < c.created_at
                            or (e.created_at = c.created_at and e.id < c.id))
                     order by e.created_at desc, e.id desc limit $2",
                ),
            };
            let mut query = query.bind(user_id).bind(i64::from(limit));
            if let Some(cursor) = before {
                query = query.bind(cursor);
            }
            Ok(query.fetch_all(&self.pool).await?)
        }

        pub async fn claim_mail(
            &self,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: u32,
        ) -> StoreResult<Vec<OutboxRow>> {
            let mut tx = Self::begin_write(&self.pool).await?;
            let mut rows: Vec<OutboxRow> = sqlx::query_as(Self::CLAIM_MAIL)
                .bind(now)
                .bind(lease_until)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            // `returning` has no order: send in the order the mail was queued.
            rows.sort_by_key(|r| r.created_at);
            Ok(rows)
        }

        pub async fn mail_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
            // The bodies carry single-use links: keep them no longer than needed.
            sqlx::query(
                "update outbox set sent_at = $2, locked_until = null, body_text = '', body_html = ''
                 where id = $1",
            )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        pub async fn mail_failed(
            &self,
            id: Uuid,
            error: &str,
            retry_at: Option<DateTime<Utc>>,
            now: DateTime<Utc>,
        ) -> StoreResult<()> {
            let query = match retry_at {
                Some(at) => sqlx::query(
                    "update outbox set last_error = $2, next_attempt_at = $3, locked_until = null
                     where id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(at),
                None => sqlx::query(
                    "update outbox set last_error = $2, dead_at = $3, locked_until = null,
                            body_text = '', body_html = ''
                     where id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(now),
            };
            query.execute(&self.pool).await?;
            Ok(())
        }

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

        // --- steps inside a transaction ---------------------------------------

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
            sqlx::query("insert into refresh_tokens (token_hash, session_id, created_at) values ($1, $2, $3)")
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

        /// Marks a live token of this purpose used and returns its user. The
        /// conditional update is the lock: of two concurrent uses, one wins.
        async fn spend_email_token(
            tx: &mut Transaction<'_, $db>,
            hash: &TokenHash,
            purpose: EmailTokenPurpose,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<Uuid>> {
            Ok(sqlx::query_scalar(
                "update email_tokens set used_at = $3
                 where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
                 returning user_id",
            )
            .bind(&hash.0[..])
            .bind(purpose.as_str())
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?)
        }

        /// Writes audit events (stamping `user` on those without one) and queues
        /// mail in the outbox.
        async fn write_effects(
            tx: &mut Transaction<'_, $db>,
            effects: &Effects,
            user: Option<Uuid>,
            now: DateTime<Utc>,
        ) -> StoreResult<()> {
            for e in &effects.events {
                sqlx::query(
                    "insert into audit_events (id, user_id, kind, session_id, ip, user_agent, created_at)
                     values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Uuid::new_v4())
                .bind(e.user_id.or(user))
                .bind(e.kind.as_str())
                .bind(e.session_id)
                .bind(&e.actor.ip)
                .bind(&e.actor.user_agent)
                .bind(e.at)
                .execute(&mut **tx)
                .await?;
            }
            for m in &effects.mails {
                sqlx::query(
                    "insert into outbox (id, recipient, subject, body_text, body_html, created_at, next_attempt_at)
                     values ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(Uuid::new_v4())
                .bind(&m.to)
                .bind(&m.subject)
                .bind(&m.text)
                .bind(&m.html)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        /// A rotated token came back after the grace period: it leaked, so the
        /// whole session goes, and the trail says why.
        async fn revoke_for_reuse(
            tx: &mut Transaction<'_, $db>,
            locked: &LockedRefreshToken,
            now: DateTime<Utc>,
            actor: &Actor,
        ) -> StoreResult<()> {
            let scope = RevokeScope::One(locked.session_id);
            Self::revoke(tx, locked.user_id, scope, "refresh_token_reuse", now).await?;
            let kind = EventKind::RefreshTokenReused;
            let effects = Effects::event(kind, Some(locked.user_id), Some(locked.session_id), actor, now);
            Self::write_effects(tx, &effects, None, now).await
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
            Ok(query.execute(&mut **tx).await?.rows_affected())
        }
    };
}

pub(super) use store_methods;
