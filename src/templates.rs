//! The one template engine: minijinja with the emails of `templates/email/` and
//! the pages of `templates/pages/`, compiled into the binary. Templates named
//! `*.html` are auto-escaped, so a value can never inject markup.

use minijinja::Environment;
use serde::Serialize;

pub struct Templates {
    env: Environment<'static>,
}

/// Adds `templates/$name`, embedded at compile time, under its path as name.
macro_rules! embed {
    ($env:ident, $($name:literal),+ $(,)?) => {
        $($env.add_template($name, include_str!(concat!("../templates/", $name)))?;)+
    };
}

impl Templates {
    /// Compiles every template; a syntax error stops start-up.
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        embed!(
            env,
            "email/layout.html",
            "email/verify_email.subject.txt",
            "email/verify_email.txt",
            "email/verify_email.html",
            "email/password_reset.subject.txt",
            "email/password_reset.txt",
            "email/password_reset.html",
            "email/account_exists.subject.txt",
            "email/account_exists.txt",
            "email/account_exists.html",
            "email/set_password.subject.txt",
            "email/set_password.txt",
            "email/set_password.html",
            "email/security_notice.subject.txt",
            "email/security_notice.txt",
            "email/security_notice.html",
            "pages/layout.html",
            "pages/message.html",
            "pages/verify_email.html",
            "pages/reset_password.html",
        );
        Ok(Self { env })
    }

    pub fn render(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        Ok(self.env.get_template(name)?.render(context)?)
    }
}
