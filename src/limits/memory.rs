//! Budgets in this process: one governor keyed limiter per policy (GCRA), on the
//! service's clock so that tests can move time.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{NotUntil, RateLimiter};

use super::{Policy, interval};
use crate::clock::Clock;
use crate::config::Quota;

/// How many checks between two sweeps of budgets that are full again (and so
/// need no memory).
const SWEEP_EVERY: u64 = 4096;

/// governor's view of the service's clock.
#[derive(Clone)]
struct ServiceClock(Clock);

impl governor::clock::Clock for ServiceClock {
    type Instant = SystemTime;

    fn now(&self) -> SystemTime {
        SystemTime::from(self.0.now())
    }
}

type Keyed =
    RateLimiter<String, DashMapStateStore<String>, ServiceClock, NoOpMiddleware<SystemTime>>;

pub(super) struct Memory {
    limiters: Vec<(Policy, Keyed)>,
    clock: ServiceClock,
    checks: AtomicU64,
}

impl Memory {
    pub fn new(quotas: &[(Policy, Quota)], clock: Clock) -> Memory {
        let clock = ServiceClock(clock);
        let limiters = quotas
            .iter()
            .map(|&(policy, quota)| {
                let limiter = RateLimiter::new(
                    governor_quota(quota),
                    DashMapStateStore::default(),
                    clock.clone(),
                );
                (policy, limiter)
            })
            .collect();
        Memory {
            limiters,
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// Spends one request of `key`'s budget, or says how long until one is free.
    pub fn check(&self, policy: Policy, key: &str) -> Result<(), Duration> {
        let Some((_, limiter)) = self.limiters.iter().find(|(p, _)| *p == policy) else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for (_, limiter) in &self.limiters {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        let key = key.to_owned();
        limiter
            .check_key(&key)
            .map_err(|not_until: NotUntil<SystemTime>| {
                not_until.wait_time_from(governor::clock::Clock::now(&self.clock))
            })
    }
}

/// `count` per `window`: a burst of `count`, one more every `window / count`.
fn governor_quota(quota: Quota) -> governor::Quota {
    let burst = NonZeroU32::new(quota.count).unwrap_or(NonZeroU32::MIN);
    let period = interval(quota).max(Duration::from_nanos(1));
    governor::Quota::with_period(period)
        .unwrap_or_else(|| unreachable!("a period of at least 1ns is accepted"))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(count: u32, window_secs: u64) -> (Memory, Clock) {
        let clock = Clock::default();
        let quota = Quota {
            count,
            window: Duration::from_secs(window_secs),
        };
        (Memory::new(&[(Policy::Login, quota)], clock.clone()), clock)
    }

    #[test]
    fn a_burst_of_the_quota_then_one_per_interval() {
        let (memory, clock) = memory(3, 60);
        for _ in 0..3 {
            assert_eq!(memory.check(Policy::Login, "ip:1.2.3.4"), Ok(()));
        }
        let wait = memory.check(Policy::Login, "ip:1.2.3.4").expect_err("over");
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another subject has its own budget.
        assert_eq!(memory.check(Policy::Login, "ip:5.6.7.8"), Ok(()));
        // One interval later, exactly one more.
        clock.advance(chrono::Duration::seconds(20));
        assert_eq!(memory.check(Policy::Login, "ip:1.2.3.4"), Ok(()));
        assert!(memory.check(Policy::Login, "ip:1.2.3.4").is_err());
    }
}
