//! Self-signed certificates made in the test (rcgen), written where the
//! service reads TLS_CERT_FILE and TLS_KEY_FILE, and HTTPS clients that trust
//! exactly one of them.

use std::path::{Path, PathBuf};

/// A certificate for `localhost` and 127.0.0.1, with its key, as PEM.
pub struct SelfSigned {
    pub cert_pem: String,
    pub key_pem: String,
}

impl SelfSigned {
    pub fn generate() -> SelfSigned {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let certified =
            rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        SelfSigned {
            cert_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
        }
    }

    /// A client that trusts this certificate only (and no system root);
    /// HTTP/2 or HTTP/1.1 by ALPN, no connection kept between tests' requests.
    pub fn client(&self) -> reqwest::Client {
        self.builder().build().expect("https client")
    }

    /// As [`SelfSigned::client`], speaking HTTP/1.1 only.
    pub fn http1_client(&self) -> reqwest::Client {
        self.builder().http1_only().build().expect("https client")
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        let root = reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).expect("PEM");
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .pool_max_idle_per_host(0)
            .use_rustls_tls()
    }
}

/// TLS_CERT_FILE and TLS_KEY_FILE in a folder of their own, removed on drop.
pub struct TlsFiles {
    dir: PathBuf,
    cert: String,
    key: String,
}

impl TlsFiles {
    pub fn with(certificate: &SelfSigned) -> TlsFiles {
        let dir = std::env::temp_dir().join(format!("auth-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let files = TlsFiles {
            cert: path_string(&dir.join("cert.pem")),
            key: path_string(&dir.join("key.pem")),
            dir,
        };
        files.install(certificate);
        files
    }

    pub fn cert(&self) -> &str {
        &self.cert
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Replaces both files as a renewal would: written aside, then renamed over.
    pub fn install(&self, certificate: &SelfSigned) {
        for (name, pem) in [
            ("cert.pem", &certificate.cert_pem),
            ("key.pem", &certificate.key_pem),
        ] {
            let aside = self.dir.join(format!("{name}.new"));
            std::fs::write(&aside, pem).expect("write PEM");
            std::fs::rename(&aside, self.dir.join(name)).expect("rename PEM");
        }
    }

    /// Writes `content` as the file `name` in this folder; its path.
    pub fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, content).expect("write file");
        path_string(&path)
    }
}

fn path_string(path: &Path) -> String {
    path.to_str().expect("UTF-8 temporary folder").to_owned()
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
