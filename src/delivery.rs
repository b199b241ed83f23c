//! The rounds both outbox workers (mail, webhooks) run, and the retry schedule
//! they share. A leaf: mail and webhooks may not use each other, so what they
//! have in common lives here, and each worker keeps only what it claims and how
//! it delivers one row ([`Deliverer`]).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// What one worker delivers, and how.
pub trait Deliverer: Sync {
    /// One claimed row.
    type Row: Send;

    /// What is delivered, for the logs (`outbox`, `webhook`).
    const NAME: &'static str;

    /// Leases a batch of the rows due by `due_by` (empty: none is due).
    fn claim(
        &self,
        due_by: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<Vec<Self::Row>>> + Send;

    /// Delivers one claimed row and records the outcome (a failed attempt is
    /// rescheduled or given up on; an error here is the database's).
    fn deliver(&self, row: Self::Row) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Resolves when this instance has queued something (or at once if it did
    /// since the last call), so it goes out now rather than at the next poll.
    fn woken(&self) -> impl Future<Output = ()> + Send;
}

/// Runs `worker` until `stop` is cancelled: a round at start (rows left from
/// before a restart), then one whenever this instance queues a row or
/// `poll_interval` passes (rows queued by other instances, retries falling due).
pub async fn run<D: Deliverer>(
    worker: &D,
    clock: &Clock,
    poll_interval: Duration,
    stop: CancellationToken,
) {
    loop {
        if let Err(e) = deliver_due(worker, clock, &stop).await {
            tracing::error!(error = format!("{e:#}"), "{} round failed", D::NAME);
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = worker.woken() => {}
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
    // Shutting down (the doors are closed): what is due now goes out,
    // including what the last requests queued, each tried once, within
    // SHUTDOWN_TIMEOUT.
    if let Err(e) = deliver_due_by(worker, clock.now()).await {
        tracing::error!(error = format!("{e:#}"), "last {} round failed", D::NAME);
    }
}

/// Claims and delivers due rows until none is left, or until `stop` is
/// cancelled (then the last round takes the rest).
async fn deliver_due<D: Deliverer>(
    worker: &D,
    clock: &Clock,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let batch = worker.claim(clock.now()).await?;
        if batch.is_empty() {
            return Ok(());
        }
        // The whole batch is leased: it is delivered before stopping.
        for row in batch {
            worker.deliver(row).await?;
        }
        if stop.is_cancelled() {
            return Ok(());
        }
    }
}

/// Delivers every one of the rows due by `due_by` (a failed one is
/// rescheduled after it, so it is not tried twice).
async fn deliver_due_by<D: Deliverer>(worker: &D, due_by: DateTime<Utc>) -> anyhow::Result<()> {
    loop {
        let batch = worker.claim(due_by).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for row in batch {
            worker.deliver(row).await?;
        }
    }
}

/// Longest wait between two attempts of one row.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// When to try a row again after its `attempts`-th failed delivery at `now`:
/// `base` later, doubled for every attempt after the first, at most an hour.
pub fn retry_at(base: Duration, attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let wait = backoff(base, attempts);
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
}

fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = std::time::Duration::from_secs(15);
        let wait = |attempts: u32| super::backoff(base, attempts).as_secs();
        assert_eq!([wait(1), wait(2), wait(3), wait(4)], [15, 30, 60, 120]);
        assert_eq!(wait(12), 3600);
        assert_eq!(wait(40), 3600);
    }
}
