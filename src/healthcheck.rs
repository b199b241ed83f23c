//! `auth-service healthcheck`: GET /healthz of the instance configured by the
//! same environment (PORT, BIND_ADDR, TLS_CERT_FILE), for a container's
//! HEALTHCHECK with no curl in the image.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;

/// Longest wait for the answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Ok when /healthz answers 200.
pub async fn check(config: &Config) -> anyhow::Result<()> {
    let addr = config.listen_addr();
    // Listening on every address: ask on loopback.
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = match config.operations.tls_cert_file {
        Some(_) => "https",
        None => "http",
    };
    let url = format!("{scheme}://{}/healthz", SocketAddr::new(ip, addr.port()));
    // The certificate names the public host, not this address; that the
    // service answers is what is checked here, not who it is.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(TIMEOUT)
        .build()?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "GET {url} answered {status}");
    Ok(())
}
