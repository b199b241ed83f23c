//! [`Db`]: one connection, in a transaction or not, and the statements the core
//! can run on it. Each method runs the one shared statement of `account_sql.rs`
//! or `record_sql.rs` on whichever backend this is.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::backend::{Link, Sql};
use super::rows::*;

pub struct Db {
    /// Declared first: dropped (rolled back or returned) before the turn below.
    link: Links,
    /// SQLite's write turn, held until this transaction ends.
    turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

enum Links {
    Postgres(Link<Postgres>),
    Sqlite(Link<Sqlite>),
}

/// Runs a statement of [`Sql`] with this connection's backend.
macro_rules! run {
    ($db:ident.$statement:ident($($arg:expr),*)) => {
        match &mut $db.link {
            Links::Postgres(link) => Sql::<Postgres>::$statement(link.connection(), $($arg),*).await,
            Links::Sqlite(link) => Sql::<Sqlite>::$statement(link.connection(), $($arg),*).await,
        }
    };
}

impl Db {
    pub(super) fn postgres(link: Link<Postgres>) -> Self {
        Db {
            link: Links::Postgres(link),
            turn: None,
        }
    }

    pub(super) fn sqlite(link: Link<Sqlite>) -> Self {
        Db {
            link: Links::Sqlite(link),
            turn: None,
        }
    }

    /// Keeps `turn` until this transaction ends.
    pub(super) fn holding(mut self, turn: tokio::sync::OwnedSemaphorePermit) -> Self {
        self.turn = Some(turn);
        self
    }

    /// Commits a transaction (a no-op on an autocommit connection).
    pub async fn commit(self) -> StoreResult<()> {
        match self.link {
            Links::Postgres(link) => link.commit().await?,
            Links::Sqlite(link) => link.commit().await?,
        }
        Ok(())
    }

    /// The PostgreSQL connection, for statements only PostgreSQL has.
    pub(super) fn postgres_connection(&mut self) -> Option<&mut sqlx::PgConnection> {
        match &mut self.link {
            Links::Postgres(link) => Some(link.connection()),
            Links::Sqlite(_) => None,
        }
    }

    pub async fn ping(&mut self) -> StoreResult<()> {
        run!(self.ping())
    }

    // --- users and email tokens ------------------------------------------------

    /// A taken email (compared case-insensitively) is [`StoreError::EmailTaken`].
    pub async fn insert_user(&mut self, user: &NewUser) -> StoreResult<UserRow> {
        run!(self.insert_user(user))
    }

    /// The user with this email, compared case-insensitively.
    pub async fn user_by_email(&mut self, email: &str) -> StoreResult<Option<UserRow>> {
        run!(self.user_by_email(email))
    }

    pub async fn user_by_id(&mut self, id: Uuid) -> StoreResult<Option<UserRow>> {
        run!(self.user_by_id(id))
    }

    pub async fn set_password_hash(
        &mut self,
        user: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.set_password_hash(user, hash, now))
    }

    /// Sets `email_verified_at` unless it is already set.
    pub async fn mark_email_verified(&mut self, user: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        run!(self.mark_email_verified(user, now))
    }

    pub async fn insert_email_token(&mut self, token: &NewEmailToken) -> StoreResult<()> {
        run!(self.insert_email_token(token))
    }

    /// Marks an unused, unexpired token of this purpose used; returns its user.
    /// Of two concurrent uses, one wins.
    pub async fn spend_email_token(
        &mut self,
        digest: &TokenDigest,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        run!(self.spend_email_token(digest, purpose, now))
    }

    /// The user of an unused, unexpired token of this purpose, without spending it.
    pub async fn email_token_user(
        &mut self,
        digest: &TokenDigest,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        run!(self.email_token_user(digest, purpose, now))
    }

    /// Marks every unused token of this user and purpose used.
    pub async fn spend_all_email_tokens(
        &mut self,
        user: Uuid,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.spend_all_email_tokens(user, purpose, now))
    }

    // --- sessions and refresh tokens ---------------------------------------------

    pub async fn insert_session(&mut self, session: &NewSession) -> StoreResult<()> {
        run!(self.insert_session(session))
    }

    pub async fn insert_refresh_token(
        &mut self,
        session: Uuid,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.insert_refresh_token(session, digest, now))
    }

    /// The token and its session, locked until the transaction ends, so that
    /// concurrent refreshes of one token are serialised.
    pub async fn lock_refresh_token(
        &mut self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<LockedRefreshToken>> {
        run!(self.lock_refresh_token(digest))
    }

    pub async fn mark_refresh_token_rotated(
        &mut self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.mark_refresh_token_rotated(digest, now))
    }

    /// Records a use of the session and moves its idle expiry.
    pub async fn touch_session(
        &mut self,
        session: Uuid,
        now: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.touch_session(session, now, idle_expires_at))
    }

    /// Revokes the user's sessions in `scope` that were still unrevoked; returns their ids.
    pub async fn revoke_sessions(
        &mut self,
        user: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        run!(self.revoke_sessions(user, scope, reason, now))
    }

    /// The user of a session that is neither revoked nor expired, and whether
    /// they have a confirmed second factor: one query for every authenticated
    /// request.
    pub async fn active_session_user(
        &mut self,
        session: Uuid,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionUserRow>> {
        run!(self.active_session_user(session, user, now))
    }

    /// A user's sessions that are neither revoked nor expired, most recently used first.
    pub async fn active_sessions(
        &mut self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRow>> {
        run!(self.active_sessions(user, now))
    }

    /// Whether the user started a session from this client address since `since`.
    pub async fn has_logged_in_from(
        &mut self,
        user: Uuid,
        ip: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        run!(self.has_logged_in_from(user, ip, since))
    }

    // --- passkeys (statements in passkey_sql.rs) ------------------------------------

    pub async fn passkey_user_handle(&mut self, user: Uuid) -> StoreResult<Uuid> {
        run!(self.passkey_user_handle(user))
    }

    pub async fn user_by_passkey_handle(&mut self, handle: Uuid) -> StoreResult<Option<UserRow>> {
        run!(self.user_by_passkey_handle(handle))
    }

    /// A credential id registered already is [`StoreError::PasskeyTaken`].
    pub async fn insert_passkey(&mut self, passkey: &NewPasskey<'_>) -> StoreResult<()> {
        run!(self.insert_passkey(passkey))
    }

    pub async fn passkeys_of(&mut self, user: Uuid) -> StoreResult<Vec<PasskeyRow>> {
        run!(self.passkeys_of(user))
    }

    pub async fn passkey_by_credential_id(
        &mut self,
        credential_id: &[u8],
    ) -> StoreResult<Option<PasskeyRow>> {
        run!(self.passkey_by_credential_id(credential_id))
    }

    pub async fn delete_passkey(&mut self, user: Uuid, id: Uuid) -> StoreResult<bool> {
        run!(self.delete_passkey(user, id))
    }

    /// False when the signature counter did not move forward (see the statement).
    pub async fn record_passkey_use(
        &mut self,
        id: Uuid,
        credential: &str,
        sign_count: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        run!(self.record_passkey_use(id, credential, sign_count, now))
    }

    pub async fn insert_challenge(&mut self, challenge: &NewChallenge<'_>) -> StoreResult<()> {
        run!(self.insert_challenge(challenge))
    }

    /// Takes an unexpired ceremony's state: at most once.
    pub async fn take_challenge(
        &mut self,
        id: Uuid,
        purpose: &str,
        user: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        run!(self.take_challenge(id, purpose, user, now))
    }

    // --- audit trail, outbox, keys ----------------------------------------------

    pub async fn insert_event(&mut self, event: &NewEvent) -> StoreResult<()> {
        run!(self.insert_event(event))
    }

    /// A user's events, newest first, strictly older than `before` when given.
    pub async fn events(
        &mut self,
        user: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        run!(self.events(user, before, limit))
    }

    pub async fn queue_mail(
        &mut self,
        message: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.queue_mail(message, now))
    }

    /// Claims up to `limit` due messages until `lease_until` (another worker skips
    /// them meanwhile; a crashed worker's claim expires), in queue order.
    pub async fn claim_mail(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        run!(self.claim_mail(now, lease_until, limit))
    }

    /// Marks a message sent and forgets its bodies.
    pub async fn mail_sent(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        run!(self.mail_sent(id, now))
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `None`.
    pub async fn mail_failed(
        &mut self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.mail_failed(id, error, retry_at, now))
    }

    pub async fn insert_link_request(&mut self, request: &NewLinkRequest) -> StoreResult<()> {
        run!(self.insert_link_request(request))
    }

    /// The oldest queued link request, locked until the transaction ends (other
    /// workers skip it meanwhile).
    pub async fn next_link_request(&mut self) -> StoreResult<Option<LinkRequestRow>> {
        run!(self.next_link_request())
    }

    pub async fn delete_link_request(&mut self, id: Uuid) -> StoreResult<()> {
        run!(self.delete_link_request(id))
    }

    /// Stores `key` as the current signing key unless there is one already.
    pub async fn offer_signing_key(&mut self, key: &SigningKeyRow) -> StoreResult<()> {
        run!(self.offer_signing_key(key))
    }

    /// Keys not retired before `retired_after`, the current one first.
    pub async fn signing_keys(
        &mut self,
        retired_after: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRow>> {
        run!(self.signing_keys(retired_after))
    }
}

// The statements of the second factor, in a file of their own.
mod mfa_methods;
// The statements of the webhook outbox, likewise.
mod webhook_methods;
// The statements of the Admin API.
mod admin_methods;
// How many messages wait in the outboxes (for the metrics).
mod queue_depth_methods;
// The statements of signing-key rotation.
mod signing_key_methods;
// Deleting what nobody can need any more.
mod retention_methods;
