//! Retention: how often the service deletes what nobody can need any more, and
//! how long the records people may want to look at are kept (RETENTION_INTERVAL,
//! AUDIT_RETENTION, OUTBOX_RETENTION, RETENTION_BATCH_SIZE).

use std::time::Duration;

use clap::Args;

use super::parse::parse_duration;

#[derive(Args, Clone, Debug)]
pub struct RetentionConfig {
    /// How often each instance deletes ended sessions, expired tokens, old
    /// outbox rows and old audit events (and once at start-up); `off` leaves
    /// it to `auth-service retention run` (from cron, say).
    #[arg(long, env = "RETENTION_INTERVAL", value_name = "RETENTION_INTERVAL", default_value = "1h", value_parser = parse_period)]
    pub retention_interval: Period,

    /// How long audit events are kept (what GET /me/events and GET
    /// /admin/events list); `off` keeps them forever.
    #[arg(long, env = "AUDIT_RETENTION", value_name = "AUDIT_RETENTION", default_value = "365d", value_parser = parse_period)]
    pub audit_retention: Period,

    /// How long sent and dead messages (mail and webhooks) stay in their outbox
    /// for inspection.
    #[arg(long, env = "OUTBOX_RETENTION", value_name = "OUTBOX_RETENTION", default_value = "7d", value_parser = parse_nonzero)]
    pub outbox_retention: Duration,

    /// Most rows one delete statement removes: each batch is a short
    /// transaction of its own, so retention never holds locks for long.
    #[arg(long, env = "RETENTION_BATCH_SIZE", value_name = "RETENTION_BATCH_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub retention_batch_size: u32,
}

/// A duration, or `off`: never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period(pub Option<Duration>);

/// A duration longer than zero, or `off`. Zero is refused rather than read as
/// "off" or as "keep nothing": either reading would surprise someone.
fn parse_period(s: &str) -> Result<Period, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(Period(None));
    }
    parse_nonzero(s).map(|d| Period(Some(d)))
}

fn parse_nonzero(s: &str) -> Result<Duration, String> {
    let duration = parse_duration(s)?;
    if duration.is_zero() {
        return Err("must be longer than zero (write a duration like 1h or 365d)".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_a_positive_duration_or_off() {
        let day = Duration::from_secs(86_400);
        assert_eq!(parse_period("365d"), Ok(Period(Some(365 * day))));
        assert_eq!(parse_period(" OFF "), Ok(Period(None)));
        assert_eq!(parse_period("3600"), Ok(Period(Some(day / 24))));
        assert!(parse_period("0").is_err());
        assert!(parse_period("0s").is_err());
        assert!(parse_period("forever").is_err());
        assert!(parse_nonzero("off").is_err());
    }
}
