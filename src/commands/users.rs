//! `users create`: the core built as the service builds it (same database,
//! SECRETS_KEY, templates and mail settings), then the Admin API's create-user.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use validator::Validate as _;

use crate::accounts::{self, AccountError, Accounts, NewUserByAdmin};
use crate::clock::Clock;
use crate::config::Config;
use crate::http::admin_schemas::{AdminUser, CreateUserRequest};
use crate::limits::Limiter;
use crate::mail::OutboxSignal;
use crate::revocations::Revocations;
use crate::store::Store;
use crate::templates::Templates;

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
    let built = core(config, &store, stop.clone()).await;
    let created = match built {
        Ok(accounts) => {
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

/// The core, wired as `Application::build` wires it (no listeners, no workers:
/// the mail is queued in the outbox, and a running instance sends it).
async fn core(
    config: Arc<Config>,
    store: &Store,
    stop: CancellationToken,
) -> anyhow::Result<Accounts> {
    let clock = Clock::default();
    let (secrets, _) = crate::secrets_key(&config)?;
    let limits = Limiter::build(&config, clock.clone()).await?;
    let revocations = Revocations::start(store, config.redis_url.as_ref(), stop).await?;
    Accounts::build(accounts::Parts {
        config,
        store: store.clone(),
        templates: Arc::new(Templates::load()?),
        outbox: OutboxSignal::default(),
        secrets,
        limits,
        revocations: Arc::new(revocations),
        metrics: crate::telemetry::metrics::Metrics::new(),
        clock,
    })
    .await
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
