//! Outgoing webhooks (Standard Webhooks): the worker that delivers what the core
//! queued in the webhook outbox to WEBHOOK_URL, signed with WEBHOOK_SECRET.
//!
//! Which audit events become webhooks, and what their bodies say, is the core's
//! decision (`accounts/webhook_events.rs`); a row is written in the transaction
//! of the change it announces. This layer only claims due rows, signs and POSTs
//! them, and records the outcome. It uses the store and the leaves, never the
//! core, the door, the limiter or mail.

mod sender;
mod worker;

use std::sync::Arc;

use tokio::sync::Notify;

pub use sender::Sender;
pub use worker::WebhookWorker;

/// Wakes this instance's webhook worker when a commit queued a webhook, so it is
/// sent at once rather than at the next poll.
#[derive(Clone, Default)]
pub struct WebhookSignal(Arc<Notify>);

impl WebhookSignal {
    /// Call after committing a transaction that queued a webhook.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Resolves at the next wake (or at once if one came since the last call).
    async fn woken(&self) {
        self.0.notified().await;
    }
}
