//! Settings for running the service without a proxy in front: TLS termination
//! and the shutdown deadline.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse::parse_duration;

#[derive(Clone, Debug, Args)]
pub struct Operations {
    /// PEM certificate chain (leaf first) to serve HTTPS on PORT (and TLS on
    /// GRPC_PORT), with HTTP/2 by ALPN. Set with TLS_KEY_FILE, or neither.
    /// A replaced file is served within TLS_RELOAD_INTERVAL, and at once on SIGHUP.
    #[arg(long, env = "TLS_CERT_FILE", value_name = "TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of TLS_CERT_FILE.
    #[arg(long, env = "TLS_KEY_FILE", value_name = "TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,

    /// How often the TLS files are read again to pick up a renewed certificate.
    #[arg(long, env = "TLS_RELOAD_INTERVAL", value_name = "TLS_RELOAD_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub tls_reload_interval: Duration,

    /// On SIGTERM: longest time to finish in-flight requests and deliver the
    /// mail and webhooks already due, before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", value_name = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Where the certificate and its key are, when TLS is on.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Operations {
    /// The TLS files; `None` when TLS is off; an error when only one is set.
    pub fn tls_files(&self) -> anyhow::Result<Option<TlsFiles>> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!("TLS_KEY_FILE: required with TLS_CERT_FILE"),
            (None, Some(_)) => anyhow::bail!("TLS_CERT_FILE: required with TLS_KEY_FILE"),
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.tls_files()?;
        if self.tls_reload_interval.is_zero() {
            anyhow::bail!("TLS_RELOAD_INTERVAL: must be longer than zero");
        }
        Ok(())
    }
}
