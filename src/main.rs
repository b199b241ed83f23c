use clap::Parser;

use auth_service::commands::{self, Command};
use auth_service::config::Config;
use auth_service::{Application, Clock};

#[derive(Parser)]
#[command(
    name = "auth-service",
    version,
    about = "Authentication service (REST/JSON and gRPC)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => {}
        // Everything but serving lives in `commands`.
        Some(command) => return commands::run(command, cli.config).await,
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
