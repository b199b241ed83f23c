//! Budgets in Redis, shared by every instance: one Lua script ([`gcra.lua`])
//! decides and spends atomically, so concurrent requests on any number of
//! instances never overspend. Time comes from the service's clock (instances
//! keep their clocks in step, e.g. with NTP).
//!
//! When Redis fails (an error or a timeout), the instance says so once, falls
//! back to its memory, and tries Redis again at most once a second (with a
//! request, or /readyz); the first answer ends the outage, which is said once too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use redis::aio::MultiplexedConnection;
use url::Url;

use super::interval;
use crate::clock::Clock;
use crate::config::Quota;

/// Longest wait for a connection, and for an answer.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How often an instance tries Redis again during an outage.
const RETRY_EVERY: Duration = Duration::from_secs(1);

pub(super) struct Shared {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    script: redis::Script,
    prefix: String,
    clock: Clock,
    /// Whether the last exchange with Redis worked.
    up: AtomicBool,
    /// When (ms after `started`) an instance in an outage may try again.
    next_try: AtomicU64,
    started: Instant,
}

impl Shared {
    /// Opens the client (a malformed REDIS_URL stops start-up) and tries Redis
    /// once: an outage at start-up is reported, not fatal.
    pub async fn connect(url: &Url, prefix: &str, clock: Clock) -> anyhow::Result<Shared> {
        let client =
            redis::Client::open(url.as_str()).context("REDIS_URL: not a usable Redis URL")?;
        let shared = Shared {
            client,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(include_str!("gcra.lua")),
            prefix: format!("{prefix}:rl"),
            clock,
            up: AtomicBool::new(true),
            next_try: AtomicU64::new(0),
            started: Instant::now(),
        };
        shared.probe().await;
        Ok(shared)
    }

    /// Where Redis is, for the log (never the password).
    pub fn describe(&self) -> String {
        self.client.get_connection_info().addr().to_string()
    }

    /// Redis's decision, or `None` when Redis cannot be asked now.
    pub async fn check(
        &self,
        policy: &str,
        key: &str,
        quota: Quota,
    ) -> Option<Result<(), Duration>> {
        if !self.up.load(Ordering::Acquire) && !self.may_try_now() {
            return None;
        }
        let key = format!("{}:{policy}:{key}", self.prefix);
        let interval_ms = u64::try_from(interval(quota).as_millis().max(1)).unwrap_or(u64::MAX);
        let now_ms = self.clock.now().timestamp_millis();
        let spend = async {
            let mut connection = self.connection().await?;
            let (allowed, wait_ms): (i64, i64) = self
                .script
                .key(&key)
                .arg(now_ms)
                .arg(interval_ms)
                .arg(quota.count)
                .invoke_async(&mut connection)
                .await?;
            anyhow::Ok(if allowed == 1 {
                Ok(())
            } else {
                Err(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)))
            })
        };
        self.settle(spend).await
    }

    /// Whether Redis answers now (asking it unless an outage's retry is not due).
    pub async fn probe(&self) -> bool {
        if !self.up.load(Ordering::Acquire) && !self.may_try_now() {
            return false;
        }
        let ping = async {
            let mut connection = self.connection().await?;
            let _: String = redis::cmd("PING").query_async(&mut connection).await?;
            anyhow::Ok(())
        };
        self.settle(ping).await.is_some()
    }

    /// Runs one exchange with Redis under a time limit and records whether it worked.
    async fn settle<T>(&self, exchange: impl Future<Output = anyhow::Result<T>>) -> Option<T> {
        let outcome = match tokio::time::timeout(2 * TIMEOUT, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(anyhow::anyhow!("no answer within {:?}", 2 * TIMEOUT)),
        };
        match outcome {
            Ok(value) => {
                if !self.up.swap(true, Ordering::AcqRel) {
                    tracing::info!(redis = %self.describe(), "Redis answers again: rate limits are shared by every instance again");
                }
                Some(value)
            }
            Err(e) => {
                *self.connection.lock().await = None;
                self.next_try.store(
                    self.elapsed_ms() + RETRY_EVERY.as_millis() as u64,
                    Ordering::Release,
                );
                if self.up.swap(false, Ordering::AcqRel) {
                    tracing::warn!(
                        redis = %self.describe(),
                        error = format!("{e:#}"),
                        "Redis does not answer: each instance limits on its own memory until it does"
                    );
                }
                None
            }
        }
    }

    /// During an outage, lets one caller a second through to try Redis.
    fn may_try_now(&self) -> bool {
        let now = self.elapsed_ms();
        let due = self.next_try.load(Ordering::Acquire);
        now >= due
            && self
                .next_try
                .compare_exchange(
                    due,
                    now + RETRY_EVERY.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The open connection, or a new one.
    async fn connection(&self) -> anyhow::Result<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}
