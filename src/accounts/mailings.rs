//! Mail that carries a single-use link: a fresh token (its hash stored, its
//! plaintext only in the link) and the message around it.
//!
//! The queued message never holds the token in the clear: its bodies are
//! composed with a placeholder in the link, and the token goes beside them
//! sealed with SECRETS_KEY; the outbox worker puts it in when sending. Old
//! versions of an outbox row (free pages, WAL, dead tuples) thus never hold a
//! live link, and a database dump without the key yields none. Sealing the token
//! (rather than re-rendering the message at send time) keeps the worker free of
//! templates and the stored message exactly what will be sent.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::EventKind;
use super::crypto::{OpaqueToken, TokenHash};
use super::outcomes::ClientContext;
use super::policy::{RESET_TTL, SET_PASSWORD_TTL, VERIFICATION_TTL};
use super::unit_of_work::Work;
use super::{AccountResult, Accounts};
use crate::mail::{Email, LINK_TOKEN_PLACEHOLDER, MailKind};
use crate::secrets::Purpose;
use crate::store::{EmailTokenPurpose, NewEmailToken, OutboxMessage};

pub(super) struct LinkMail {
    token: TokenHash,
    /// The token's plaintext, sealed with SECRETS_KEY for the outbox.
    sealed_token: Vec<u8>,
    purpose: EmailTokenPurpose,
    expires_at: DateTime<Utc>,
    email: Email,
}

impl LinkMail {
    /// The token row to store for `user`.
    pub fn token_for(&self, user: Uuid, now: DateTime<Utc>) -> NewEmailToken {
        NewEmailToken {
            digest: self.token.0,
            user_id: user,
            purpose: self.purpose,
            created_at: now,
            expires_at: self.expires_at,
        }
    }

    /// The outbox message to `recipient`: the bodies with the placeholder in the
    /// link, the token sealed beside them.
    pub fn message_to(self, recipient: String) -> OutboxMessage {
        let email = Email {
            to: recipient,
            ..self.email
        };
        OutboxMessage {
            sealed_token: Some(self.sealed_token),
            ..OutboxMessage::from(email)
        }
    }
}

/// `base` with `?token=…` appended, keeping any query it already has.
fn link(base: &url::Url, token: &str) -> String {
    let mut url = base.clone();
    url.query_pairs_mut().append_pair("token", token);
    url.into()
}

impl Accounts {
    /// A new link mail of `kind` for `to`: verification links live 24 hours,
    /// reset links (also in "account exists") one hour, "set your password"
    /// links (accounts made by an operator) 24 hours.
    pub(super) fn link_mail(
        &self,
        kind: MailKind,
        to: &str,
        now: DateTime<Utc>,
    ) -> AccountResult<LinkMail> {
        let token = OpaqueToken::generate()?;
        let (base, purpose, expires_at) = match kind {
            MailKind::VerifyEmail => (
                self.config.verification_url(),
                EmailTokenPurpose::VerifyEmail,
                now + VERIFICATION_TTL,
            ),
            MailKind::PasswordReset | MailKind::AccountExists => (
                self.config.password_reset_url(),
                EmailTokenPurpose::PasswordReset,
                now + RESET_TTL,
            ),
            // A reset link that lives longer: the account has no password yet.
            MailKind::SetPassword => (
                self.config.password_reset_url(),
                EmailTokenPurpose::PasswordReset,
                now + SET_PASSWORD_TTL,
            ),
        };
        let email = self
            .composer
            .compose(kind, to, &link(&base, LINK_TOKEN_PLACEHOLDER))?;
        let sealed_token = self
            .secrets
            .seal(Purpose::OutboxLinkToken, token.plaintext.as_bytes())?;
        Ok(LinkMail {
            token: token.hash,
            sealed_token,
            purpose,
            expires_at,
            email,
        })
    }

    /// Sends `mail` to the account with this email (an unverified one only, with
    /// `only_unverified`), storing its token and recording `event` in `work`.
    /// Without such an account, or over the mail throttle (per recipient, then in
    /// total; asked only for mail about to be queued), nothing happens, and the
    /// caller answers the same.
    pub(super) async fn mail_link_to_account(
        &self,
        work: &mut Work,
        email: &str,
        only_unverified: bool,
        mail: LinkMail,
        event: Option<(EventKind, &ClientContext)>,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let Some(user) = work.user_by_email(email).await? else {
            return Ok(());
        };
        if only_unverified && user.email_verified_at.is_some() {
            return Ok(());
        }
        if !self.mail_allowed(&user.email).await {
            return Ok(());
        }
        work.insert_email_token(&mail.token_for(user.id, now))
            .await?;
        if let Some((kind, client)) = event {
            work.event(kind, Some(user.id), None, client, now).await?;
        }
        // Mail goes to the address on the account, however the request spelled it.
        work.mail(mail.message_to(user.email), now).await
    }
}
