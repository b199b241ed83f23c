//! One typed configuration, read from the environment (or the matching `--flag`).
//!
//! Every value has a default that works for a local run. A value that does not
//! parse stops start-up with a message naming the environment variable.

use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use url::Url;

mod derived;
mod operations;
mod parse;
mod retention;
mod session_cache;
mod values;
mod webauthn;
mod webhooks;

pub use values::{BindAddr, DatabaseUrl, GrpcPort, Mode, ProxyHeader, Quota, Secret};

pub use operations::{Operations, TlsFiles};
pub use parse::parse_duration;
use parse::*;
pub use retention::{Period, RetentionConfig};
pub use session_cache::SessionCacheConfig;
pub use webauthn::RelyingParty;
pub use webhooks::WebhookTarget;

/// Smallest argon2id parameters we accept (OWASP / RFC 9106 second recommendation).
pub const ARGON2_MIN_M_COST: u32 = 19_456;
pub const ARGON2_MIN_T_COST: u32 = 2;

#[derive(Clone, Args)]
pub struct Config {
    /// `postgres://…` for PostgreSQL, `sqlite://PATH` for an SQLite file. Unset: the
    /// embedded SQLite file `auth.db` in DATA_DIR (default: the working directory).
    #[arg(long, env = "DATABASE_URL", value_name = "DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<DatabaseUrl>,

    /// Folder of the default SQLite file when DATABASE_URL is unset.
    #[arg(long, env = "DATA_DIR", value_name = "DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        value_name = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub database_max_connections: u32,

    /// TCP port to listen on.
    #[arg(long, env = "PORT", value_name = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// TCP port of the gRPC API, on the address of BIND_ADDR; `off` disables it.
    #[arg(long, env = "GRPC_PORT", value_name = "GRPC_PORT", default_value = "50051", value_parser = parse_grpc_port)]
    pub grpc_port: GrpcPort,

    /// Address to listen on: an IP (then PORT applies) or IP:PORT.
    #[arg(long, env = "BIND_ADDR", value_name = "BIND_ADDR", default_value = "127.0.0.1", value_parser = parse_bind_addr)]
    pub bind_addr: BindAddr,

    /// Base URL of this service as users reach it; links in emails start with it.
    /// Default: http://localhost:PORT (https with TLS_CERT_FILE).
    #[arg(long, env = "PUBLIC_URL", value_name = "PUBLIC_URL", value_parser = parse_base_url)]
    pub public_url: Option<Url>,

    /// Relying party id of passkeys: the host of WEBAUTHN_ORIGIN or a parent domain
    /// of it. Default: the host of WEBAUTHN_ORIGIN.
    #[arg(long, env = "WEBAUTHN_RP_ID", value_name = "WEBAUTHN_RP_ID")]
    pub webauthn_rp_id: Option<String>,

    /// The origin (scheme://host[:port]) of the pages that use passkeys.
    /// Default: the origin of PUBLIC_URL.
    #[arg(long, env = "WEBAUTHN_ORIGIN", value_name = "WEBAUTHN_ORIGIN", value_parser = parse_base_url)]
    pub webauthn_origin: Option<Url>,

    /// `development` (default) or `production`. Production refuses to write mail to
    /// the log and never logs secrets.
    #[arg(long, env = "APP_ENV", value_name = "APP_ENV", default_value = "development", value_parser = parse_env_mode)]
    pub app_env: Mode,

    /// SMTP server in lettre's URL form; unset: emails are written to the log.
    #[arg(long, env = "SMTP_URL", value_name = "SMTP_URL", value_parser = parse_smtp_url)]
    pub smtp_url: Option<Url>,

    /// Sender of every email.
    #[arg(long, env = "MAIL_FROM", value_name = "MAIL_FROM", default_value = "Auth Service <no-reply@localhost>", value_parser = parse_mailbox)]
    pub mail_from: lettre::message::Mailbox,

    /// Whether new accounts must confirm their email before logging in.
    #[arg(long, env = "REQUIRE_EMAIL_VERIFICATION", value_name = "REQUIRE_EMAIL_VERIFICATION", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set)]
    pub require_email_verification: bool,

    /// Where GET /verify-email sends the browser after the button is pressed
    /// (`?status=ok` or `?status=error` is appended); unset: a result page is shown.
    #[arg(long, env = "EMAIL_VERIFIED_REDIRECT_URL", value_name = "EMAIL_VERIFIED_REDIRECT_URL", value_parser = parse_base_url)]
    pub email_verified_redirect_url: Option<Url>,

    /// Frontend page that takes `?token=` and asks for a new password; unset: the
    /// service's own page at PUBLIC_URL/password/reset.
    #[arg(long, env = "PASSWORD_RESET_URL", value_name = "PASSWORD_RESET_URL", value_parser = parse_base_url)]
    pub password_reset_url: Option<Url>,

    /// Name of the product in emails.
    #[arg(
        long,
        env = "PRODUCT_NAME",
        value_name = "PRODUCT_NAME",
        default_value = "Auth Service"
    )]
    pub product_name: String,

    /// Attempts to deliver one email before it is marked dead.
    #[arg(long, env = "MAIL_MAX_ATTEMPTS", value_name = "MAIL_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub mail_max_attempts: u32,

    /// Wait before the first retry of a failed email; doubles with every attempt (at most 1h).
    #[arg(long, env = "MAIL_RETRY_BASE", value_name = "MAIL_RETRY_BASE", default_value = "15s", value_parser = parse_duration)]
    pub mail_retry_base: Duration,

    /// How often the mail worker looks for due messages (it is also woken at once
    /// when this instance queues one).
    #[arg(long, env = "MAIL_POLL_INTERVAL", value_name = "MAIL_POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub mail_poll_interval: Duration,

    /// Where audit events (sign-ups, logins, revocations, …) are POSTed as
    /// webhooks signed with WEBHOOK_SECRET. Unset: webhooks are off. Retries
    /// follow MAIL_RETRY_BASE, MAIL_MAX_ATTEMPTS and MAIL_POLL_INTERVAL.
    #[arg(long, env = "WEBHOOK_URL", value_name = "WEBHOOK_URL", value_parser = parse_base_url, hide_env_values = true)]
    pub webhook_url: Option<Url>,

    /// The secret that signs webhooks: `whsec_` + base64 of 24 to 64 random bytes
    /// (the Standard Webhooks format; `echo whsec_$(openssl rand -base64 32)`).
    #[arg(
        long,
        env = "WEBHOOK_SECRET",
        value_name = "WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<Secret>,

    /// Comma-separated secrets that other services present (as a Bearer token) to
    /// call POST /introspect. Unset: introspection is refused.
    #[arg(
        long,
        env = "INTROSPECTION_KEYS",
        value_name = "INTROSPECTION_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub introspection_keys: Vec<Secret>,

    /// Comma-separated keys (32+ characters each) for the Admin API under /admin/,
    /// sent as a Bearer token; named `env:1`, `env:2`… in the audit trail. Keys
    /// made with `auth-service admin-keys create` work as well.
    #[arg(
        long,
        env = "ADMIN_KEYS",
        value_name = "ADMIN_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub admin_keys: Vec<Secret>,

    /// Lifetime of an access token.
    #[arg(long, env = "ACCESS_TOKEN_TTL", value_name = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_token_ttl: Duration,

    /// Idle timeout of a session: how long a refresh token stays usable unused.
    #[arg(long, env = "REFRESH_TOKEN_TTL", value_name = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,

    /// Absolute lifetime of a session, however often it is refreshed.
    #[arg(long, env = "SESSION_MAX_LIFETIME", value_name = "SESSION_MAX_LIFETIME", default_value = "90d", value_parser = parse_duration)]
    pub session_max_lifetime: Duration,

    /// How long an already-rotated refresh token still gets a fresh pair
    /// (several tabs refreshing at once) instead of revoking the session.
    #[arg(long, env = "REFRESH_GRACE_PERIOD", value_name = "REFRESH_GRACE_PERIOD", default_value = "10s", value_parser = parse_duration)]
    pub refresh_grace_period: Duration,

    /// `iss` claim of access tokens. Default: PUBLIC_URL.
    #[arg(long, env = "JWT_ISSUER", value_name = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// `aud` claim of access tokens.
    #[arg(
        long,
        env = "JWT_AUDIENCE",
        value_name = "JWT_AUDIENCE",
        default_value = "authenticated"
    )]
    pub jwt_audience: String,

    /// Ed25519 signing key as PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    /// Unset: a key is generated on first start and kept in the database.
    #[arg(
        long,
        env = "JWT_PRIVATE_KEY",
        value_name = "JWT_PRIVATE_KEY",
        hide_env_values = true,
        // A PEM value starts with "-----".
        allow_hyphen_values = true
    )]
    pub jwt_private_key: Option<Secret>,

    /// File holding the PEM key, instead of JWT_PRIVATE_KEY.
    #[arg(
        long,
        env = "JWT_PRIVATE_KEY_FILE",
        value_name = "JWT_PRIVATE_KEY_FILE"
    )]
    pub jwt_private_key_file: Option<std::path::PathBuf>,

    /// Rotate the signing key kept in the database once it is this old (e.g.
    /// `30d`): one instance rotates, every instance follows within seconds.
    /// Unset: only `auth-service keys rotate` rotates.
    #[arg(long, env = "SIGNING_KEY_ROTATION", value_name = "SIGNING_KEY_ROTATION", value_parser = parse_duration)]
    pub signing_key_rotation: Option<Duration>,

    /// Comma-separated origins allowed to call the API from a browser; `*` for any.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_name = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_allowed_origins: Vec<String>,

    /// Comma-separated CIDRs of reverse proxies whose forwarding header is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_name = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr)]
    pub trusted_proxies: Vec<IpNet>,

    /// The header your trusted proxies write the client address to:
    /// `x-forwarded-for` or `forwarded` (RFC 7239 `for=`). The other one is ignored,
    /// since a proxy passes on whatever the client put there.
    #[arg(long, env = "TRUSTED_PROXY_HEADER", value_name = "TRUSTED_PROXY_HEADER", default_value = "x-forwarded-for", value_parser = parse_proxy_header)]
    pub trusted_proxy_header: ProxyHeader,

    /// `off` disables every rate limit and the mail throttle (benchmarks, tests).
    #[arg(long, env = "RATE_LIMIT", value_name = "RATE_LIMIT", default_value = "on", value_parser = parse_bool, action = clap::ArgAction::Set)]
    pub rate_limit: bool,

    /// Redis shared by every instance for the rate-limit budgets; unset: each
    /// instance counts in its own memory.
    #[arg(long, env = "REDIS_URL", value_name = "REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<Url>,

    /// Start of every rate-limit key in Redis (several services can share one Redis).
    #[arg(long, env = "RATE_LIMIT_PREFIX", value_name = "RATE_LIMIT_PREFIX", default_value = "auth-service", value_parser = parse_key_prefix)]
    pub rate_limit_prefix: String,

    #[command(flatten)]
    pub session_cache: SessionCacheConfig,

    /// What is deleted when, and how often.
    #[command(flatten)]
    pub retention: RetentionConfig,

    /// POST /register per client IP (quotas read `N/min`, `N/hour`, `N/day` or `N/15m`).
    #[arg(long, env = "RATE_LIMIT_REGISTER", value_name = "RATE_LIMIT_REGISTER", default_value = "20/hour", value_parser = parse_quota)]
    pub rate_limit_register: Quota,

    /// POST /register per email address.
    #[arg(long, env = "RATE_LIMIT_REGISTER_ACCOUNT", value_name = "RATE_LIMIT_REGISTER_ACCOUNT", default_value = "5/hour", value_parser = parse_quota)]
    pub rate_limit_register_account: Quota,

    /// POST /login per client IP.
    #[arg(long, env = "RATE_LIMIT_LOGIN", value_name = "RATE_LIMIT_LOGIN", default_value = "10/min", value_parser = parse_quota)]
    pub rate_limit_login: Quota,

    /// POST /login attempts per account, from any IP.
    #[arg(long, env = "RATE_LIMIT_LOGIN_ACCOUNT", value_name = "RATE_LIMIT_LOGIN_ACCOUNT", default_value = "10/10m", value_parser = parse_quota)]
    pub rate_limit_login_account: Quota,

    /// Codes of the second factor per client IP: POST /login/mfa, and confirming,
    /// regenerating or turning off TOTP.
    #[arg(long, env = "RATE_LIMIT_LOGIN_MFA", value_name = "RATE_LIMIT_LOGIN_MFA", default_value = "10/min", value_parser = parse_quota)]
    pub rate_limit_login_mfa: Quota,

    /// Codes of the second factor per account, from any IP.
    #[arg(long, env = "RATE_LIMIT_LOGIN_MFA_ACCOUNT", value_name = "RATE_LIMIT_LOGIN_MFA_ACCOUNT", default_value = "10/10m", value_parser = parse_quota)]
    pub rate_limit_login_mfa_account: Quota,

    /// POST /refresh per client IP.
    #[arg(long, env = "RATE_LIMIT_REFRESH", value_name = "RATE_LIMIT_REFRESH", default_value = "60/min", value_parser = parse_quota)]
    pub rate_limit_refresh: Quota,

    /// POST /verify-email/resend per client IP.
    #[arg(long, env = "RATE_LIMIT_VERIFY_RESEND", value_name = "RATE_LIMIT_VERIFY_RESEND", default_value = "10/hour", value_parser = parse_quota)]
    pub rate_limit_verify_resend: Quota,

    /// POST /verify-email/resend per email address.
    #[arg(long, env = "RATE_LIMIT_VERIFY_RESEND_ACCOUNT", value_name = "RATE_LIMIT_VERIFY_RESEND_ACCOUNT", default_value = "5/hour", value_parser = parse_quota)]
    pub rate_limit_verify_resend_account: Quota,

    /// POST /password/forgot per client IP.
    #[arg(long, env = "RATE_LIMIT_PASSWORD_FORGOT", value_name = "RATE_LIMIT_PASSWORD_FORGOT", default_value = "10/hour", value_parser = parse_quota)]
    pub rate_limit_password_forgot: Quota,

    /// POST /password/forgot per email address.
    #[arg(long, env = "RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT", value_name = "RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT", default_value = "5/hour", value_parser = parse_quota)]
    pub rate_limit_password_forgot_account: Quota,

    /// POST /password/reset per client IP.
    #[arg(long, env = "RATE_LIMIT_PASSWORD_RESET", value_name = "RATE_LIMIT_PASSWORD_RESET", default_value = "10/min", value_parser = parse_quota)]
    pub rate_limit_password_reset: Quota,

    /// POST /password/change per client IP.
    #[arg(long, env = "RATE_LIMIT_PASSWORD_CHANGE", value_name = "RATE_LIMIT_PASSWORD_CHANGE", default_value = "10/min", value_parser = parse_quota)]
    pub rate_limit_password_change: Quota,

    /// POST /password/change attempts per account.
    #[arg(long, env = "RATE_LIMIT_PASSWORD_CHANGE_ACCOUNT", value_name = "RATE_LIMIT_PASSWORD_CHANGE_ACCOUNT", default_value = "5/10m", value_parser = parse_quota)]
    pub rate_limit_password_change_account: Quota,

    /// Link mail (verification, reset, "account exists") queued per recipient; over
    /// it, mail is silently not sent (the answer stays the same 202).
    #[arg(long, env = "RATE_LIMIT_MAIL_RECIPIENT", value_name = "RATE_LIMIT_MAIL_RECIPIENT", default_value = "5/hour", value_parser = parse_quota)]
    pub rate_limit_mail_recipient: Quota,

    /// Link mail queued in total, by every instance together when REDIS_URL is set.
    #[arg(long, env = "RATE_LIMIT_MAIL_TOTAL", value_name = "RATE_LIMIT_MAIL_TOTAL", default_value = "1000/hour", value_parser = parse_quota)]
    pub rate_limit_mail_total: Quota,

    /// argon2id memory cost in KiB (at least 19456).
    #[arg(long, env = "ARGON2_MEMORY_KIB", value_name = "ARGON2_MEMORY_KIB", default_value_t = ARGON2_MIN_M_COST, value_parser = clap::value_parser!(u32).range(ARGON2_MIN_M_COST as i64..))]
    pub argon2_memory_kib: u32,

    /// argon2id iterations (at least 2).
    #[arg(long, env = "ARGON2_ITERATIONS", value_name = "ARGON2_ITERATIONS", default_value_t = ARGON2_MIN_T_COST, value_parser = clap::value_parser!(u32).range(ARGON2_MIN_T_COST as i64..))]
    pub argon2_iterations: u32,

    /// argon2id parallelism (at least 1).
    #[arg(long, env = "ARGON2_PARALLELISM", value_name = "ARGON2_PARALLELISM", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub argon2_parallelism: u32,

    /// How many password hashes may run at once (each holds ARGON2_MEMORY_KIB).
    /// Default: the number of CPUs.
    #[arg(long, env = "MAX_CONCURRENT_HASHES", value_name = "MAX_CONCURRENT_HASHES", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_hashes: Option<u32>,

    /// How many requests may wait for a hashing slot; past that they are answered
    /// 503 `service_unavailable` with `Retry-After` at once. Default: 16 per slot.
    #[arg(long, env = "MAX_QUEUED_HASHES", value_name = "MAX_QUEUED_HASHES")]
    pub max_queued_hashes: Option<u32>,

    /// Longest time a request may take before it is answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT", value_name = "REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// 32 random bytes in base64 (`openssl rand -base64 32`) that seal the secrets
    /// the service keeps readable (the tokens of queued links) and key derived
    /// hashes. Unset: generated on first start into DATA_DIR/secrets.key (mode
    /// 0600). Instances sharing a database must share it through this setting.
    #[arg(
        long,
        env = "SECRETS_KEY",
        value_name = "SECRETS_KEY",
        hide_env_values = true
    )]
    pub secrets_key: Option<Secret>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", value_name = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// TLS termination and the shutdown deadline.
    #[command(flatten)]
    pub operations: Operations,
}
