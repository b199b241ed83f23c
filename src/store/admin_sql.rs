//! Statements of the Admin API: admin keys, users as operators see and change
//! them, the import, and the audit trail across users. Written once for both
//! backends.

use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::backend::{Backend, Sql};
use super::email_key::email_key;
use super::rows::*;

/// `select` of [`AdminUserRow`]s followed by the given literal (`where …`).
/// `$1` is the time that decides which sessions are still active.
macro_rules! select_admin_users {
    ($rest:literal) => {
        concat!(
            "select u.id, u.email, u.password_hash, u.name, u.email_verified_at, u.created_at,
                    u.updated_at, u.disabled_at, u.last_login_at,
                    exists(select 1 from totp_credentials t
                           where t.user_id = u.id and t.confirmed_at is not null) as mfa_enabled,
                    (select count(*) from sessions s
                     where s.user_id = u.id and s.revoked_at is null
                       and s.expires_at > $1 and s.idle_expires_at > $1) as active_sessions
             from users u ",
            $rest
        )
    };
}

/// A `like` pattern matching every string that starts with `prefix` (its `%`,
/// `_` and `\` taken literally).
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in email_key(prefix).chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A unique violation on the users' email is [`StoreError::EmailTaken`] (SQLite
/// does not name the constraint; the random id never collides).
fn email_taken(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db)
            if db.is_unique_violation()
                && db.constraint().is_none_or(|c| c == "users_email_key") =>
        {
            StoreError::EmailTaken
        }
        _ => StoreError::Database(e),
    }
}

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (Uuid,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (Option<DateTime<Utc>>,): FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> AdminUserRow: FromRow<'r, DB::Row>,
    for<'r> AdminEventRow: FromRow<'r, DB::Row>,
{
    /// A name in use already is [`StoreError::AdminKeyNameTaken`] (a random key's
    /// digest never collides).
    pub async fn insert_admin_key(c: &mut DB::Connection, k: &NewAdminKey<'_>) -> StoreResult<()> {
        sqlx::query(
            "insert into admin_keys (id, name, key_hash, created_at) values ($1, $2, $3, $4)",
        )
        .bind(k.id)
        .bind(k.name)
        .bind(&k.digest[..])
        .bind(k.created_at)
        .execute(c)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AdminKeyNameTaken,
            _ => StoreError::Database(e),
        })?;
        Ok(())
    }

    /// The name of the admin key with this digest. The lookup goes by SHA-256,
    /// so its timing says nothing about how close a guess came.
    pub async fn admin_key_name(
        c: &mut DB::Connection,
        digest: &TokenDigest,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("select name from admin_keys where key_hash = $1")
                .bind(&digest[..])
                .fetch_optional(c)
                .await?;
        Ok(row.map(|(name,)| name))
    }

    /// Records the start of a session unless the account is disabled; returns
    /// `disabled_at` (`None`: no such user). The update locks the user's row
    /// until the transaction ends, so a concurrent disable either sees the new
    /// session (and revokes it) or is seen here.
    pub async fn record_login(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Option<DateTime<Utc>>>> {
        let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
            "update users
             set last_login_at = case when disabled_at is null then $2 else last_login_at end
             where id = $1 returning disabled_at",
        )
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(row.map(|(disabled_at,)| disabled_at))
    }

    /// The user, its row locked until the transaction ends (an update is the one
    /// lock both backends take alike); `updated_at` becomes `now`.
    pub async fn lock_user(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        Ok(sqlx::query_as(
            "update users set updated_at = $2 where id = $1
             returning id, email, password_hash, name, email_verified_at, created_at, updated_at,
                       disabled_at",
        )
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await?)
    }

    /// Stores an operator's changes; a taken email is [`StoreError::EmailTaken`].
    pub async fn update_user(
        c: &mut DB::Connection,
        user_id: Uuid,
        u: &UserUpdate<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "update users set email = $2, email_key = $3, name = $4, email_verified_at = $5,
                              disabled_at = $6, updated_at = $7
             where id = $1",
        )
        .bind(user_id)
        .bind(u.email)
        .bind(email_key(u.email))
        .bind(u.name)
        .bind(u.email_verified_at)
        .bind(u.disabled_at)
        .bind(u.now)
        .execute(c)
        .await
        .map_err(email_taken)?;
        Ok(())
    }

    /// Deletes the user and, by cascade, everything of theirs but the audit
    /// trail; false when there was no such user.
    pub async fn delete_user(c: &mut DB::Connection, user_id: Uuid) -> StoreResult<bool> {
        let gone: Option<(Uuid,)> = sqlx::query_as("delete from users where id = $1 returning id")
            .bind(user_id)
            .fetch_optional(c)
            .await?;
        Ok(gone.is_some())
    }

    /// Users whose email starts with `prefix` (compared case-insensitively), in
    /// id order, `limit` of them after the id `after` when given (keyset paging).
    pub async fn admin_users(
        c: &mut DB::Connection,
        prefix: &str,
        after: Option<Uuid>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AdminUserRow>> {
        let sql = select_admin_users!(
            "where u.email_key like $2 escape '\\' and ($3 is null or u.id > $3)
             order by u.id limit $4"
        );
        Ok(sqlx::query_as(sql)
            .bind(now)
            .bind(prefix_pattern(prefix))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(c)
            .await?)
    }

    pub async fn admin_user(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AdminUserRow>> {
        Ok(sqlx::query_as(select_admin_users!("where u.id = $2"))
            .bind(now)
            .bind(user_id)
            .fetch_optional(c)
            .await?)
    }

    /// Inserts an imported user unless the email is taken (in the database or
    /// earlier in the same import): `false` then, and nothing is written. No
    /// error either way, so the transaction of the import goes on.
    pub async fn import_user(
        c: &mut DB::Connection,
        user: &NewUser,
        email_verified_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "insert into users (id, email, email_key, password_hash, name, email_verified_at,
                                created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (email_key) do nothing
             returning id",
        )
        .bind(user.id)
        .bind(user.email.as_str())
        .bind(email_key(&user.email))
        .bind(user.password_hash.as_str())
        .bind(user.name.as_deref())
        .bind(email_verified_at)
        .bind(user.created_at)
        .fetch_optional(c)
        .await?;
        Ok(row.is_some())
    }

    /// Events of any user, newest first, `limit` of them, narrowed by `filter`.
    pub async fn admin_events(
        c: &mut DB::Connection,
        filter: &EventFilter,
        limit: u32,
    ) -> StoreResult<Vec<AdminEventRow>> {
        Ok(sqlx::query_as(
            "select e.id, e.kind, e.method, e.session_id, e.ip, e.user_agent, e.created_at,
                    e.user_id, e.actor
             from audit_events e
             where ($1 is null or e.user_id = $1)
               and ($2 is null or e.kind = $2)
               and ($3 is null or exists (
                     select 1 from audit_events c
                     where c.id = $3
                       and (e.created_at < c.created_at
                            or (e.created_at = c.created_at and e.id < c.id))))
             order by e.created_at desc, e.id desc limit $4",
        )
        .bind(filter.user_id)
        .bind(filter.kind.as_deref())
        .bind(filter.before)
        .bind(i64::from(limit))
        .fetch_all(c)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_literally_and_in_lower_case() {
        assert_eq!(prefix_pattern(" Ada"), "ada%");
        assert_eq!(prefix_pattern("a_b%c\\"), "a\\_b\\%c\\\\%");
        assert_eq!(prefix_pattern(""), "%");
    }
}

/// The admin's `email` search prefix is untrusted text inside a `like`.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// The literal text a pattern matches before its final `%`, or `None` if it
    /// holds an unescaped wildcard there.
    fn literal(pattern: &str) -> Option<String> {
        let body = pattern.strip_suffix('%')?;
        let mut chars = body.chars();
        let mut text = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => text.push(chars.next()?),
                '%' | '_' => return None,
                c => text.push(c),
            }
        }
        Some(text)
    }

    proptest! {
        #[test]
        fn a_prefix_is_matched_literally(prefix in prop_oneof![".{0,40}", "[a-z%_\\\\ ]{0,20}"]) {
            prop_assert_eq!(literal(&prefix_pattern(&prefix)), Some(email_key(&prefix)));
        }
    }
}
