//! The core ([`Accounts`]) built from the configuration and an open store, the
//! one way both the server (`Application::build`) and the commands that run a
//! core method (`users create`) build it: same SECRETS_KEY, templates, limits
//! and revocation broadcast.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::accounts::{self, Accounts};
use crate::clock::Clock;
use crate::config::Config;
use crate::limits::Limiter;
use crate::mail::OutboxSignal;
use crate::revocations::Revocations;
use crate::secrets::SecretsKey;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;
use crate::templates::Templates;

/// The core, and what was built for it that the server's workers and pages
/// share with it.
pub(crate) struct Core {
    pub accounts: Accounts,
    pub templates: Arc<Templates>,
    /// Wakes the mail worker when the core queued mail.
    pub outbox: OutboxSignal,
    /// Opens the sealed tokens of queued links (the mail worker).
    pub secrets: Arc<SecretsKey>,
    /// Where SECRETS_KEY came from, for the start-up log.
    pub secrets_from: String,
}

/// Builds the core on `store` with `config`, reading the time from `clock`.
/// `stop` ends the revocation relay's background task.
pub(crate) async fn core(
    config: Arc<Config>,
    store: &Store,
    clock: Clock,
    stop: CancellationToken,
) -> anyhow::Result<Core> {
    // After the database opened: a start-up that fails there leaves no key file.
    let (secrets, secrets_from) = secrets_key(&config)?;
    let templates = Arc::new(Templates::load()?);
    let outbox = OutboxSignal::default();
    let limits = Limiter::build(&config, clock.clone()).await?;
    let revocations = Revocations::start(store, config.redis_url.as_ref(), stop).await?;
    let accounts = Accounts::build(accounts::Parts {
        config,
        store: store.clone(),
        templates: templates.clone(),
        outbox: outbox.clone(),
        secrets: secrets.clone(),
        limits,
        revocations: Arc::new(revocations),
        clock,
        metrics: Metrics::new(),
    })
    .await?;
    Ok(Core {
        accounts,
        templates,
        outbox,
        secrets,
        secrets_from,
    })
}

/// SECRETS_KEY from configuration, or from (or generated into) its file in
/// DATA_DIR; and where it came from.
pub(crate) fn secrets_key(config: &Config) -> anyhow::Result<(Arc<SecretsKey>, String)> {
    if let Some(key) = config.configured_secrets_key()? {
        return Ok((Arc::new(key), "SECRETS_KEY".to_owned()));
    }
    let path = config.secrets_key_file();
    let key = SecretsKey::load_or_generate(&path)?;
    Ok((Arc::new(key), format!("file {}", path.display())))
}
