//! Revoked sessions announced to every instance at once, so that anything that
//! caches what a session may do (this service's own checks, or another service
//! through gRPC's `WatchRevocations`) drops it on the very next request.
//!
//! The route depends on what the instances share: Redis pub/sub when `REDIS_URL`
//! is set; otherwise PostgreSQL `LISTEN`/`NOTIFY` (sent inside the revoking
//! transaction, so it goes out exactly when the revocation commits); on SQLite,
//! one instance, in process. Every instance hears its own announcements back
//! through the same route, so local and remote revocations arrive one way.
//!
//! A subscriber that may have missed something (it fell behind, or the route
//! lost its connection) is told so with [`Missed`] instead of silently skipping.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Db, Notifications, Store, StoreResult};

const CHANNEL: &str = "auth_revocations";
/// Announcements a slow subscriber may lag behind before it is told it missed some.
const BACKLOG: usize = 4096;
/// Revocations per message: PostgreSQL caps a payload at 8,000 bytes.
const PER_MESSAGE: usize = 40;
/// Pause before listening again after the route lost its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);

/// One session revoked, on any instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub revoked_at: DateTime<Utc>,
}

/// Revocations may have been missed: whoever caches must revalidate everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("revocations may have been missed (fell behind, or the broadcast reconnected)")]
pub struct Missed;

#[derive(Debug, Clone)]
enum Signal {
    Revoked(Revocation),
    Missed,
}

/// The announcements since subscribing.
pub struct RevocationFeed {
    receiver: broadcast::Receiver<Signal>,
}

impl RevocationFeed {
    /// The next revocation, or [`Missed`]; `None` once the service shuts down.
    pub async fn next(&mut self) -> Option<Result<Revocation, Missed>> {
        match self.receiver.recv().await {
            Ok(Signal::Revoked(revocation)) => Some(Ok(revocation)),
            Ok(Signal::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => Some(Err(Missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// This instance's end of the broadcast.
pub struct Revocations {
    local: broadcast::Sender<Signal>,
    route: Route,
}

enum Route {
    InProcess,
    Postgres,
    Redis(Box<RedisRoute>),
}

struct RedisRoute {
    client: redis::Client,
    /// Connected on first use and again after a failure.
    publisher: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl Revocations {
    /// Subscribes this instance to the route (listening before it returns, so
    /// nothing announced afterwards is missed) and relays until `stop`.
    pub async fn start(
        store: &Store,
        redis_url: Option<&url::Url>,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (local, _) = broadcast::channel(BACKLOG);
        let route = if let Some(url) = redis_url {
            let client = redis::Client::open(url.as_str())?;
            // Unreachable now: the relay keeps trying, and subscribers are told
            // they may have missed some once it succeeds.
            let pubsub = subscribe_redis(&client)
                .await
                .inspect_err(|e| tracing::warn!("Redis unreachable for revocations: {e}"))
                .ok();
            tokio::spawn(relay_redis(client.clone(), pubsub, local.clone(), stop));
            Route::Redis(Box::new(RedisRoute {
                client,
                publisher: tokio::sync::Mutex::new(None),
            }))
        } else if let Some(notifications) = store.listen(CHANNEL).await? {
            tokio::spawn(relay_postgres(notifications, local.clone(), stop));
            Route::Postgres
        } else {
            Route::InProcess
        };
        Ok(Self { local, route })
    }

    pub fn subscribe(&self) -> RevocationFeed {
        RevocationFeed {
            receiver: self.local.subscribe(),
        }
    }

    /// Inside the revoking transaction: on PostgreSQL the announcement is part
    /// of it (sent if and when it commits).
    pub async fn announce_in(&self, db: &mut Db, revoked: &[Revocation]) -> StoreResult<()> {
        if matches!(self.route, Route::Postgres) {
            for chunk in revoked.chunks(PER_MESSAGE) {
                db.notify(CHANNEL, &encode(chunk)).await?;
            }
        }
        Ok(())
    }

    /// After the revoking transaction committed.
    pub async fn announce_committed(&self, revoked: &[Revocation]) {
        match &self.route {
            Route::Postgres => {}
            Route::InProcess => self.deliver(revoked),
            Route::Redis(redis) => {
                let mut publisher = redis.publisher.lock().await;
                for chunk in revoked.chunks(PER_MESSAGE) {
                    if let Err(e) = publish(&redis.client, &mut publisher, &encode(chunk)).await {
                        // Other instances lose their subscription too while Redis
                        // is away, and tell their subscribers they missed some.
                        tracing::warn!("cannot publish revocations to Redis: {e}");
                        *publisher = None;
                        self.deliver(chunk);
                    }
                }
            }
        }
    }

    fn deliver(&self, revoked: &[Revocation]) {
        for revocation in revoked {
            // No subscriber is not an error: nobody caches anything yet.
            let _ = self.local.send(Signal::Revoked(*revocation));
        }
    }
}

fn encode(revoked: &[Revocation]) -> String {
    serde_json::to_string(revoked).unwrap_or_default()
}

/// Passes one message of the route to this instance's subscribers.
fn relay(payload: &str, local: &broadcast::Sender<Signal>) {
    match serde_json::from_str::<Vec<Revocation>>(payload) {
        Ok(revoked) => {
            for revocation in revoked {
                let _ = local.send(Signal::Revoked(revocation));
            }
        }
        Err(e) => {
            tracing::warn!("unreadable revocation announcement: {e}");
            let _ = local.send(Signal::Missed);
        }
    }
}

async fn relay_postgres(
    mut notifications: Notifications,
    local: broadcast::Sender<Signal>,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = notifications.next() => next,
        };
        match next {
            Ok(Some(payload)) => relay(&payload, &local),
            Ok(None) => {
                tracing::warn!("revocation listener lost PostgreSQL; listening again");
                let _ = local.send(Signal::Missed);
            }
            Err(e) => {
                tracing::warn!("revocation listener cannot reach PostgreSQL: {e}");
                let _ = local.send(Signal::Missed);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RECONNECT_AFTER) => {}
                }
            }
        }
    }
}

async fn publish(
    client: &redis::Client,
    publisher: &mut Option<redis::aio::MultiplexedConnection>,
    payload: &str,
) -> redis::RedisResult<()> {
    let connection = match publisher {
        Some(connection) => connection,
        None => publisher.insert(client.get_multiplexed_async_connection().await?),
    };
    let _: i64 = redis::cmd("PUBLISH")
        .arg(CHANNEL)
        .arg(payload)
        .query_async(connection)
        .await?;
    Ok(())
}

async fn subscribe_redis(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

async fn relay_redis(
    client: redis::Client,
    mut pubsub: Option<redis::aio::PubSub>,
    local: broadcast::Sender<Signal>,
    stop: CancellationToken,
) {
    loop {
        let Some(subscribed) = pubsub.take() else {
            pubsub = resubscribe(&client, &local, &stop).await;
            if pubsub.is_none() {
                return;
            }
            continue;
        };
        let mut messages = subscribed.into_on_message();
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            match message.get_payload::<String>() {
                Ok(payload) => relay(&payload, &local),
                Err(_) => {
                    let _ = local.send(Signal::Missed);
                }
            }
        }
        tracing::warn!("revocation subscription to Redis lost; subscribing again");
        let _ = local.send(Signal::Missed);
    }
}

/// Subscribes again, retrying until Redis answers (`None`: stopped meanwhile).
/// Anything published while unsubscribed is gone, so subscribers hear [`Missed`].
async fn resubscribe(
    client: &redis::Client,
    local: &broadcast::Sender<Signal>,
    stop: &CancellationToken,
) -> Option<redis::aio::PubSub> {
    loop {
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
        }
        match subscribe_redis(client).await {
            Ok(pubsub) => {
                let _ = local.send(Signal::Missed);
                return Some(pubsub);
            }
            Err(e) => tracing::debug!("Redis still unreachable for revocations: {e}"),
        }
    }
}
