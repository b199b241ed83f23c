//! The Admin API's flows: operators find, create, change, disable, delete and
//! log out users. Every change runs in a [`Work`](super::unit_of_work::Work)
//! begun for the operator's [`AdminCaller`], so each of its events names the
//! admin key as the actor; every revocation goes through `revoke_sessions`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::EventKind;
use super::crypto::OpaqueToken;
use super::error::{AccountError, InvalidField};
use super::outcomes::{ClientContext, User};
use super::password_rules;
use super::{AccountResult, Accounts};
use crate::mail::{MailKind, Notice};
use crate::store::{AdminUserRow, NewUser, RevokeScope, UserUpdate};

/// Proof that the caller presented an admin key, and its name (the actor of
/// the caller's events); only [`Accounts::admin_caller`] makes one.
#[derive(Debug)]
pub struct AdminCaller {
    pub(super) name: String,
}

impl AdminCaller {
    /// `env:1`, `env:2`… for ADMIN_KEYS; the name given to `admin-keys create`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A user as operators see it.
#[derive(Debug)]
pub struct AdminUser {
    pub user: User,
    pub disabled: bool,
    pub mfa_enabled: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Sessions neither revoked nor expired.
    pub active_sessions: i64,
}

impl From<AdminUserRow> for AdminUser {
    fn from(row: AdminUserRow) -> Self {
        AdminUser {
            user: User::from(&row.user),
            disabled: row.user.disabled_at.is_some(),
            mfa_enabled: row.mfa_enabled,
            last_login_at: row.last_login_at,
            active_sessions: row.active_sessions,
        }
    }
}

/// A page of users in id order.
#[derive(Debug)]
pub struct AdminUserPage {
    pub users: Vec<AdminUser>,
    /// The cursor of the next page; `None` on the last page.
    pub next_after: Option<Uuid>,
}

/// A user an operator creates (email trimmed, password as typed).
pub struct NewUserByAdmin {
    pub email: String,
    /// `None`: the user gets a "set your password" link by mail.
    pub password: Option<String>,
    pub name: Option<String>,
    pub email_verified: bool,
}

/// What an operator changes on a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    /// `Some(None)` removes the name.
    pub name: Option<Option<String>>,
    /// A new address is unverified unless `email_verified` says otherwise.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// Disabling revokes every session at once.
    pub disabled: Option<bool>,
}

impl Accounts {
    /// Users whose email starts with `query` (case-insensitive), in id order.
    pub async fn admin_users(
        &self,
        _caller: &AdminCaller,
        query: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> AccountResult<AdminUserPage> {
        let mut db = self.store.connection().await?;
        // One row more than asked tells whether another page exists.
        let now = self.clock.now();
        let mut rows = db.admin_users(query, after, limit + 1, now).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_after = more.then(|| rows.last().map(|r| r.user.id)).flatten();
        Ok(AdminUserPage {
            users: rows.into_iter().map(AdminUser::from).collect(),
            next_after,
        })
    }

    pub async fn admin_user(&self, _caller: &AdminCaller, id: Uuid) -> AccountResult<AdminUser> {
        let mut db = self.store.connection().await?;
        let row = db.admin_user(id, self.clock.now()).await?;
        row.map(AdminUser::from).ok_or(AccountError::UserNotFound)
    }

    /// Creates a user. Without a password, the account gets one nobody knows
    /// and the user a "set your password" link (a reset link living 24 hours),
    /// queued in the same transaction. A taken email is `EmailTaken`.
    pub async fn create_user(
        &self,
        caller: &AdminCaller,
        new: NewUserByAdmin,
        client: &ClientContext,
    ) -> AccountResult<AdminUser> {
        InvalidField::reject_nul("email", &new.email)?;
        InvalidField::reject_nul("name", new.name.as_deref().unwrap_or_default())?;
        let password = match &new.password {
            Some(typed) => {
                password_rules::check_new(typed, &new.email, "password")?;
                password_rules::normalised(typed)
            }
            None => OpaqueToken::generate()?.plaintext,
        };
        let password_hash = self.hasher.hash(password).await?;
        let now = self.clock.now();
        let set_password = match new.password {
            Some(_) => None,
            None => Some(self.link_mail(MailKind::SetPassword, &new.email, now)?),
        };
        let user = NewUser {
            id: Uuid::new_v4(),
            email: new.email,
            password_hash,
            name: new.name,
            created_at: now,
        };
        let mut work = self.begin_as(caller).await?;
        let row = work.insert_user(&user).await?;
        if new.email_verified {
            work.mark_email_verified(row.id, now).await?;
        }
        let created = EventKind::UserCreatedByAdmin;
        work.event(created, Some(row.id), None, client, now).await?;
        if let Some(mail) = set_password {
            work.insert_email_token(&mail.token_for(row.id, now))
                .await?;
            work.mail(mail.message_to(row.email.clone()), now).await?;
        }
        let shown = work.admin_user(row.id, now).await?;
        work.commit().await?;
        shown
            .map(AdminUser::from)
            .ok_or_else(|| anyhow::anyhow!("user {} vanished", row.id).into())
    }

    /// Changes a user. Disabling revokes every session at once (and the login
    /// refuses the account from then on); a new email is unverified unless the
    /// same request says it is verified. Each change is an event: `user_updated`
    /// (name, email, verification), `user_disabled`, `user_enabled`.
    pub async fn update_user(
        &self,
        caller: &AdminCaller,
        id: Uuid,
        changes: UserChanges,
        client: &ClientContext,
    ) -> AccountResult<AdminUser> {
        InvalidField::reject_nul("email", changes.email.as_deref().unwrap_or_default())?;
        let name = changes.name.as_ref().and_then(Option::as_deref);
        InvalidField::reject_nul("name", name.unwrap_or_default())?;
        let now = self.clock.now();
        let mut work = self.begin_as(caller).await?;
        let current = work
            .lock_user(id, now)
            .await?
            .ok_or(AccountError::UserNotFound)?;
        let email = changes.email.unwrap_or_else(|| current.email.clone());
        let new_address = email.to_lowercase() != current.email.to_lowercase();
        let email_verified_at = match changes.email_verified {
            Some(true) => current.email_verified_at.or(Some(now)),
            Some(false) => None,
            None if new_address => None,
            None => current.email_verified_at,
        };
        let disabled_at = match changes.disabled {
            Some(true) => current.disabled_at.or(Some(now)),
            Some(false) => None,
            None => current.disabled_at,
        };
        let name = changes.name.unwrap_or_else(|| current.name.clone());
        let update = UserUpdate {
            email: &email,
            name: name.as_deref(),
            email_verified_at,
            disabled_at,
            now,
        };
        work.update_user(id, &update).await?;
        let updated = email != current.email
            || name != current.name
            || email_verified_at.is_some() != current.email_verified_at.is_some();
        if updated {
            let kind = EventKind::UserUpdated;
            work.event(kind, Some(id), None, client, now).await?;
        }
        if new_address {
            // The old address hears of it: an account must not slip away unseen.
            let old = &current.email;
            self.notify(&mut work, old, Notice::EmailChanged, now)
                .await?;
        }
        match (current.disabled_at.is_some(), disabled_at.is_some()) {
            (false, true) => {
                let all = RevokeScope::All;
                work.revoke_sessions(id, all, "account_disabled", now)
                    .await?;
                let kind = EventKind::UserDisabled;
                work.event(kind, Some(id), None, client, now).await?;
            }
            (true, false) => {
                let kind = EventKind::UserEnabled;
                work.event(kind, Some(id), None, client, now).await?;
            }
            _ => {}
        }
        let shown = work.admin_user(id, now).await?;
        work.commit().await?;
        shown.map(AdminUser::from).ok_or(AccountError::UserNotFound)
    }

    /// Deletes a user: every session is revoked first (so every instance hears
    /// of it), then the account and all that hangs on it go; the email is free
    /// again, and the audit trail keeps the events with the user id.
    pub async fn delete_user(
        &self,
        caller: &AdminCaller,
        id: Uuid,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let mut work = self.begin_as(caller).await?;
        work.lock_user(id, now)
            .await?
            .ok_or(AccountError::UserNotFound)?;
        work.revoke_sessions(id, RevokeScope::All, "user_deleted", now)
            .await?;
        let deleted = EventKind::UserDeleted;
        work.event(deleted, Some(id), None, client, now).await?;
        work.delete_user(id).await?;
        work.commit().await
    }

    /// Revokes every session of a user (force logout); recorded even when there
    /// was none.
    pub async fn force_logout(
        &self,
        caller: &AdminCaller,
        id: Uuid,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let mut work = self.begin_as(caller).await?;
        work.lock_user(id, now)
            .await?
            .ok_or(AccountError::UserNotFound)?;
        work.revoke_sessions(id, RevokeScope::All, "revoked_by_admin", now)
            .await?;
        let revoked = EventKind::SessionsRevokedByAdmin;
        work.event(revoked, Some(id), None, client, now).await?;
        work.commit().await
    }
}
