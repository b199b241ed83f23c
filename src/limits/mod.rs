//! Rate limits, decided in one place for every door: the core asks
//! [`Limiter::check`] at the start of each flow, and the door maps a
//! [`Refusal`] (HTTP: 429 with `Retry-After` and the RateLimit headers).
//!
//! Every budget is a GCRA ("generic cell rate algorithm", a leaky bucket without a
//! background refill): a quota of `N/window` allows a burst of N, then one request
//! every `window / N`. Budgets live in this process ([`memory`], governor) or,
//! with REDIS_URL, in Redis ([`shared`], one atomic Lua script), where every
//! instance spends the same budget. If Redis stops answering, each instance
//! limits on its own memory (which has counted this instance's requests all
//! along) until Redis answers again.
//!
//! This layer knows nothing of accounts, HTTP, the store or mail: it is told a
//! [`Policy`] and a [`Subject`] and answers yes or when.

mod memory;
mod shared;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::{Config, Quota};
use memory::Memory;
use shared::Shared;

/// What is limited. Each policy has its own quota (one variable each) and its own
/// budgets, one per [`Subject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Register,
    RegisterAccount,
    Login,
    LoginAccount,
    /// Codes of the second factor (the MFA login step, enrolling, managing).
    LoginMfa,
    LoginMfaAccount,
    Refresh,
    VerifyResend,
    VerifyResendAccount,
    PasswordForgot,
    PasswordForgotAccount,
    PasswordReset,
    PasswordChange,
    PasswordChangeAccount,
    /// Link mail queued per recipient.
    MailRecipient,
    /// Link mail queued in total.
    MailTotal,
}

impl Policy {
    pub const ALL: [Policy; 16] = [
        Policy::Register,
        Policy::RegisterAccount,
        Policy::Login,
        Policy::LoginAccount,
        Policy::LoginMfa,
        Policy::LoginMfaAccount,
        Policy::Refresh,
        Policy::VerifyResend,
        Policy::VerifyResendAccount,
        Policy::PasswordForgot,
        Policy::PasswordForgotAccount,
        Policy::PasswordReset,
        Policy::PasswordChange,
        Policy::PasswordChangeAccount,
        Policy::MailRecipient,
        Policy::MailTotal,
    ];

    /// The policy's name in the RateLimit headers and in Redis keys.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Register => "register",
            Policy::RegisterAccount => "register-account",
            Policy::Login => "login",
            Policy::LoginAccount => "login-account",
            Policy::LoginMfa => "login-mfa",
            Policy::LoginMfaAccount => "login-mfa-account",
            Policy::Refresh => "refresh",
            Policy::VerifyResend => "verify-resend",
            Policy::VerifyResendAccount => "verify-resend-account",
            Policy::PasswordForgot => "password-forgot",
            Policy::PasswordForgotAccount => "password-forgot-account",
            Policy::PasswordReset => "password-reset",
            Policy::PasswordChange => "password-change",
            Policy::PasswordChangeAccount => "password-change-account",
            Policy::MailRecipient => "mail-recipient",
            Policy::MailTotal => "mail-total",
        }
    }

    /// Its quota, as configured.
    pub fn quota(self, config: &Config) -> Quota {
        match self {
            Policy::Register => config.rate_limit_register,
            Policy::RegisterAccount => config.rate_limit_register_account,
            Policy::Login => config.rate_limit_login,
            Policy::LoginAccount => config.rate_limit_login_account,
            Policy::LoginMfa => config.rate_limit_login_mfa,
            Policy::LoginMfaAccount => config.rate_limit_login_mfa_account,
            Policy::Refresh => config.rate_limit_refresh,
            Policy::VerifyResend => config.rate_limit_verify_resend,
            Policy::VerifyResendAccount => config.rate_limit_verify_resend_account,
            Policy::PasswordForgot => config.rate_limit_password_forgot,
            Policy::PasswordForgotAccount => config.rate_limit_password_forgot_account,
            Policy::PasswordReset => config.rate_limit_password_reset,
            Policy::PasswordChange => config.rate_limit_password_change,
            Policy::PasswordChangeAccount => config.rate_limit_password_change_account,
            Policy::MailRecipient => config.rate_limit_mail_recipient,
            Policy::MailTotal => config.rate_limit_mail_total,
        }
    }
}

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// A client address. IPv6 clients are counted per /64 (one customer's
    /// network: a single host can use any address in it); an IPv4-mapped IPv6
    /// address counts as its IPv4 address.
    pub fn ip(ip: IpAddr) -> Subject {
        match ip {
            IpAddr::V4(v4) => Subject(format!("ip:{v4}")),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Subject(format!("ip:{v4}")),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    let network = std::net::Ipv6Addr::from(network);
                    Subject(format!("ip:{network}/64"))
                }
            },
        }
    }

    /// An account, named by its email address: trimmed and lowercased, so that
    /// spellings of one address share a budget, and hashed, so that addresses
    /// are not kept in memory or in Redis.
    pub fn account(email: &str) -> Subject {
        let normalised = email.trim().to_lowercase();
        let digest = Sha256::digest(normalised.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Subject(format!("account:{hex}"))
    }

    /// An account as seen from one client address (see [`Subject::ip`]): the
    /// account's own budget for a client it knows.
    pub fn account_from(email: &str, ip: IpAddr) -> Subject {
        let Subject(account) = Subject::account(email);
        let Subject(client) = Subject::ip(ip);
        Subject(format!("{account}:{client}"))
    }

    /// One budget for everything (the total mail throttle).
    pub fn everyone() -> Subject {
        Subject("all".to_owned())
    }

    fn key(&self) -> &str {
        &self.0
    }
}

/// A refused request: which policy refused it and when to come back; what a door
/// needs for its answer (HTTP: 429, `Retry-After`, `RateLimit-Policy`, `RateLimit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub policy: &'static str,
    pub quota: Quota,
    /// How long until one more request of this policy and subject is allowed.
    pub retry_after: Duration,
}

impl Refusal {
    /// `retry_after` in whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }

    /// The quota's window in whole seconds, rounded up.
    pub fn window_secs(&self) -> u64 {
        let w = self.quota.window;
        w.as_secs() + u64::from(w.subsec_nanos() > 0)
    }
}

/// Where the budgets are kept right now (what /readyz reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// RATE_LIMIT=off: nothing is limited.
    Off,
    /// No REDIS_URL: each instance counts in its own memory.
    Memory,
    /// Shared by every instance in Redis.
    Redis,
    /// REDIS_URL is set but Redis does not answer: each instance counts in its
    /// own memory until it does.
    RedisUnreachable,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Off => "disabled",
            Backend::Memory => "memory",
            Backend::Redis => "redis",
            Backend::RedisUnreachable => "redis-unreachable",
        }
    }
}

/// The rate limiter every flow asks. Cheap to clone.
#[derive(Clone)]
pub struct Limiter(Option<Arc<Inner>>);

struct Inner {
    quotas: Vec<(Policy, Quota)>,
    memory: Memory,
    shared: Option<Shared>,
}

impl Limiter {
    /// The limiter that `config` describes: off, in memory, or in Redis (with
    /// memory as the fallback). An unreachable Redis does not stop start-up: it
    /// is reported and retried.
    pub async fn build(config: &Config, clock: Clock) -> anyhow::Result<Limiter> {
        if !config.rate_limit {
            return Ok(Limiter(None));
        }
        let quotas: Vec<(Policy, Quota)> =
            Policy::ALL.iter().map(|&p| (p, p.quota(config))).collect();
        let memory = Memory::new(&quotas, clock.clone());
        let shared = match &config.redis_url {
            Some(url) => Some(Shared::connect(url, &config.rate_limit_prefix, clock).await?),
            None => None,
        };
        Ok(Limiter(Some(Arc::new(Inner {
            quotas,
            memory,
            shared,
        }))))
    }

    /// A limiter that allows everything.
    pub fn off() -> Limiter {
        Limiter(None)
    }

    /// Spends one request of `subject`'s budget under `policy`, or says when to
    /// come back. Memory always counts (so that it is warm if Redis goes away);
    /// with Redis answering, Redis decides.
    pub async fn check(&self, policy: Policy, subject: &Subject) -> Result<(), Refusal> {
        let Some(inner) = &self.0 else {
            return Ok(());
        };
        let quota = inner.quota(policy);
        let local = inner.memory.check(policy, subject.key());
        let decided = match &inner.shared {
            Some(shared) => shared
                .check(policy.name(), subject.key(), quota)
                .await
                .unwrap_or(local),
            None => local,
        };
        decided.map_err(|retry_after| Refusal {
            policy: policy.name(),
            quota,
            retry_after,
        })
    }

    /// Where the budgets are kept now; with Redis configured, asks it (and so
    /// notices an outage, or its end, even without traffic).
    pub async fn backend(&self) -> Backend {
        match self.0.as_deref() {
            None => Backend::Off,
            Some(Inner { shared: None, .. }) => Backend::Memory,
            Some(Inner {
                shared: Some(shared),
                ..
            }) => {
                if shared.probe().await {
                    Backend::Redis
                } else {
                    Backend::RedisUnreachable
                }
            }
        }
    }

    /// One phrase for the start-up log.
    pub fn describe(&self) -> String {
        match self.0.as_deref() {
            None => "off (RATE_LIMIT=off)".to_owned(),
            Some(Inner { shared: None, .. }) => "in memory (per instance)".to_owned(),
            Some(Inner {
                shared: Some(shared),
                ..
            }) => format!("in Redis {}", shared.describe()),
        }
    }
}

impl Inner {
    fn quota(&self, policy: Policy) -> Quota {
        self.quotas
            .iter()
            .find(|(p, _)| *p == policy)
            .map(|(_, q)| *q)
            .unwrap_or_else(|| unreachable!("every policy has a quota"))
    }
}

/// The interval between two requests of a quota: `window / count`.
fn interval(quota: Quota) -> Duration {
    quota.window / quota.count.max(1)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Subject::ip(a), Subject::ip(b));
        assert_ne!(Subject::ip(a), Subject::ip(c));
        assert_eq!(Subject::ip(a).key(), "ip:2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(Subject::ip(mapped).key(), "ip:192.0.2.7");
    }

    #[test]
    fn accounts_are_normalised_and_never_kept_in_clear() {
        let a = Subject::account("  Ada@Example.COM ");
        assert_eq!(a, Subject::account("ada@example.com"));
        assert!(!a.key().contains("ada"), "{}", a.key());
        assert_ne!(a, Subject::account("bob@example.com"));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let refusal = |ms| Refusal {
            policy: "login",
            quota: Quota {
                count: 10,
                window: Duration::from_secs(60),
            },
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(refusal(0).retry_after_secs(), 1);
        assert_eq!(refusal(5_001).retry_after_secs(), 6);
        assert_eq!(refusal(6_000).retry_after_secs(), 6);
        assert_eq!(refusal(1).window_secs(), 60);
    }
}
