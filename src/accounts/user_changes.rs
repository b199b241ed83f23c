//! The writes that change what a session check shows of a user (its `User`
//! fields, whether MFA guards it, whether it exists). `Work` has its own methods
//! of these names, found before the database's through `Deref`, so that every
//! such change is announced to every instance (and drops cached answers there)
//! without a call site able to forget it. A password change shows nothing there
//! (the sessions it ends are revoked, and announced, as such).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::unit_of_work::Work;
use crate::store::{Db, StoreResult, UserUpdate};

impl Work {
    pub async fn mark_email_verified(&mut self, user: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        Db::mark_email_verified(self, user, now).await?;
        self.user_changed(user);
        Ok(())
    }

    pub async fn update_user(&mut self, user: Uuid, update: &UserUpdate<'_>) -> StoreResult<()> {
        Db::update_user(self, user, update).await?;
        self.user_changed(user);
        Ok(())
    }

    pub async fn delete_user(&mut self, user: Uuid) -> StoreResult<bool> {
        let deleted = Db::delete_user(self, user).await?;
        self.user_changed(user);
        Ok(deleted)
    }

    pub async fn confirm_totp(&mut self, user: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        Db::confirm_totp(self, user, now).await?;
        self.user_changed(user);
        Ok(())
    }

    pub async fn delete_mfa(&mut self, user: Uuid) -> StoreResult<()> {
        Db::delete_mfa(self, user).await?;
        self.user_changed(user);
        Ok(())
    }
}
