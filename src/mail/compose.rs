//! Every message, plain text and HTML, rendered from `templates/email/`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::context;

use super::notice::Notice;
use crate::store::OutboxMessage;
use crate::templates::Templates;

/// Stands in the stored bodies where a link's token goes; the outbox worker puts
/// the unsealed token there when sending. Letters, digits and `_` only, so URL
/// encoding and HTML escaping leave it as it is.
pub const LINK_TOKEN_PLACEHOLDER: &str = "LINK_TOKEN_SEALED_IN_OUTBOX";

/// The messages the service sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerifyEmail,
    PasswordReset,
    AccountExists,
    /// An operator made the account without a password: a link to choose one.
    SetPassword,
}

impl MailKind {
    const ALL: [MailKind; 4] = [
        MailKind::VerifyEmail,
        MailKind::PasswordReset,
        MailKind::AccountExists,
        MailKind::SetPassword,
    ];

    fn template(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::PasswordReset => "password_reset",
            MailKind::AccountExists => "account_exists",
            MailKind::SetPassword => "set_password",
        }
    }
}

/// A message ready to send: both parts are always present.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl From<Email> for OutboxMessage {
    fn from(mail: Email) -> Self {
        OutboxMessage {
            recipient: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            sealed_token: None,
        }
    }
}

pub struct Composer {
    templates: Arc<Templates>,
    product: String,
}

impl Composer {
    /// Renders each message once, so a broken template stops start-up rather
    /// than a request.
    pub fn new(templates: Arc<Templates>, product: &str) -> anyhow::Result<Self> {
        let composer = Self {
            templates,
            product: product.to_owned(),
        };
        for kind in MailKind::ALL {
            composer.compose(kind, "check@example.com", "https://example.com/?token=x")?;
        }
        for notice in Notice::ALL {
            composer.compose_notice(notice, "check@example.com", DateTime::UNIX_EPOCH)?;
        }
        Ok(composer)
    }

    /// The message `kind` for `to`, with `link` as its call to action.
    pub fn compose(&self, kind: MailKind, to: &str, link: &str) -> anyhow::Result<Email> {
        let name = kind.template();
        let subject = self
            .templates
            .render(
                &format!("email/{name}.subject.txt"),
                context! { product => &self.product },
            )?
            .trim()
            .to_owned();
        let ctx = context! { product => &self.product, to, link, subject => &subject };
        Ok(Email {
            to: to.to_owned(),
            text: self.templates.render(&format!("email/{name}.txt"), &ctx)?,
            html: self.templates.render(&format!("email/{name}.html"), &ctx)?,
            subject,
        })
    }

    /// The security notice `notice` for `to`, saying it happened at `when`. It
    /// has no link: nothing in it is worth stealing.
    pub fn compose_notice(
        &self,
        notice: Notice,
        to: &str,
        when: DateTime<Utc>,
    ) -> anyhow::Result<Email> {
        let what = notice.what();
        let subject = self
            .templates
            .render(
                "email/security_notice.subject.txt",
                context! { product => &self.product, what },
            )?
            .trim()
            .to_owned();
        let ctx = context! {
            product => &self.product,
            to,
            subject => &subject,
            sentence => notice.sentence(),
            when => when.format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        Ok(Email {
            to: to.to_owned(),
            text: self.templates.render("email/security_notice.txt", &ctx)?,
            html: self.templates.render("email/security_notice.html", &ctx)?,
            subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let templates = Arc::new(Templates::load().expect("templates"));
        let composer = Composer::new(templates, "Acme <Beta>").expect("composer");
        let mail = composer
            .compose(
                MailKind::PasswordReset,
                "a@b.c",
                "https://x.test/reset?token=a&b=1",
            )
            .expect("renders");
        assert_eq!(mail.subject, "Reset your Acme <Beta> password");
        assert!(mail.text.contains("https://x.test/reset?token=a&b=1"));
        assert!(mail.html.contains("Acme &lt;Beta&gt;"));
        // minijinja also escapes `/` (as &#x2f;), which browsers read back as `/`.
        assert!(mail.html.contains("token=a&amp;b=1"), "{}", mail.html);
    }
}
