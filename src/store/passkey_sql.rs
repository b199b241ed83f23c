//! Statements on passkeys: users' handles, their credentials, and WebAuthn
//! ceremonies in progress. Written once for both backends.

use chrono::{DateTime, Utc};
use sqlx::{Decode, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::backend::{Backend, Sql};
use super::rows::*;

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> Uuid: Decode<'r, DB>,
    for<'r> (Uuid,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> PasskeyRow: FromRow<'r, DB::Row>,
{
    /// The user's handle, made (randomly) on first use. Two first uses at once
    /// agree: the loser's insert does nothing and both read the winner's.
    pub async fn passkey_user_handle(c: &mut DB::Connection, user: Uuid) -> StoreResult<Uuid> {
        sqlx::query(
            "insert into passkey_user_handles (user_id, handle) values ($1, $2)
             on conflict (user_id) do nothing",
        )
        .bind(user)
        .bind(Uuid::new_v4())
        .execute(&mut *c)
        .await?;
        let sql = "select handle from passkey_user_handles where user_id = $1";
        let (handle,): (Uuid,) = sqlx::query_as(sql).bind(user).fetch_one(c).await?;
        Ok(handle)
    }

    pub async fn user_by_passkey_handle(
        c: &mut DB::Connection,
        handle: Uuid,
    ) -> StoreResult<Option<UserRow>> {
        let sql = "select u.id, u.email, u.password_hash, u.name, u.email_verified_at,
                          u.created_at, u.updated_at, u.disabled_at
                   from users u join passkey_user_handles h on h.user_id = u.id
                   where h.handle = $1";
        Ok(sqlx::query_as(sql).bind(handle).fetch_optional(c).await?)
    }

    /// A credential id registered already (to anyone) is [`StoreError::PasskeyTaken`].
    pub async fn insert_passkey(c: &mut DB::Connection, p: &NewPasskey<'_>) -> StoreResult<()> {
        sqlx::query(
            "insert into passkeys (id, user_id, credential_id, name, credential, sign_count, created_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.id)
        .bind(p.user_id)
        .bind(p.credential_id)
        .bind(p.name)
        .bind(p.credential)
        .bind(p.sign_count)
        .bind(p.created_at)
        .execute(c)
        .await
        .map_err(|e| match &e {
            // The random id never collides: a unique violation is the credential id.
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::PasskeyTaken,
            _ => StoreError::Database(e),
        })?;
        Ok(())
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys_of(c: &mut DB::Connection, user: Uuid) -> StoreResult<Vec<PasskeyRow>> {
        let sql = "select id, user_id, credential_id, name, credential, sign_count, created_at,
                          last_used_at
                   from passkeys where user_id = $1 order by created_at, id";
        Ok(sqlx::query_as(sql).bind(user).fetch_all(c).await?)
    }

    pub async fn passkey_by_credential_id(
        c: &mut DB::Connection,
        credential_id: &[u8],
    ) -> StoreResult<Option<PasskeyRow>> {
        let sql = "select id, user_id, credential_id, name, credential, sign_count, created_at,
                          last_used_at
                   from passkeys where credential_id = $1";
        Ok(sqlx::query_as(sql)
            .bind(credential_id)
            .fetch_optional(c)
            .await?)
    }

    /// Whether the user had this passkey (someone else's is left alone).
    pub async fn delete_passkey(c: &mut DB::Connection, user: Uuid, id: Uuid) -> StoreResult<bool> {
        let sql = "delete from passkeys where id = $1 and user_id = $2 returning id";
        let done: Option<(Uuid,)> = sqlx::query_as(sql)
            .bind(id)
            .bind(user)
            .fetch_optional(c)
            .await?;
        Ok(done.is_some())
    }

    /// Stores the credential after a login, if its counter moved forward (or
    /// neither counts: 0). The condition sits in the update, so two logins racing
    /// with one counter value cannot both pass, on any instance. False: refused.
    pub async fn record_passkey_use(
        c: &mut DB::Connection,
        id: Uuid,
        credential: &str,
        sign_count: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done: Option<(Uuid,)> = sqlx::query_as(
            "update passkeys set credential = $2, sign_count = $3, last_used_at = $4
             where id = $1 and (sign_count < $3 or (sign_count = 0 and $3 = 0))
             returning id",
        )
        .bind(id)
        .bind(credential)
        .bind(sign_count)
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(done.is_some())
    }

    /// Stores a ceremony's state, and forgets expired ones while at it.
    pub async fn insert_challenge(
        c: &mut DB::Connection,
        ch: &NewChallenge<'_>,
    ) -> StoreResult<()> {
        sqlx::query("delete from webauthn_challenges where expires_at <= $1")
            .bind(ch.created_at)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "insert into webauthn_challenges (id, purpose, user_id, state, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ch.id)
        .bind(ch.purpose)
        .bind(ch.user_id)
        .bind(ch.state)
        .bind(ch.created_at)
        .bind(ch.expires_at)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) the state of an unexpired ceremony of this
    /// purpose and user (`None`: a login, which has no user yet). The delete is
    /// the single use: of two requests finishing one ceremony, one gets it.
    pub async fn take_challenge(
        c: &mut DB::Connection,
        id: Uuid,
        purpose: &str,
        user: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = match user {
            Some(user) => {
                let sql = "delete from webauthn_challenges
                           where id = $1 and purpose = $2 and expires_at > $3 and user_id = $4
                           returning state";
                let query = sqlx::query_as(sql).bind(id).bind(purpose).bind(now);
                query.bind(user).fetch_optional(c).await?
            }
            None => {
                let sql = "delete from webauthn_challenges
                           where id = $1 and purpose = $2 and expires_at > $3 and user_id is null
                           returning state";
                let query = sqlx::query_as(sql).bind(id).bind(purpose).bind(now);
                query.fetch_optional(c).await?
            }
        };
        Ok(row.map(|(state,)| state))
    }
}
