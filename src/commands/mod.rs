//! The command line's subcommands besides serving (which `main.rs` wires):
//! each runs one core method, prints its result on stdout (and nothing else
//! there), and on failure a clear message on stderr with exit code 1. No
//! logging is set up, so stdout stays machine-readable.

mod users;

use std::process::ExitCode;

use clap::Subcommand;

use crate::accounts::Accounts;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

#[derive(Subcommand)]
pub enum Command {
    /// Serve HTTP and gRPC (the default).
    Serve,
    /// Apply pending database migrations and exit (0 also when there were none).
    Migrate,
    /// Print the OpenAPI document as YAML (what `make openapi` writes to openapi.yaml).
    Openapi,
    /// Access-token signing keys (kept in the database named by DATABASE_URL).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Accounts (in the database named by DATABASE_URL).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// GET /healthz of the instance this environment configures; exit 0 when
    /// it answers 200 (a container HEALTHCHECK without curl).
    Healthcheck,
    /// Keys for the Admin API (stored in the database named by DATABASE_URL).
    AdminKeys {
        #[command(subcommand)]
        action: AdminKeysAction,
    },
    /// Deleting what nobody needs any more (in the database named by DATABASE_URL).
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
}

#[derive(Subcommand)]
pub enum RetentionAction {
    /// Delete, once, what running instances delete every RETENTION_INTERVAL
    /// (safe while they run). Prints the rows deleted by kind as JSON.
    Run,
}

#[derive(Subcommand)]
pub enum KeysAction {
    /// Make a new signing key: every running instance signs with it within a
    /// few seconds; the old key stays in the JWKS until the tokens it signed
    /// have expired (ACCESS_TOKEN_TTL). Prints what was done as JSON.
    Rotate,
}

#[derive(Subcommand)]
pub enum UsersAction {
    /// Make an account without a password and mail the user a link to set one
    /// (as the Admin API does); prints the user as JSON.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// The email counts as verified already.
        #[arg(long)]
        verified: bool,
    },
}

#[derive(Subcommand)]
pub enum AdminKeysAction {
    /// Make a key and print it, alone, on stdout (only its hash is stored; it
    /// works at once on every running instance).
    Create {
        /// The key's name, recorded as the actor of every admin action done with it.
        #[arg(long)]
        name: String,
    },
}

/// Runs a subcommand other than `serve` to the end.
pub async fn run(command: Command, config: Config) -> ExitCode {
    if let Command::Healthcheck = command {
        return match crate::healthcheck::check(&config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("unhealthy: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let printed = match command {
        Command::Serve | Command::Healthcheck => Err(anyhow::anyhow!("not run here")),
        Command::Migrate => migrate(&config).await,
        Command::Openapi => crate::openapi_yaml(),
        Command::Keys {
            action: KeysAction::Rotate,
        } => rotate_keys(&config).await,
        Command::Users {
            action:
                UsersAction::Create {
                    email,
                    name,
                    verified,
                },
        } => users::create(config, email, name, verified).await,
        Command::AdminKeys {
            action: AdminKeysAction::Create { name },
        } => crate::create_admin_key(&config, &name)
            .await
            .map(|key| format!("{key}\n")),
        Command::Retention {
            action: RetentionAction::Run,
        } => run_retention(&config).await,
    };
    match printed {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opening the store applies whatever migrations are pending.
async fn migrate(config: &Config) -> anyhow::Result<String> {
    let store = Store::connect(&config.database(), 1).await?;
    let done = format!("database up to date: {}\n", store.describe());
    store.close().await;
    Ok(done)
}

async fn run_retention(config: &Config) -> anyhow::Result<String> {
    let store = Store::connect(&config.database(), 1).await?;
    let deleted = Accounts::delete_old_rows(config, &store, Clock::default().now()).await;
    store.close().await;
    Ok(format!("{}\n", serde_json::to_string_pretty(&deleted?)?))
}

async fn rotate_keys(config: &Config) -> anyhow::Result<String> {
    let store = Store::connect(&config.database(), 1).await?;
    let rotated = match crate::wiring::secrets_key(config) {
        Ok((secrets, _)) => {
            Accounts::rotate_signing_key(config, &store, &secrets, Clock::default().now()).await
        }
        Err(e) => Err(e),
    };
    store.close().await;
    Ok(format!("{}\n", serde_json::to_string_pretty(&rotated?)?))
}
