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
//! Whether the route is connected now is [`Revocations::link`]: a cache must not
//! answer while it is not (announcements sent meanwhile are lost).
//!
//! The same route also carries [`Announcement::UserChanged`]: a user whose
//! account changed in a way a cached session check shows (email, name,
//! verification, second factor, disabled, deleted).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Db, Notifications, Store, StoreResult};

mod local;
mod redis_route;

use local::Local;

const CHANNEL: &str = "auth_revocations";
/// Announcements a slow subscriber may lag behind before it is told it missed some.
const BACKLOG: usize = 4096;
/// Revocations per message: PostgreSQL caps a payload at 8,000 bytes.
const PER_MESSAGE: usize = 40;
/// Pause before listening again after the route lost its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);
/// How long a commit waits to hear its own announcement back (see [`Echo`]).
const ECHO_WAIT: Duration = Duration::from_secs(1);

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

/// Anything announced to every instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    Revoked(Revocation),
    /// What a session check shows of this user changed.
    UserChanged(Uuid),
}

#[derive(Debug, Clone)]
enum Signal {
    Announced(Announcement),
    Missed,
}

/// What goes over the route. Revocations keep their first format (a bare
/// array), so instances of an older release still read them.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Message {
    Revoked(Vec<Revocation>),
    UsersChanged { users_changed: Vec<Uuid> },
}

/// Whether the route is connected; `epoch` grows each time it is lost, so that
/// whatever was cached before a loss can be told apart from what came after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub connected: bool,
    pub epoch: u64,
}

/// Every announcement since subscribing.
pub struct AnnouncementFeed {
    receiver: broadcast::Receiver<Signal>,
}

impl AnnouncementFeed {
    /// The next announcement, or [`Missed`]; `None` once the service shuts down.
    pub async fn next(&mut self) -> Option<Result<Announcement, Missed>> {
        match self.receiver.recv().await {
            Ok(Signal::Announced(announcement)) => Some(Ok(announcement)),
            Ok(Signal::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => Some(Err(Missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The revocations since subscribing (other announcements are skipped).
pub struct RevocationFeed {
    feed: AnnouncementFeed,
}

impl RevocationFeed {
    /// The next revocation, or [`Missed`]; `None` once the service shuts down.
    pub async fn next(&mut self) -> Option<Result<Revocation, Missed>> {
        loop {
            match self.feed.next().await? {
                Ok(Announcement::Revoked(revocation)) => return Some(Ok(revocation)),
                Ok(Announcement::UserChanged(_)) => {}
                Err(Missed) => return Some(Err(Missed)),
            }
        }
    }
}

/// This instance's end of the broadcast.
pub struct Revocations {
    local: Local,
    link: watch::Sender<Link>,
    route: Route,
}

/// The relays' side of [`Link`]: subscribers hear [`Missed`] on every change.
#[derive(Clone)]
struct Relayed {
    local: Local,
    link: watch::Sender<Link>,
}

impl Relayed {
    /// Lost: caches stop answering first, then everyone hears they missed some.
    fn lost(&self) {
        self.link.send_modify(|link| {
            if link.connected {
                link.connected = false;
                link.epoch += 1;
            }
        });
        let _ = self.local.send(Signal::Missed);
    }

    /// Listening again: whatever was published meanwhile is gone.
    fn restored(&self) {
        let _ = self.local.send(Signal::Missed);
        self.link.send_modify(|link| link.connected = true);
    }
}

enum Route {
    InProcess,
    Postgres,
    Redis(Box<redis_route::RedisRoute>),
}

impl Revocations {
    /// Subscribes this instance to the route (listening before it returns, so
    /// nothing announced afterwards is missed) and relays until `stop`.
    pub async fn start(
        store: &Store,
        redis_url: Option<&url::Url>,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let local = Local::new();
        let connected = Link {
            connected: true,
            epoch: 0,
        };
        let (link, _) = watch::channel(connected);
        let relayed = Relayed {
            local: local.clone(),
            link: link.clone(),
        };
        let route = if let Some(url) = redis_url {
            let client = redis::Client::open(url.as_str())?;
            // Unreachable now: the relay keeps trying, and subscribers are told
            // they may have missed some once it succeeds.
            let pubsub = redis_route::subscribe(&client)
                .await
                .inspect_err(|e| tracing::warn!("Redis unreachable for revocations: {e}"))
                .ok();
            if pubsub.is_none() {
                relayed.lost();
            }
            tokio::spawn(redis_route::relay(client.clone(), pubsub, relayed, stop));
            Route::Redis(Box::new(redis_route::RedisRoute::new(client)))
        } else if let Some(notifications) = store.listen(CHANNEL).await? {
            tokio::spawn(relay_postgres(store.clone(), notifications, relayed, stop));
            Route::Postgres
        } else {
            Route::InProcess
        };
        Ok(Self { local, link, route })
    }

    pub fn subscribe(&self) -> RevocationFeed {
        RevocationFeed {
            feed: self.subscribe_all(),
        }
    }

    /// Revocations and user changes alike.
    /// Registers the one hearer told of every announcement synchronously,
    /// before any subscriber (once; a second registration is ignored).
    pub fn hear_first(
        &self,
        hearer: impl Fn(Result<Announcement, Missed>) + Send + Sync + 'static,
    ) {
        let _ = self.local.first.set(Box::new(hearer));
    }

    pub fn subscribe_all(&self) -> AnnouncementFeed {
        AnnouncementFeed {
            receiver: self.local.subscribe(),
        }
    }

    /// Whether the route is connected now, and since which loss.
    pub fn link(&self) -> watch::Receiver<Link> {
        self.link.subscribe()
    }

    /// Taken before a commit that announces something: see [`Echo`].
    pub fn echo(&self) -> Echo {
        Echo {
            receiver: self.local.subscribe(),
            route: !matches!(self.route, Route::InProcess),
            link: self.link.subscribe(),
        }
    }

    /// Inside the revoking transaction: on PostgreSQL the announcement is part
    /// of it (sent if and when it commits).
    pub async fn announce_in(&self, db: &mut Db, revoked: &[Revocation]) -> StoreResult<()> {
        self.send_in(db, &messages(revoked, &[])).await
    }

    /// After the revoking transaction committed.
    pub async fn announce_committed(&self, revoked: &[Revocation]) {
        self.send_committed(&messages(revoked, &[])).await;
    }

    /// Inside the transaction that changed these users (see `announce_in`).
    pub async fn announce_users_in(&self, db: &mut Db, users: &[Uuid]) -> StoreResult<()> {
        self.send_in(db, &messages(&[], users)).await
    }

    /// After the transaction that changed these users committed.
    pub async fn announce_users_committed(&self, users: &[Uuid]) {
        self.send_committed(&messages(&[], users)).await;
    }

    async fn send_in(&self, db: &mut Db, messages: &[Message]) -> StoreResult<()> {
        if matches!(self.route, Route::Postgres) {
            for message in messages {
                db.notify(CHANNEL, &encode(message)).await?;
            }
        }
        Ok(())
    }

    async fn send_committed(&self, messages: &[Message]) {
        match &self.route {
            Route::Postgres => {}
            Route::InProcess => messages.iter().for_each(|m| deliver(m, &self.local)),
            Route::Redis(redis) => {
                let mut publisher = redis.publisher.lock().await;
                for message in messages {
                    if let Err(e) = publisher.publish(&encode(message)).await {
                        // Other instances lose their subscription too while Redis
                        // is away, and tell their subscribers they missed some.
                        tracing::warn!("cannot publish revocations to Redis: {e}");
                        deliver(message, &self.local);
                    }
                }
            }
        }
    }
}

/// Heard back through the route: by then every other connected instance has been
/// sent the announcement too (Redis and PostgreSQL deliver to all listeners at
/// once), so a request sent after the commit's answer finds it heard there, not
/// still on its way. Bounded by [`ECHO_WAIT`]; not awaited while disconnected.
pub struct Echo {
    receiver: broadcast::Receiver<Signal>,
    route: bool,
    link: watch::Receiver<Link>,
}

impl Echo {
    /// Waits until `last` (the last thing this commit announced) comes back.
    pub async fn heard(mut self, last: Announcement) {
        if !self.route || !self.link.borrow().connected {
            return;
        }
        let wait = async {
            loop {
                match self.receiver.recv().await {
                    Ok(Signal::Announced(heard)) if heard == last => return,
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        };
        if tokio::time::timeout(ECHO_WAIT, wait).await.is_err() {
            tracing::debug!("an announcement did not come back within {ECHO_WAIT:?}");
        }
    }
}

fn messages(revoked: &[Revocation], users: &[Uuid]) -> Vec<Message> {
    let revoked = revoked
        .chunks(PER_MESSAGE)
        .map(|c| Message::Revoked(c.to_vec()));
    let users = users.chunks(PER_MESSAGE).map(|c| Message::UsersChanged {
        users_changed: c.to_vec(),
    });
    revoked.chain(users).collect()
}

fn encode(message: &Message) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

fn deliver(message: &Message, local: &Local) {
    // No subscriber is not an error: nobody caches anything yet.
    let send = |a| {
        let _ = local.send(Signal::Announced(a));
    };
    match message {
        Message::Revoked(revoked) => revoked.iter().for_each(|r| send(Announcement::Revoked(*r))),
        Message::UsersChanged { users_changed } => users_changed
            .iter()
            .for_each(|u| send(Announcement::UserChanged(*u))),
    }
}

/// Passes one message of the route to this instance's subscribers.
fn relay(payload: &str, local: &Local) {
    match serde_json::from_str::<Message>(payload) {
        Ok(message) => deliver(&message, local),
        Err(e) => {
            tracing::warn!("unreadable revocation announcement: {e}");
            let _ = local.send(Signal::Missed);
        }
    }
}

async fn relay_postgres(
    store: Store,
    mut notifications: Notifications,
    relayed: Relayed,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = notifications.next() => next,
        };
        match next {
            Ok(Some(payload)) => {
                relay(&payload, &relayed.local);
                continue;
            }
            Ok(None) => tracing::warn!("revocation listener lost PostgreSQL; listening again"),
            Err(e) => tracing::warn!("revocation listener cannot reach PostgreSQL: {e}"),
        }
        relayed.lost();
        // A new listener, so that being connected again is known (not only
        // found out when the next notification arrives).
        notifications = loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RECONNECT_AFTER) => {}
            }
            match store.listen(CHANNEL).await {
                Ok(Some(listening)) => break listening,
                Ok(None) => return,
                Err(e) => tracing::debug!("PostgreSQL still unreachable for revocations: {e}"),
            }
        };
        relayed.restored();
    }
}
