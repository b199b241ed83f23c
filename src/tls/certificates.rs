//! The certificate served: read from TLS_CERT_FILE and TLS_KEY_FILE at start,
//! and again whenever their content changes, without dropping a connection.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;

use crate::config::TlsFiles;

/// The certificate and key in use, and a digest of the files they came from
/// (comparing content, not mtimes: a copy can keep the old mtime, and a
/// renewal within the same second would not show in it).
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    read: Mutex<[u8; 32]>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// What a reload found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    Unchanged,
    Replaced,
}

impl Certificates {
    pub fn load(files: TlsFiles, provider: Arc<CryptoProvider>) -> anyhow::Result<Certificates> {
        let (cert, key) = read_files(&files)?;
        let certified = certified_key(&cert, &key, &provider)?;
        Ok(Certificates {
            read: Mutex::new(digest(&cert, &key)),
            files,
            provider,
            current: RwLock::new(Arc::new(certified)),
        })
    }

    /// Reads the files again and, when they changed and make a usable pair,
    /// serves them from the next handshake on. Files that changed but do not
    /// make a pair (a renewal half written) are an error, and the certificate
    /// in use stays until they do.
    pub fn reload(&self) -> anyhow::Result<Reloaded> {
        let (cert, key) = read_files(&self.files)?;
        let read = digest(&cert, &key);
        let mut last = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        if *last == read {
            return Ok(Reloaded::Unchanged);
        }
        // Remembered before parsing, so a broken pair is reported once, not at every poll.
        *last = read;
        let certified = certified_key(&cert, &key, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
        Ok(Reloaded::Replaced)
    }

    pub fn describe(&self) -> String {
        format!(
            "{} and {}",
            self.files.cert.display(),
            self.files.key.display()
        )
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// Reloads the certificate every `every` and at once on SIGHUP, until `stop`.
pub async fn watch(certificates: Arc<Certificates>, every: Duration, stop: CancellationToken) {
    let mut hangup = hangups();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
            () = next_hangup(&mut hangup) => tracing::info!("SIGHUP: reading the TLS files again"),
        }
        match certificates.reload() {
            Ok(Reloaded::Replaced) => tracing::info!(
                files = %certificates.describe(),
                "TLS certificate replaced: new connections get the new one"
            ),
            Ok(Reloaded::Unchanged) => {}
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "TLS files changed but cannot be used: still serving the previous certificate"
            ),
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup())
        .inspect_err(|e| tracing::warn!("cannot listen for SIGHUP: {e}"))
        .ok()
}
#[cfg(not(unix))]
fn hangups() -> Hangups {}

#[cfg(unix)]
async fn next_hangup(hangups: &mut Hangups) {
    let received = match hangups {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !received {
        std::future::pending::<()>().await;
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) {
    std::future::pending().await
}

fn read_files(files: &TlsFiles) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let cert = std::fs::read(&files.cert)
        .with_context(|| format!("TLS_CERT_FILE: cannot read {}", files.cert.display()))?;
    let key = std::fs::read(&files.key)
        .with_context(|| format!("TLS_KEY_FILE: cannot read {}", files.key.display()))?;
    Ok((cert, key))
}

fn digest(cert: &[u8], key: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update((cert.len() as u64).to_be_bytes());
    hash.update(cert);
    hash.update(key);
    hash.finalize().into()
}

fn certified_key(
    cert: &[u8],
    key: &[u8],
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("TLS_CERT_FILE: not a PEM certificate chain: {e}"))?;
    if chain.is_empty() {
        anyhow::bail!("TLS_CERT_FILE: no certificate in the file");
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| anyhow::anyhow!("TLS_KEY_FILE: not a PEM private key: {e}"))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        anyhow::anyhow!("TLS_KEY_FILE: unusable with the certificate of TLS_CERT_FILE: {e}")
    })
}
