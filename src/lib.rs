//! auth-service: registration, email verification, login, refresh-token rotation
//! and logout over a REST/JSON API.
//!
//! Layers (see the README's "Architecture"): `http` and `grpc` (the doors) call `accounts`
//! (the core, every flow and rule), which writes through `store` (rows and SQL)
//! and queues mail for `mail` (composition, transports, the outbox worker) and
//! webhooks for `webhooks` (the worker that signs and delivers them).
//! The core asks `limits` (rate limits, in memory or Redis) at the start of each
//! flow. `config`, `clock`, `delivery`, `secrets`, `templates` and `telemetry` are
//! leaves any layer may use.
//! This file only wires them together (the core itself: `wiring.rs`).

pub mod accounts;
pub mod clock;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod grpc;
pub mod healthcheck;
pub mod http;
pub mod limits;
pub mod mail;
pub mod request_headers;
pub mod revocations;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod tls;
pub mod webhooks;
mod wiring;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;

pub use clock::Clock;
pub use http::{app, openapi};

use accounts::Accounts;
use config::Config;
use http::AppState;
use http::pages::Pages;
use mail::{Mailer, OutboxWorker};
use store::Store;
use tls::{Tls, TlsListener};
use webhooks::WebhookWorker;

/// A bound listener and everything to serve on it. Binding first lets tests use port 0.
pub struct Application {
    listener: tokio::net::TcpListener,
    /// The gRPC API's listener; `None` with GRPC_PORT=off.
    grpc_listener: Option<tokio::net::TcpListener>,
    state: AppState,
    worker: OutboxWorker,
    /// `None`: webhooks are off.
    webhooks: Option<WebhookWorker>,
    /// Where SECRETS_KEY came from, for the start-up log.
    secrets_from: String,
    /// Stops the background tasks (workers, the revocation relay).
    stop: tokio_util::sync::CancellationToken,
    /// `None`: plain HTTP (no TLS_CERT_FILE / TLS_KEY_FILE).
    tls: Option<Tls>,
}

impl Application {
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        config.validate()?;
        let tls = config.operations.tls_files()?.map(Tls::load).transpose()?;
        let config = Arc::new(config);
        let store = Store::connect(&config.database(), config.database_max_connections).await?;
        let stop = tokio_util::sync::CancellationToken::new();
        let wiring::Core {
            accounts,
            templates,
            outbox,
            secrets,
            secrets_from,
        } = wiring::core(config.clone(), &store, clock.clone(), stop.clone()).await?;
        let webhooks = webhook_worker(&config, &store, &accounts, &clock)?;
        let worker = OutboxWorker {
            store,
            mailer: Mailer::new(config.smtp_url.as_ref(), config.mail_from.clone())?,
            signal: outbox,
            secrets,
            clock,
            max_attempts: config.mail_max_attempts,
            retry_base: config.mail_retry_base,
            poll_interval: config.mail_poll_interval,
            metrics: accounts.metrics().clone(),
        };
        let addr = config.listen_addr();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (PORT / BIND_ADDR)"))?;
        let grpc_listener = match config.grpc_listen_addr() {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (GRPC_PORT / BIND_ADDR)"))?,
            ),
            None => None,
        };
        let state = AppState {
            accounts: Arc::new(accounts),
            config,
            pages: Pages::new(templates),
        };
        // Rotations made anywhere reach this instance within seconds.
        tokio::spawn(state.accounts.clone().keep_signing_keys_fresh(stop.clone()));
        Ok(Self {
            listener,
            grpc_listener,
            state,
            worker,
            webhooks,
            secrets_from,
            stop,
            tls,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the gRPC API listens; `None` with GRPC_PORT=off.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_listener.as_ref()?.local_addr().ok()
    }

    /// One line for the start-up log: where the data is, where mail goes, which
    /// key signs, where SECRETS_KEY comes from, where rate limits count, where
    /// webhooks go.
    pub fn describe(&self) -> String {
        let webhooks = match &self.webhooks {
            Some(worker) => worker.sender.describe(),
            None => "off".to_owned(),
        };
        format!(
            "database: {}; mail: {}; signing key: {}; secrets key: {}; rate limits: {}; webhooks: {webhooks}; gRPC: {}; TLS: {}",
            self.worker.store.describe(),
            self.worker.mailer.describe(),
            self.state.accounts.signing_kid(),
            self.secrets_from,
            self.state.accounts.limits_described(),
            self.grpc_addr()
                .map_or_else(|| "off".to_owned(), |addr| addr.to_string()),
            self.tls
                .as_ref()
                .map_or_else(|| "off".to_owned(), Tls::describe)
        )
    }

    /// Serves HTTP and gRPC (and runs the mail and webhook workers) until
    /// `shutdown` resolves. Then the ports close at once, in-flight requests
    /// finish, the mail and webhooks already due are delivered, and it returns,
    /// within SHUTDOWN_TIMEOUT of the signal whatever is left.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.worker.store.clone();
        let stop = self.stop;
        let config = self.state.config.clone();
        let poll = config.mail_poll_interval;
        let requests = self
            .state
            .accounts
            .clone()
            .run_link_requests(poll, stop.clone());
        let requests = tokio::spawn(requests);
        let worker = tokio::spawn(self.worker.run(stop.clone()));
        let webhooks = self.webhooks.map(|w| tokio::spawn(w.run(stop.clone())));
        let metrics = self.state.accounts.metrics().clone();
        let upkeep = tokio::spawn(metrics.run_upkeep(stop.clone()));
        let retention = self
            .state
            .accounts
            .clone()
            .keep_growth_bounded(stop.clone());
        let retention = tokio::spawn(retention);
        if let Some(tls) = &self.tls {
            let every = config.operations.tls_reload_interval;
            tokio::spawn(tls::watch(tls.certificates.clone(), every, stop.clone()));
        }
        // Both doors stop on the same signal (and either one failing stops the other).
        let closing = tokio_util::sync::CancellationToken::new();
        let signal = tokio::spawn({
            let closing = closing.clone();
            async move {
                shutdown.await;
                tracing::info!(
                    "shutting down: ports closed; finishing requests, then delivering due mail and webhooks"
                );
                closing.cancel();
            }
        });
        let grpc = self.grpc_listener.map(|listener| {
            let accounts = self.state.accounts.clone();
            grpc::serve(
                listener,
                self.tls.clone(),
                accounts,
                config.clone(),
                closing.clone(),
            )
        });
        let router = app(self.state);
        let http = async {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let stopped = closing.clone().cancelled_owned();
            let served = match self.tls {
                None => {
                    axum::serve(self.listener, service)
                        .with_graceful_shutdown(stopped)
                        .await
                }
                Some(tls) => {
                    // tap_io: axum gives a custom listener's address as ConnectInfo through it.
                    let listener = TlsListener::new(self.listener, tls.config).tap_io(|_| {});
                    axum::serve(listener, service)
                        .with_graceful_shutdown(stopped)
                        .await
                }
            };
            closing.cancel();
            served
        };
        let grpc = async {
            let Some(grpc) = grpc else { return Ok(()) };
            let served = grpc.await;
            closing.cancel();
            served.map_err(|e| std::io::Error::other(format!("gRPC server: {e:#}")))
        };
        let finished = async {
            let (result, grpc_result) = tokio::join!(http, grpc);
            signal.abort();
            // The workers deliver what is due, then stop.
            stop.cancel();
            if requests.await.is_err() {
                tracing::error!("link-request worker panicked");
            }
            if worker.await.is_err() {
                tracing::error!("mail worker panicked");
            }
            let _ = upkeep.await;
            if retention.await.is_err() {
                tracing::error!("retention task panicked");
            }
            if let Some(webhooks) = webhooks
                && webhooks.await.is_err()
            {
                tracing::error!("webhook worker panicked");
            }
            store.close().await;
            result.and(grpc_result)
        };
        let deadline = async {
            closing.cancelled().await;
            tokio::time::sleep(config.operations.shutdown_timeout).await;
        };
        tokio::select! {
            result = finished => result,
            () = deadline => {
                // Unsent messages stay queued: the next start (or another instance) sends them.
                tracing::warn!("SHUTDOWN_TIMEOUT passed: stopping with requests or deliveries unfinished");
                stop.cancel();
                Ok(())
            }
        }
    }
}

/// The webhook worker, when WEBHOOK_URL and WEBHOOK_SECRET are set; it retries
/// on the mail outbox's schedule.
fn webhook_worker(
    config: &Config,
    store: &Store,
    accounts: &Accounts,
    clock: &Clock,
) -> anyhow::Result<Option<WebhookWorker>> {
    let (Some(target), Some(signal)) = (config.webhook_target()?, accounts.webhook_signal()) else {
        return Ok(None);
    };
    Ok(Some(WebhookWorker {
        store: store.clone(),
        sender: webhooks::Sender::new(&target)?,
        signal,
        clock: clock.clone(),
        max_attempts: config.mail_max_attempts,
        retry_base: config.mail_retry_base,
        poll_interval: config.mail_poll_interval,
        metrics: accounts.metrics().clone(),
    }))
}

/// `auth-service admin-keys create --name NAME`: opens the database (applying
/// pending migrations), stores a new admin key's hash under `name`, and returns
/// the key.
pub async fn create_admin_key(config: &Config, name: &str) -> anyhow::Result<String> {
    let store = Store::connect(&config.database(), 1).await?;
    let key = Accounts::create_admin_key(&store, name, Clock::default().now()).await;
    store.close().await;
    key
}

/// The OpenAPI document as YAML, exactly as committed in `openapi.yaml`.
pub fn openapi_yaml() -> anyhow::Result<String> {
    openapi()
        .to_yaml()
        .context("serialising the OpenAPI document")
}
