//! auth-service: registration, email verification, login, refresh-token rotation
//! and logout over a REST/JSON API. `main.rs` only wires these pieces together.

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod mail;
pub mod state;
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;

pub use http::{app, openapi};
pub use state::{AppState, Clock};

/// A bound listener and the app to serve on it. Binding first lets tests use port 0.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: config::Config, clock: Clock) -> anyhow::Result<Self> {
        let addr = config.listen_addr();
        let state = AppState::build(config, clock).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (PORT / BIND_ADDR)"))?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (and runs the mail worker) until `shutdown` resolves, then finishes
    /// in-flight requests and the message being sent.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let config = &self.state.config;
        let worker = mail::outbox::OutboxWorker {
            store: store.clone(),
            mailer: self.state.mailer.clone(),
            clock: self.state.clock.clone(),
            max_attempts: config.mail_max_attempts,
            retry_base: config.mail_retry_base,
            poll_interval: config.mail_poll_interval,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let worker = tokio::spawn(worker.run(stop.clone()));
        let router = app(self.state);
        let result = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        stop.cancel();
        if worker.await.is_err() {
            tracing::error!("mail worker panicked");
        }
        store.close().await;
        result
    }
}

/// The OpenAPI document as YAML, exactly as committed in `openapi.yaml`.
pub fn openapi_yaml() -> anyhow::Result<String> {
    openapi()
        .to_yaml()
        .context("serialising the OpenAPI document")
}
