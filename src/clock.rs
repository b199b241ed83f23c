//! The service's time. Every flow reads the time from here, never from the
//! system directly, so tests can move it. Also the retry schedule the two
//! outboxes (mail and webhooks) share.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Wall-clock time with an adjustable offset. Production never moves it; tests
/// move it to cross expiry and grace windows without sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// Longest wait between two attempts of one outbox message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Wait after the `attempts`-th failed delivery of an outbox message: `base`,
/// doubled for every attempt after the first, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
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
