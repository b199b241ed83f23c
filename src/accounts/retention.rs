//! Retention: what would otherwise grow without end is deleted once nobody can
//! need it, by a task on every instance (every RETENTION_INTERVAL, and once at
//! start-up) or by `auth-service retention run`. The rule (what is old) is
//! here; the statements are in `store/retention_sql.rs`.
//!
//! - The refresh tokens of an ended session (revoked, idle too long, or past
//!   its lifetime): reuse detection needs a session's rotated tokens only while
//!   it lives, and a token of an ended session is refused alike whether its
//!   row is there or not.
//! - Ended sessions, [`KNOWN_CLIENT_FOR`] after they ended: nobody sees them
//!   (GET /sessions and the Admin API list active sessions only), but the
//!   login budget of a known device looks at the sessions started within that
//!   window, and a session ends after it started.
//! - Sent and dead mail and webhooks, OUTBOX_RETENTION after they were sent or
//!   given up on (until then an operator can see what went out or failed).
//! - Expired email links, MFA steps and passkey ceremonies: refused alike
//!   whether their row is there or not.
//! - Audit events older than AUDIT_RETENTION, unless it is `off`.
//!
//! Several instances may run it at once: rows are deleted in batches of at
//! most RETENTION_BATCH_SIZE, each batch a short transaction of its own whose
//! rows no other instance's batch takes (see the store), so each row is
//! deleted once, nobody waits long, and a run cut short loses nothing. There
//! is no lease to hold or lose: the work is the same whoever does it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::Accounts;
use super::policy::KNOWN_CLIENT_FOR;
use crate::config::Config;
use crate::store::{Expired, Store};

/// A row is deleted only when every instance agrees it is old, although their
/// clocks may differ by this much.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Rows one run deleted, by kind (the names of the metric's `kind` label).
pub type Deleted = BTreeMap<&'static str, u64>;

/// Each kind of row, and the time by which a row of it is old at `now`.
fn cutoffs(config: &Config, now: DateTime<Utc>) -> Vec<(&'static str, Expired, DateTime<Utc>)> {
    let ended = now - CLOCK_SKEW;
    let finished = before(now, config.retention.outbox_retention);
    let mut kinds = vec![
        (
            "refresh_tokens",
            Expired::RefreshTokensOfEndedSessions,
            ended,
        ),
        ("sessions", Expired::EndedSessions, now - KNOWN_CLIENT_FOR),
        ("mail", Expired::FinishedMail, finished),
        ("webhooks", Expired::FinishedWebhooks, finished),
        ("email_tokens", Expired::EmailTokens, ended),
        ("mfa_challenges", Expired::MfaChallenges, ended),
        ("passkey_challenges", Expired::PasskeyChallenges, ended),
    ];
    if let Some(kept) = config.retention.audit_retention.0 {
        kinds.push(("audit_events", Expired::AuditEvents, before(now, kept)));
    }
    kinds
}

/// `now - period`; a period reaching before 1970 (or past what a date can
/// hold) reaches before anything the service wrote.
fn before(now: DateTime<Utc>, period: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(period)
        .ok()
        .and_then(|period| now.checked_sub_signed(period))
        .unwrap_or(DateTime::UNIX_EPOCH)
        .max(DateTime::UNIX_EPOCH)
}

/// Deletes every row that is old at `now`, batch by batch, until none is
/// left or `stop` (checked between batches).
async fn delete_old_rows(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
    stop: &CancellationToken,
) -> anyhow::Result<Deleted> {
    let limit = config.retention.retention_batch_size;
    let mut deleted = Deleted::new();
    // Refresh tokens before sessions: a session old enough to go has had its
    // tokens deleted already, so each row counts under its own kind.
    for (kind, expired, cutoff) in cutoffs(config, now) {
        let total = deleted.entry(kind).or_default();
        while !stop.is_cancelled() {
            let mut db = store.begin().await?;
            let batch = db.delete_expired(expired, cutoff, limit).await?;
            db.commit().await?;
            *total += batch;
            if batch < u64::from(limit) {
                break;
            }
        }
    }
    Ok(deleted)
}

impl Accounts {
    /// Deletes what is old every RETENTION_INTERVAL (the first time at once)
    /// until `stop`; does nothing with RETENTION_INTERVAL=off.
    pub async fn keep_growth_bounded(self: Arc<Self>, stop: CancellationToken) {
        let Some(every) = self.config.retention.retention_interval.0 else {
            return;
        };
        loop {
            match delete_old_rows(&self.config, &self.store, self.clock.now(), &stop).await {
                Ok(deleted) => {
                    for (kind, rows) in &deleted {
                        self.metrics.retention_deleted(kind, *rows);
                    }
                    if deleted.values().any(|rows| *rows > 0) {
                        tracing::info!(?deleted, "retention: deleted old rows");
                    }
                }
                Err(e) => tracing::warn!("retention: cannot delete old rows: {e:#}"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// `auth-service retention run`: one run, as the task does it; what it
    /// deleted. Needs only the database, not a running service.
    pub async fn delete_old_rows(
        config: &Config,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Deleted> {
        delete_old_rows(config, store, now, &CancellationToken::new()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_longer_than_the_calendar_reaches_before_everything() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let day = std::time::Duration::from_secs(86_400);
        assert_eq!(
            before(now, day),
            DateTime::from_timestamp(1_800_000_000 - 86_400, 0).expect("time")
        );
        assert_eq!(before(now, day * 365 * 100), DateTime::UNIX_EPOCH);
        assert_eq!(before(now, std::time::Duration::MAX), DateTime::UNIX_EPOCH);
    }
}
