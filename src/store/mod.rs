//! Persistence. Every SQL statement of the service lives below this module, behind
//! the methods of [`Store`]; callers see row types and units of work, never SQL,
//! and never which backend runs. Each method is one transaction, so a failed
//! request leaves nothing half-written.

mod methods;
mod postgres;
mod sqlite;
mod types;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::tokens::TokenHash;
use crate::config::DatabaseUrl;

pub use types::*;

/// The one interface to persistence. Which backend runs is known only here.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Woken after a commit that queued mail, so this instance's worker sends it
    /// at once instead of at its next poll.
    mail_queued: Arc<Notify>,
}

/// PostgreSQL for production, an embedded SQLite file for zero set-up.
#[derive(Clone)]
enum Backend {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

/// Runs the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match &$self.backend {
            Backend::Postgres(s) => s.$method($($arg),*).await,
            Backend::Sqlite(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database (creating it when missing) and applies pending migrations.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        let backend = match url {
            DatabaseUrl::Postgres(url) => {
                Backend::Postgres(postgres::PgStore::connect(url, max_connections).await?)
            }
            DatabaseUrl::Sqlite(path) => {
                Backend::Sqlite(sqlite::SqliteStore::connect(path, max_connections).await?)
            }
        };
        Ok(Store {
            backend,
            mail_queued: Arc::new(Notify::new()),
        })
    }

    /// What a log line should say about where the data is.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Postgres(s) => s.describe(),
            Backend::Sqlite(s) => s.describe(),
        }
    }

    /// Resolves when a commit has queued mail (or immediately if one did since
    /// the last call).
    pub async fn mail_queued(&self) {
        self.mail_queued.notified().await;
    }

    /// Every unit of work that writes effects ends here, so queued mail always
    /// wakes the worker (a spurious wake-up when nothing was written is harmless).
    fn after_commit<T>(&self, effects: &Effects, result: StoreResult<T>) -> StoreResult<T> {
        if !effects.mails.is_empty() && result.is_ok() {
            self.mail_queued.notify_one();
        }
        result
    }

    pub async fn close(&self) {
        dispatch!(self.close())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self.ping())
    }

    // --- accounts -------------------------------------------------------------

    /// Creates a user, optionally with a verification token or a first session,
    /// and its effects, all in one transaction. A taken email is
    /// [`StoreError::EmailTaken`] and writes nothing.
    pub async fn create_user(
        &self,
        user: NewUser,
        email_token: Option<NewEmailToken>,
        session: Option<NewSession>,
        effects: Effects,
    ) -> StoreResult<UserRow> {
        let result = dispatch!(self.create_user(user, email_token, session, &effects));
        self.after_commit(&effects, result)
    }

    /// The user with this email, compared case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        dispatch!(self.user_by_email(email))
    }

    pub async fn set_password_hash(
        &self,
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.set_password_hash(user_id, hash, now))
    }

    /// If an account has this email (and, with `only_unverified`, has not verified
    /// it yet), stores the token and the effects; events without a user get that
    /// account's. Returns whether an account matched. Nothing is written otherwise.
    pub async fn issue_email_token(
        &self,
        email: &str,
        only_unverified: bool,
        token: NewEmailToken,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> StoreResult<bool> {
        let result =
            dispatch!(self.issue_email_token(email, only_unverified, &token, now, &effects));
        self.after_commit(&effects, result)
    }

    /// Spends a single-use verification token and marks the address verified.
    /// `None`: unknown, expired, used, or issued for another purpose.
    pub async fn verify_email(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> StoreResult<Option<UserRow>> {
        let result = dispatch!(self.verify_email(hash, now, &effects));
        self.after_commit(&effects, result)
    }

    /// Spends a password-reset token: sets the new hash, revokes every session and
    /// every other outstanding reset token of the user. `None` as for `verify_email`.
    pub async fn reset_password(
        &self,
        hash: &TokenHash,
        new_password_hash: &str,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> StoreResult<Option<UserRow>> {
        let result = dispatch!(self.reset_password(hash, new_password_hash, now, &effects));
        self.after_commit(&effects, result)
    }

    /// Sets a new password hash and revokes every session but `keep`.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        keep: Uuid,
        new_password_hash: &str,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> StoreResult<()> {
        let result =
            dispatch!(self.change_password(user_id, keep, new_password_hash, now, &effects));
        self.after_commit(&effects, result)
    }

    // --- sessions -------------------------------------------------------------

    /// A session with its first refresh token.
    pub async fn create_session(&self, session: NewSession, effects: Effects) -> StoreResult<()> {
        let result = dispatch!(self.create_session(&session, &effects));
        self.after_commit(&effects, result)
    }

    /// The user of a session that is neither revoked nor expired.
    pub async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        dispatch!(self.active_session_user(session_id, user_id, now))
    }

    /// A user's sessions that are neither revoked nor expired, newest first.
    pub async fn active_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRow>> {
        dispatch!(self.active_sessions(user_id, now))
    }

    /// Exchanges a refresh token under a lock, so concurrent refreshes of one token
    /// are serialised: the first rotates it, the others see it rotated. `rule`
    /// decides; the store carries the decision out and stores `successor`. A reuse
    /// after the grace period is recorded as an event by `actor`.
    pub async fn refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
        actor: &Actor,
    ) -> StoreResult<RefreshOutcome> {
        dispatch!(self.refresh(presented, successor, now, rule, actor))
    }

    /// Resolves a refresh token that `rule` still accepts to its session, without
    /// issuing anything. A reused token revokes its session here too.
    pub async fn session_of_refresh_token(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
        actor: &Actor,
    ) -> StoreResult<Option<SessionRef>> {
        dispatch!(self.session_of_refresh_token(presented, now, rule, actor))
    }

    /// Revokes sessions of one user; returns how many were still active. The
    /// effects are recorded only when at least one was.
    pub async fn revoke_sessions(
        &self,
        user_id: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> StoreResult<u64> {
        let result = dispatch!(self.revoke_sessions(user_id, scope, reason, now, &effects));
        self.after_commit(&effects, result)
    }

    // --- audit trail ----------------------------------------------------------

    /// Records effects that belong to no other change (a failed login).
    pub async fn record(&self, effects: Effects, now: DateTime<Utc>) -> StoreResult<()> {
        let result = dispatch!(self.record(&effects, now));
        self.after_commit(&effects, result)
    }

    /// A user's audit events, newest first, `limit` of them, older than the event
    /// `before` when given (keyset pagination).
    pub async fn events(
        &self,
        user_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        dispatch!(self.events(user_id, before, limit))
    }

    // --- outbox ---------------------------------------------------------------

    /// Claims up to `limit` due messages until `lease_until` (another worker skips
    /// them meanwhile; a crashed worker's claim expires) and counts the attempt.
    pub async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        dispatch!(self.claim_mail(now, lease_until, limit))
    }

    pub async fn mail_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self.mail_sent(id, now))
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `None`.
    pub async fn mail_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.mail_failed(id, error, retry_at, now))
    }

    // --- keys -----------------------------------------------------------------

    /// Stored signing keys that still verify, the current one first. `candidate`
    /// becomes the current key if there is none yet.
    pub async fn signing_keys(
        &self,
        candidate: Option<SigningKeyRow>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRow>> {
        dispatch!(self.signing_keys(candidate, now))
    }
}

/// The form of an email that uniqueness and lookups use. Computed here rather than
/// with SQL `lower()`, whose Unicode rules differ between the backends.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
