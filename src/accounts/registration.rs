//! Registration. With verification on, a new and a taken email get the same
//! answer after the same work; the owner of a taken one is told by mail.

use uuid::Uuid;

use super::audit::EventKind;
use super::auth_method::AuthMethod;
use super::error::InvalidField;
use super::input;
use super::outcomes::{ClientContext, Registered, TokenPair};
use super::password_rules;
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::mail::MailKind;
use crate::store::{NewUser, StoreError};

/// A sign-up as the client sent it (email trimmed, password as typed).
pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
}

impl Accounts {
    pub async fn register(
        &self,
        form: Registration,
        client: &ClientContext,
    ) -> AccountResult<Registered> {
        input::registration(&form)?;
        self.limit_client(Policy::Register, client).await?;
        self.limit_account(Policy::RegisterAccount, &form.email)
            .await?;
        InvalidField::reject_nul("email", &form.email)?;
        InvalidField::reject_nul("name", form.name.as_deref().unwrap_or_default())?;
        password_rules::check_new(&form.password, &form.email, "password")?;
        // Hash first, whatever happens next: a taken email costs the same time.
        let normalised = password_rules::normalised(&form.password);
        let password_hash = self.hasher.hash(normalised).await?;
        let user = NewUser {
            id: Uuid::new_v4(),
            email: form.email,
            password_hash,
            name: form.name,
            created_at: self.clock.now(),
        };
        if !self.config.require_email_verification {
            let pair = self.register_and_log_in(user, client).await?;
            return Ok(Registered::LoggedIn(pair));
        }
        self.register_for_verification(user, client).await?;
        Ok(Registered::VerificationSent)
    }

    /// Verification off: the account and its first session in one transaction;
    /// a taken email is [`AccountError::EmailTaken`](super::AccountError::EmailTaken).
    async fn register_and_log_in(
        &self,
        user: NewUser,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        let mut work = self.begin().await?;
        let row = work.insert_user(&user).await?;
        let registered = EventKind::Registered;
        work.event(registered, Some(row.id), None, client, user.created_at)
            .await?;
        let pair = self
            .start_session(&mut work, &row, AuthMethod::Password, client)
            .await?;
        work.commit().await?;
        Ok(pair)
    }

    /// Verification on: a new account gets a verification link; a taken address
    /// gets an "account exists" mail with a reset link. Over the mail throttle,
    /// the account is created without a link (a resend gets one later).
    async fn register_for_verification(
        &self,
        user: NewUser,
        client: &ClientContext,
    ) -> AccountResult<()> {
        // Both mails are composed up front, so a new and a taken email cost the same.
        let now = user.created_at;
        let verify = self.link_mail(MailKind::VerifyEmail, &user.email, now)?;
        let exists = self.link_mail(MailKind::AccountExists, &user.email, now)?;
        let mut work = self.begin().await?;
        let row = match work.insert_user(&user).await {
            Ok(row) => row,
            Err(StoreError::EmailTaken) => {
                // The failed insert ended this transaction on PostgreSQL: start afresh.
                drop(work);
                let mut work = self.begin().await?;
                self.mail_link_to_account(&mut work, &user.email, false, exists, None)
                    .await?;
                return work.commit().await;
            }
            Err(e) => return Err(e.into()),
        };
        work.event(EventKind::Registered, Some(row.id), None, client, now)
            .await?;
        if self.mail_allowed(&row.email).await {
            work.insert_email_token(&verify.token_for(row.id, now))
                .await?;
            work.mail(verify.message_to(row.email), now).await?;
        }
        work.commit().await
    }
}
