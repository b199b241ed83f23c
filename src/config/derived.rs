//! What the service derives from the configured values, and the checks that need
//! several values at once.

use std::net::SocketAddr;

use url::Url;

use super::{BindAddr, Config, DatabaseUrl, Mode};
use crate::secrets::SecretsKey;

impl Config {
    pub fn listen_addr(&self) -> SocketAddr {
        match self.bind_addr {
            BindAddr::Ip(ip) => SocketAddr::new(ip, self.port),
            BindAddr::Socket(addr) => addr,
        }
    }

    /// Where the gRPC API listens: BIND_ADDR's address with GRPC_PORT; `None`
    /// when GRPC_PORT is `off`.
    pub fn grpc_listen_addr(&self) -> Option<SocketAddr> {
        let port = self.grpc_port.0?;
        Some(SocketAddr::new(self.listen_addr().ip(), port))
    }

    /// The database to use: DATABASE_URL, or `auth.db` under DATA_DIR (default `.`).
    pub fn database(&self) -> DatabaseUrl {
        self.database_url.clone().unwrap_or_else(|| {
            let dir = self.data_dir.clone().unwrap_or_else(|| ".".into());
            DatabaseUrl::Sqlite(dir.join("auth.db"))
        })
    }

    pub fn public_url(&self) -> Url {
        self.public_url.clone().unwrap_or_else(|| {
            // A URL made of a literal scheme, host and numeric port always parses.
            let scheme = match self.operations.tls_cert_file {
                Some(_) => "https",
                None => "http",
            };
            let port = self.listen_addr().port();
            Url::parse(&format!("{scheme}://localhost:{port}"))
                .unwrap_or_else(|_| unreachable!("literal URL parses"))
        })
    }

    /// PUBLIC_URL without a trailing slash, ready to have a path appended.
    pub fn public_base(&self) -> String {
        self.public_url().as_str().trim_end_matches('/').to_owned()
    }

    /// The page behind verification links (the token is appended as `?token=`).
    pub fn verification_url(&self) -> Url {
        Url::parse(&format!("{}/verify-email", self.public_base()))
            .unwrap_or_else(|_| self.public_url())
    }

    /// Base of password-reset links (the token is appended as `?token=`).
    pub fn password_reset_url(&self) -> Url {
        self.password_reset_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("{}/password/reset", self.public_base()))
                .unwrap_or_else(|_| self.public_url())
        })
    }

    pub fn jwt_issuer(&self) -> String {
        self.jwt_issuer
            .clone()
            .unwrap_or_else(|| self.public_base())
    }

    pub fn max_concurrent_hashes(&self) -> usize {
        self.max_concurrent_hashes
            .map(|n| n as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// SECRETS_KEY when configured. A value that is not 32 bytes of base64 is an
    /// error naming the variable but never repeating the value.
    pub fn configured_secrets_key(&self) -> anyhow::Result<Option<SecretsKey>> {
        self.secrets_key
            .as_ref()
            .map(|key| SecretsKey::from_base64(&key.0))
            .transpose()
            .map_err(|e| anyhow::anyhow!("SECRETS_KEY: {e}"))
    }

    /// Where the key is kept when SECRETS_KEY is unset: `secrets.key` in DATA_DIR.
    pub fn secrets_key_file(&self) -> std::path::PathBuf {
        let dir = self.data_dir.clone().unwrap_or_else(|| ".".into());
        dir.join("secrets.key")
    }

    pub fn max_queued_hashes(&self) -> usize {
        self.max_queued_hashes
            .map(|n| n as usize)
            .unwrap_or_else(|| 16 * self.max_concurrent_hashes())
    }

    pub fn is_production(&self) -> bool {
        self.app_env == Mode::Production
    }

    /// The PEM signing key from JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, if any.
    pub fn signing_key_pem(&self) -> anyhow::Result<Option<String>> {
        use anyhow::Context as _;
        match (&self.jwt_private_key, &self.jwt_private_key_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both")
            }
            (Some(key), None) => Ok(Some(key.0.clone())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("JWT_PRIVATE_KEY_FILE: cannot read {}", path.display()))
                .map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Checks that need several values at once.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.is_production() && self.smtp_url.is_none() {
            anyhow::bail!(
                "SMTP_URL: required when APP_ENV=production (without it, emails would be written to the log)"
            );
        }
        if self.session_max_lifetime < self.refresh_token_ttl {
            anyhow::bail!("SESSION_MAX_LIFETIME: must not be shorter than REFRESH_TOKEN_TTL");
        }
        if self.mail_poll_interval.is_zero() {
            anyhow::bail!("MAIL_POLL_INTERVAL: must be longer than zero");
        }
        if self
            .introspection_keys
            .iter()
            .any(|k| k.0.trim().len() < 16)
        {
            anyhow::bail!("INTROSPECTION_KEYS: every key must be at least 16 characters");
        }
        if self
            .admin_keys
            .iter()
            .any(|k| k.0.trim().chars().count() < 32)
        {
            anyhow::bail!("ADMIN_KEYS: every key must be at least 32 characters");
        }
        self.configured_secrets_key()?;
        self.relying_party()?;
        self.webhook_target()?;
        self.operations.validate()?;
        if self.access_token_ttl.is_zero() {
            anyhow::bail!("ACCESS_TOKEN_TTL: must be longer than zero");
        }
        Ok(())
    }
}
