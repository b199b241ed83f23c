//! [`Db`] methods of the Admin API (`admin_sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::super::backend::Sql;
use super::super::rows::*;
use super::{Db, Links};

impl Db {
    /// A name in use already is [`StoreError::AdminKeyNameTaken`].
    pub async fn insert_admin_key(&mut self, key: &NewAdminKey<'_>) -> StoreResult<()> {
        run!(self.insert_admin_key(key))
    }

    /// The name of the admin key with this SHA-256 digest, if there is one.
    pub async fn admin_key_name(&mut self, digest: &TokenDigest) -> StoreResult<Option<String>> {
        run!(self.admin_key_name(digest))
    }

    /// Records the start of a session unless the account is disabled, locking
    /// the user's row: `Some(disabled_at)`, or `None` when there is no such user.
    pub async fn record_login(
        &mut self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Option<DateTime<Utc>>>> {
        run!(self.record_login(user, now))
    }

    /// The user, locked until the transaction ends.
    pub async fn lock_user(
        &mut self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        run!(self.lock_user(user, now))
    }

    /// A taken email is [`StoreError::EmailTaken`].
    pub async fn update_user(&mut self, user: Uuid, update: &UserUpdate<'_>) -> StoreResult<()> {
        run!(self.update_user(user, update))
    }

    /// False when there was no such user. Its audit events stay.
    pub async fn delete_user(&mut self, user: Uuid) -> StoreResult<bool> {
        run!(self.delete_user(user))
    }

    /// Users whose email starts with `prefix`, in id order, after `after`.
    pub async fn admin_users(
        &mut self,
        prefix: &str,
        after: Option<Uuid>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AdminUserRow>> {
        run!(self.admin_users(prefix, after, limit, now))
    }

    pub async fn admin_user(
        &mut self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AdminUserRow>> {
        run!(self.admin_user(user, now))
    }

    /// False (and nothing written) when the email is taken.
    pub async fn import_user(
        &mut self,
        user: &NewUser,
        email_verified_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        run!(self.import_user(user, email_verified_at))
    }

    /// Events of any user, newest first.
    pub async fn admin_events(
        &mut self,
        filter: &EventFilter,
        limit: u32,
    ) -> StoreResult<Vec<AdminEventRow>> {
        run!(self.admin_events(filter, limit))
    }
}
