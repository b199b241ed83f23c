//! `users create`: the core built as the service builds it (same database,
//! SECRETS_KEY, templates and mail settings), then the Admin API's create-user.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use validator::Validate as _;

use crate::accounts::{AccountError, NewUserByAdmin};
use crate::clock::Clock;
use crate::config::Config;
use crate::http::admin_schemas::{AdminUser, CreateUserRequest};
use crate::store::Store;
use crate::wiring::{self, Core};

pub(super) async fn create(
    config: Config,
    email: String,
    name: Option<String>,
    verified: bool,
) -> anyhow::Result<String> {
    // Checked as the Admin API checks its body.
    let request = CreateUserRequest {
        email: email.trim().to_owned(),
        password: None,
        name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        email_verified: verified,
    };
    if let Err(errors) = request.validate() {
        anyhow::bail!("{}", describe(&errors));
    }
    config.validate()?;
    let config = Arc::new(config);
    let store = Store::connect(&config.database(), 2).await?;
    let stop = CancellationToken::new();
    // No listeners, no workers: the mail is queued in the outbox, and a running
    // instance sends it.
    let built = wiring::core(config, &store, Clock::default(), stop.clone()).await;
    let created = match built {
        Ok(Core { accounts, .. }) => {
            let new = NewUserByAdmin {
                email: request.email,
                password: None,
                name: request.name,
                email_verified: request.email_verified,
            };
            accounts
                .create_user_at_console(new)
                .await
                .map_err(|e| match e {
                    AccountError::EmailTaken => {
                        anyhow::anyhow!("--email: an account with this email exists already")
                    }
                    e => anyhow::anyhow!("{e}"),
                })
        }
        Err(e) => Err(e),
    };
    stop.cancel();
    store.close().await;
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&AdminUser::from(created?))?
    ))
}

/// `--email: must be a valid email address`, one line per field.
fn describe(errors: &validator::ValidationErrors) -> String {
    let mut lines = Vec::new();
    for (field, problems) in errors.field_errors() {
        for problem in problems {
            let message = problem.message.as_deref().unwrap_or("is invalid");
            lines.push(format!("--{field}: {message}"));
        }
    }
    lines.join("\n")
}
