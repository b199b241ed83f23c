//! Retention: deleting, one bounded batch at a time, rows nobody can need any
//! more. Which rows are old is the core's rule (it passes a cutoff); this file
//! knows only where each kind lives. Written once for both backends.
//!
//! Several instances may delete at once: on PostgreSQL each batch locks the
//! rows it picked and skips rows another instance holds, so two batches never
//! wait for each other and each row is deleted (and counted) once; on SQLite
//! the write transaction already holds the only write lock.

use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Sql};
use super::rows::StoreResult;

/// A kind of row retention deletes, each measured against the cutoff it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Refresh tokens of sessions revoked or expired by the cutoff.
    RefreshTokensOfEndedSessions,
    /// Sessions revoked or expired by the cutoff (with any refresh tokens left).
    EndedSessions,
    /// Mail sent or given up on by the cutoff.
    FinishedMail,
    /// Webhooks delivered or given up on by the cutoff.
    FinishedWebhooks,
    /// Verification, reset and set-password links expired by the cutoff.
    EmailTokens,
    /// MFA steps of logins expired by the cutoff.
    MfaChallenges,
    /// Passkey ceremonies expired by the cutoff.
    PasskeyChallenges,
    /// Audit events recorded before the cutoff.
    AuditEvents,
}

impl Expired {
    /// The table, its key, and which of its rows (`r`) are old by the cutoff `$1`.
    fn rows(self) -> (&'static str, &'static str, &'static str) {
        match self {
            // `idle_expires_at` never passes `expires_at` (a constraint says
            // so): it is when an unrevoked session ends.
            Expired::RefreshTokensOfEndedSessions => (
                "refresh_tokens",
                "token_hash",
                "join sessions s on s.id = r.session_id
                 where s.revoked_at <= $1 or s.idle_expires_at <= $1",
            ),
            Expired::EndedSessions => (
                "sessions",
                "id",
                "where r.revoked_at <= $1 or r.idle_expires_at <= $1",
            ),
            Expired::FinishedMail => ("outbox", "id", "where r.sent_at <= $1 or r.dead_at <= $1"),
            Expired::FinishedWebhooks => (
                "webhook_outbox",
                "id",
                "where r.sent_at <= $1 or r.dead_at <= $1",
            ),
            Expired::EmailTokens => ("email_tokens", "token_hash", "where r.expires_at <= $1"),
            Expired::MfaChallenges => ("mfa_challenges", "token_hash", "where r.expires_at <= $1"),
            Expired::PasskeyChallenges => ("webauthn_challenges", "id", "where r.expires_at <= $1"),
            Expired::AuditEvents => ("audit_events", "id", "where r.created_at < $1"),
        }
    }
}

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    /// Deletes at most `limit` rows of `kind` that are old by `cutoff`; how many.
    pub async fn delete_expired(
        c: &mut DB::Connection,
        kind: Expired,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        let (table, key, which) = kind.rows();
        let lock = DB::SKIP_LOCKED_ROWS;
        // Made of the literals above only: nothing from outside reaches the text.
        let sql = format!(
            "delete from {table} where {key} in
                 (select r.{key} from {table} r {which} limit $2{lock})"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(cutoff)
            .bind(i64::from(limit))
            .execute(c)
            .await?;
        Ok(DB::rows_affected(&done))
    }
}
