//! The route through Redis pub/sub (with REDIS_URL): one connection publishes,
//! another stays subscribed and relays what it hears to this instance.

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::{CHANNEL, RECONNECT_AFTER, Relayed, Signal, relay as relay_payload};

pub(super) struct RedisRoute {
    pub(super) publisher: tokio::sync::Mutex<Publisher>,
}

impl RedisRoute {
    pub(super) fn new(client: redis::Client) -> Self {
        Self {
            publisher: tokio::sync::Mutex::new(Publisher {
                client,
                connection: None,
            }),
        }
    }
}

pub(super) struct Publisher {
    client: redis::Client,
    /// Connected on first use and again after a failure.
    connection: Option<redis::aio::MultiplexedConnection>,
}

impl Publisher {
    pub(super) async fn publish(&mut self, payload: &str) -> redis::RedisResult<()> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(self.client.get_multiplexed_async_connection().await?),
        };
        let published: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(payload)
            .query_async(connection)
            .await;
        if published.is_err() {
            self.connection = None;
        }
        published.map(|_| ())
    }
}

pub(super) async fn subscribe(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

pub(super) async fn relay(
    client: redis::Client,
    mut pubsub: Option<redis::aio::PubSub>,
    relayed: Relayed,
    stop: CancellationToken,
) {
    let local = &relayed.local;
    loop {
        let Some(subscribed) = pubsub.take() else {
            pubsub = resubscribe(&client, &relayed, &stop).await;
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
                Ok(payload) => relay_payload(&payload, local),
                Err(_) => {
                    let _ = local.send(Signal::Missed);
                }
            }
        }
        tracing::warn!("revocation subscription to Redis lost; subscribing again");
        relayed.lost();
    }
}

/// Subscribes again, retrying until Redis answers (`None`: stopped meanwhile).
/// Anything published while unsubscribed is gone, so subscribers hear
/// [`super::Missed`].
async fn resubscribe(
    client: &redis::Client,
    relayed: &Relayed,
    stop: &CancellationToken,
) -> Option<redis::aio::PubSub> {
    loop {
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
        }
        match subscribe(client).await {
            Ok(pubsub) => {
                relayed.restored();
                return Some(pubsub);
            }
            Err(e) => tracing::debug!("Redis still unreachable for revocations: {e}"),
        }
    }
}
