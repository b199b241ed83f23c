//! Optional TLS termination in the service itself (TLS_CERT_FILE, TLS_KEY_FILE),
//! for deployments without a proxy in front: rustls with the ring provider,
//! HTTP/2 or HTTP/1.1 chosen by ALPN, the certificate read again when its files
//! change (polled every TLS_RELOAD_INTERVAL) and at once on SIGHUP.
//!
//! A leaf like `config`: it knows sockets and certificates, no flow or door.

mod certificates;
mod listener;

use std::sync::Arc;

use rustls::ServerConfig;

pub use certificates::{Certificates, watch};
pub use listener::{GrpcTlsStream, TlsListener};

use crate::config::TlsFiles;

/// What ALPN offers: HTTP/2 first (gRPC needs it), then HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The server side of TLS: one configuration for every listener, its
/// certificate swapped in place on reload.
#[derive(Clone)]
pub struct Tls {
    pub certificates: Arc<Certificates>,
    pub config: Arc<ServerConfig>,
}

impl Tls {
    /// Reads the files; an error names the variable of the file at fault.
    pub fn load(files: TlsFiles) -> anyhow::Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certificates = Arc::new(Certificates::load(files, provider.clone())?);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(certificates.clone());
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Tls {
            certificates,
            config: Arc::new(config),
        })
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        self.certificates.describe()
    }
}
