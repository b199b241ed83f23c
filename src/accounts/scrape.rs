//! What the core measures for GET /metrics: the application's recorder, the
//! gauges read at scrape time (hashing queue, outbox depths), and the one word
//! each outcome is counted under.

use std::time::Duration;

use super::error::AccountError;
use super::outcomes::LoginOutcome;
use super::{AccountResult, Accounts};
use crate::telemetry::metrics::{Gauges, Metrics};

impl Accounts {
    /// The application's metrics, for the doors to count their requests in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every series in the Prometheus text format, the gauges measured now. The
    /// outbox depths come from the database (shared by every instance); if it
    /// does not answer within two seconds, the last known depths stay.
    pub async fn metrics_text(&self) -> String {
        let depths = async { self.store.connection().await?.queue_depths().await };
        let outbox = match tokio::time::timeout(Duration::from_secs(2), depths).await {
            Ok(Ok(depths)) => Some((depths.mail, depths.webhooks)),
            Ok(Err(e)) => {
                tracing::warn!(error = format!("{e:#}"), "outbox depth unavailable");
                None
            }
            Err(_) => {
                tracing::warn!("outbox depth unavailable: the database did not answer");
                None
            }
        };
        let (hashes_queued, hashes_running) = self.hasher.load();
        self.metrics.render(Gauges {
            hashes_queued,
            hashes_running,
            outbox,
        })
    }

    /// Counts a finished login attempt by `method` (`password`, `mfa`, `passkey`).
    pub(super) fn count_login<T>(&self, method: &'static str, result: &AccountResult<T>)
    where
        T: LoginEnd,
    {
        let outcome = match result {
            Ok(end) => end.outcome(),
            Err(e) => outcome_of(e),
        };
        self.metrics.login(method, outcome);
    }
}

/// How a successful login call ended.
pub(super) trait LoginEnd {
    fn outcome(&self) -> &'static str;
}

impl LoginEnd for LoginOutcome {
    fn outcome(&self) -> &'static str {
        match self {
            LoginOutcome::LoggedIn(_) => "succeeded",
            LoginOutcome::MfaRequired(_) => "mfa_required",
        }
    }
}

impl LoginEnd for super::outcomes::TokenPair {
    fn outcome(&self) -> &'static str {
        "succeeded"
    }
}

/// The word a refused flow is counted under: its error code, except that a full
/// hashing queue (`busy`) is told apart from an unreachable database.
pub(super) fn outcome_of(error: &AccountError) -> &'static str {
    match error {
        AccountError::Busy => "busy",
        e => e.code(),
    }
}
