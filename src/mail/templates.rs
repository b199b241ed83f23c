//! Every message, plain text and HTML, rendered from the templates in
//! `templates/email/` (compiled into the binary). HTML templates are auto-escaped.

use minijinja::{Environment, context};

use super::Email;

/// The messages the service sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    VerifyEmail,
    PasswordReset,
    AccountExists,
}

impl Message {
    fn name(self) -> &'static str {
        match self {
            Message::VerifyEmail => "verify_email",
            Message::PasswordReset => "password_reset",
            Message::AccountExists => "account_exists",
        }
    }
}

macro_rules! template {
    ($env:ident, $file:literal) => {
        $env.add_template(
            $file,
            include_str!(concat!("../../templates/email/", $file)),
        )?
    };
}

pub struct Templates {
    env: Environment<'static>,
    product: String,
}

impl Templates {
    pub fn new(product: &str) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        template!(env, "layout.html");
        template!(env, "verify_email.subject.txt");
        template!(env, "verify_email.txt");
        template!(env, "verify_email.html");
        template!(env, "password_reset.subject.txt");
        template!(env, "password_reset.txt");
        template!(env, "password_reset.html");
        template!(env, "account_exists.subject.txt");
        template!(env, "account_exists.txt");
        template!(env, "account_exists.html");
        let templates = Self {
            env,
            product: product.to_owned(),
        };
        // Render each once now, so a broken template stops start-up, not a request.
        for message in [
            Message::VerifyEmail,
            Message::PasswordReset,
            Message::AccountExists,
        ] {
            templates.render(message, "check@example.com", "https://example.com/?token=x")?;
        }
        Ok(templates)
    }

    /// The message for `to`, with `link` as its call to action.
    pub fn render(&self, message: Message, to: &str, link: &str) -> anyhow::Result<Email> {
        let name = message.name();
        let subject = self
            .env
            .get_template(&format!("{name}.subject.txt"))?
            .render(context! { product => &self.product })?
            .trim()
            .to_owned();
        let ctx = context! { product => &self.product, to, link, subject => &subject };
        let text = self
            .env
            .get_template(&format!("{name}.txt"))?
            .render(&ctx)?;
        let html = self
            .env
            .get_template(&format!("{name}.html"))?
            .render(&ctx)?;
        Ok(Email {
            to: to.to_owned(),
            subject,
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::new("Acme <Beta>").expect("templates");
        let mail = t
            .render(
                Message::PasswordReset,
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
