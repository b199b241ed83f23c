//! Statements on records kept beside the accounts: the audit trail, the mail
//! outbox and the signing keys. Written once for both backends.

use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};
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
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> OutboxRow: FromRow<'r, DB::Row>,
    for<'r> SigningKeyRow: FromRow<'r, DB::Row>,
    for<'r> LinkRequestRow: FromRow<'r, DB::Row>,
{
    /// Touches a real table: an open connection to a database without our schema
    /// (or a broken file) is not ready.
    pub async fn ping(c: &mut DB::Connection) -> StoreResult<()> {
        sqlx::query("select 1 from users limit 1")
            .execute(c)
            .await?;
        Ok(())
    }

    pub async fn insert_event(c: &mut DB::Connection, e: &NewEvent) -> StoreResult<()> {
        sqlx::query(
            "insert into audit_events (id, user_id, kind, session_id, ip, user_agent, created_at, method,
                                       actor)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::new_v4())
        .bind(e.user_id)
        .bind(e.kind)
        .bind(e.session_id)
        .bind(e.ip.as_deref())
        .bind(e.user_agent.as_deref())
        .bind(e.created_at)
        .bind(e.method)
        .bind(e.actor.as_deref())
        .execute(c)
        .await?;
        Ok(())
    }

    /// A user's events, newest first, `limit` of them, strictly older than the
    /// event `before` when given (keyset pagination).
    pub async fn events(
        c: &mut DB::Connection,
        user_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        let query = match before {
            None => sqlx::query_as(
                "select id, kind, method, session_id, ip, user_agent, created_at from audit_events
                 where user_id = $1
                 order by created_at desc, id desc limit $2",
            ),
            Some(_) => sqlx::query_as(
                "select e.id, e.kind, e.method, e.session_id, e.ip, e.user_agent, e.created_at
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
        Ok(query.fetch_all(c).await?)
    }

    pub async fn queue_mail(
        c: &mut DB::Connection,
        m: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into outbox (id, recipient, subject, body_text, body_html, sealed_token,
                                 created_at, next_attempt_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(Uuid::new_v4())
        .bind(m.recipient.as_str())
        .bind(m.subject.as_str())
        .bind(m.text.as_str())
        .bind(m.html.as_str())
        .bind(m.sealed_token.as_deref())
        .bind(now)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due messages until `lease_until` and counts the
    /// attempt, in the order they were queued.
    pub async fn claim_mail(
        c: &mut DB::Connection,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        let mut rows: Vec<OutboxRow> = sqlx::query_as(DB::CLAIM_MAIL)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(c)
            .await?;
        // `returning` has no order.
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// Marks a message sent and forgets its bodies and sealed token.
    pub async fn mail_sent(
        c: &mut DB::Connection,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "update outbox set sent_at = $2, locked_until = null, body_text = '', body_html = '',
                    sealed_token = null
             where id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or dead (bodies and
    /// sealed token forgotten) when `None`.
    pub async fn mail_failed(
        c: &mut DB::Connection,
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
                        body_text = '', body_html = '', sealed_token = null
                 where id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(now),
        };
        query.execute(c).await?;
        Ok(())
    }

    pub async fn insert_link_request(
        c: &mut DB::Connection,
        r: &NewLinkRequest,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into link_requests (id, purpose, email, ip, user_agent, created_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.id)
        .bind(r.purpose.as_str())
        .bind(r.email.as_str())
        .bind(r.ip.as_deref())
        .bind(r.user_agent.as_deref())
        .bind(r.created_at)
        .execute(c)
        .await?;
        Ok(())
    }

    /// The oldest queued request, locked for this transaction.
    pub async fn next_link_request(c: &mut DB::Connection) -> StoreResult<Option<LinkRequestRow>> {
        Ok(sqlx::query_as(DB::NEXT_LINK_REQUEST)
            .fetch_optional(c)
            .await?)
    }

    pub async fn delete_link_request(c: &mut DB::Connection, id: Uuid) -> StoreResult<()> {
        sqlx::query("delete from link_requests where id = $1")
            .bind(id)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Stores a key as the current one unless there is one already (concurrent
    /// first starts: a partial unique index lets one insert win).
    pub async fn offer_signing_key(c: &mut DB::Connection, key: &SigningKeyRow) -> StoreResult<()> {
        sqlx::query(
            "insert into signing_keys (kid, private_key, created_at, sealed) values ($1, $2, $3, $4)
             on conflict do nothing",
        )
        .bind(key.kid.as_str())
        .bind(&key.private_key[..])
        .bind(key.created_at)
        .bind(key.sealed)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Keys not retired before `retired_after`, the current one first.
    pub async fn signing_keys(
        c: &mut DB::Connection,
        retired_after: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRow>> {
        Ok(sqlx::query_as(
            "select kid, private_key, created_at, retired_at, sealed from signing_keys
             where retired_at is null or retired_at > $1
             order by retired_at desc nulls first, created_at desc",
        )
        .bind(retired_after)
        .fetch_all(c)
        .await?)
    }
}
