//! The cache of active sessions in front of the session check
//! (SESSION_CACHE_TTL, SESSION_CACHE_SIZE).

use std::time::Duration;

use clap::Args;

use super::parse::parse_duration;

/// How the session check remembers what it read.
#[derive(Args, Clone, Debug)]
pub struct SessionCacheConfig {
    /// How long an active session's check is remembered at most (the revocation
    /// broadcast drops it sooner on any change); `0` or `off` disables the cache.
    #[arg(long, env = "SESSION_CACHE_TTL", value_name = "SESSION_CACHE_TTL", default_value = "30s", value_parser = parse_ttl)]
    pub session_cache_ttl: Duration,

    /// Most sessions remembered at once (and as many users).
    #[arg(
        long,
        env = "SESSION_CACHE_SIZE",
        value_name = "SESSION_CACHE_SIZE",
        default_value = "100000"
    )]
    pub session_cache_size: u64,
}

impl SessionCacheConfig {
    /// `None` when the cache is off.
    pub fn ttl(&self) -> Option<Duration> {
        Some(self.session_cache_ttl).filter(|ttl| !ttl.is_zero() && self.session_cache_size > 0)
    }
}

/// A duration, or `off` (the same as `0`).
fn parse_ttl(s: &str) -> Result<Duration, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_and_zero_disable_the_cache() {
        assert_eq!(parse_ttl("off"), Ok(Duration::ZERO));
        assert_eq!(parse_ttl("0"), Ok(Duration::ZERO));
        assert_eq!(parse_ttl("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_ttl("soon").is_err());
    }
}
