//! The gRPC door (`proto/auth/v1/auth.proto`, package `auth.v1`), served beside
//! HTTP on GRPC_PORT with the standard health service and server reflection.
//! Like the HTTP door it is thin: each call takes its message apart, calls one
//! method of the core ([`Accounts`]) and maps the outcome; the core's refusals
//! become statuses in one place (`status.rs`).

mod auth_service;
mod convert;
mod metrics_layer;
mod served_methods;
mod status;
mod token_service;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::tls::{Tls, TlsListener};
use auth_service::AuthApi;
use convert::Incoming;
use metrics_layer::CountCallsLayer;
use proto::auth_service_server::AuthServiceServer;
use proto::token_service_server::TokenServiceServer;
use served_methods::ServedMethods;
use token_service::TokenApi;

pub use status::ERROR_CODE;

/// The generated messages, servers and clients (clients for other Rust
/// services and the tests), and the schema for reflection.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("auth.v1");

    /// `auth.proto` and its imports, encoded, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/auth_descriptor.bin"));
}

/// Largest message a call may send: the HTTP API's body limit.
const MAX_MESSAGE: usize = 64 * 1024;

/// What every call can reach.
#[derive(Clone)]
pub struct Door {
    accounts: Arc<Accounts>,
    config: Arc<Config>,
    /// Cancelled when the server starts shutting down (ends open streams).
    shutdown: CancellationToken,
}

impl Door {
    fn incoming<T>(&self, request: Request<T>) -> Incoming<T> {
        Incoming::from_request(&self.config, request)
    }
}

/// The methods of every service `serve` adds: ours, health and reflection
/// (each counted under its own service name in /metrics).
fn served_methods() -> anyhow::Result<ServedMethods> {
    ServedMethods::from_descriptor_sets(&[
        proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ])
}

/// Serves the gRPC API on `listener` until `shutdown` is cancelled, then lets
/// the calls in flight finish (open WatchRevocations streams end at once).
/// With `tls`, connections are TLS (ALPN h2), with the HTTP port's certificate.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Tls>,
    accounts: Arc<Accounts>,
    config: Arc<Config>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let timeout = config.request_timeout;
    let counting = CountCallsLayer::new(accounts.metrics().clone(), served_methods()?);
    let door = Door {
        accounts,
        config,
        shutdown: shutdown.clone(),
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AuthServiceServer<AuthApi>>().await;
    health.set_serving::<TokenServiceServer<TokenApi>>().await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc.ErrorInfo, BadRequest, RetryInfo: so clients that
            // resolve status details by reflection (grpcurl) can show them.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let auth = AuthServiceServer::new(AuthApi(door.clone())).max_decoding_message_size(MAX_MESSAGE);
    let tokens = TokenServiceServer::new(TokenApi(door)).max_decoding_message_size(MAX_MESSAGE);
    let router = Server::builder()
        // The longest a call may take to answer (a stream's messages may come later).
        .timeout(timeout)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        // One span and one line per call, like HTTP's: the method, never the message.
        .layer(
            TraceLayer::new_for_grpc()
                .make_span_with(|request: &http::Request<tonic::body::Body>| {
                    tracing::info_span!("grpc", method = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // A failed call's cause is logged once where it happens (status.rs).
                .on_failure(()),
        )
        .layer(counting)
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(auth)
        .add_service(tokens);
    let stopped = shutdown.cancelled_owned();
    match tls {
        None => {
            router
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), stopped)
                .await?
        }
        Some(tls) => {
            let incoming = TlsListener::new(listener, tls.config).into_grpc_incoming();
            router
                .serve_with_incoming_shutdown(incoming, stopped)
                .await?
        }
    }
    Ok(())
}
