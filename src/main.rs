use clap::{Parser, Subcommand};

use auth_service::config::Config;
use auth_service::{Application, Clock};

#[derive(Parser)]
#[command(
    name = "auth-service",
    version,
    about = "Authentication service (REST/JSON)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Print the OpenAPI document as YAML (what `make openapi` writes to openapi.yaml).
    Openapi,
    /// GET /healthz of the instance this environment configures; exit 0 when
    /// it answers 200 (a container HEALTHCHECK without curl).
    Healthcheck,
    /// Keys for the Admin API (stored in the database named by DATABASE_URL).
    AdminKeys {
        #[command(subcommand)]
        action: AdminKeysAction,
    },
}

#[derive(Subcommand)]
enum AdminKeysAction {
    /// Make a key and print it, alone, on stdout (only its hash is stored; it
    /// works at once on every running instance).
    Create {
        /// The key's name, recorded as the actor of every admin action done with it.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        return match auth_service::openapi_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Healthcheck) = cli.command {
        return match auth_service::healthcheck::check(&cli.config).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("unhealthy: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::AdminKeys {
        action: AdminKeysAction::Create { name },
    }) = &cli.command
    {
        // No logging set up: stdout carries the key and nothing else.
        return match auth_service::create_admin_key(&cli.config, name).await {
            Ok(key) => {
                println!("{key}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    auth_service::telemetry::init(cli.config.log_format == "json");
    match run(cli.config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let public_url = config.public_base();
    let app = Application::build(config, Clock::default()).await?;
    let addr = app.local_addr()?;
    tracing::info!(
        %addr,
        public_url = %public_url,
        "auth-service listening ({}); API docs at {public_url}/docs",
        app.describe()
    );
    app.serve(shutdown_signal()).await?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what Docker and Kubernetes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
