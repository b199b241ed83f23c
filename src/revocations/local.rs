//! This instance's end of the broadcast: its subscribers, and the one hearer
//! told of each announcement before them.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::{Announcement, BACKLOG, Missed, Signal};

/// Told of each announcement before any subscriber (see [`Revocations::hear_first`]).
pub(super) type FirstHearer = Box<dyn Fn(Result<Announcement, Missed>) + Send + Sync>;

/// This instance's subscribers, and the one that hears every announcement
/// before them: the session cache. Whoever hears a revocation (gRPC's
/// `WatchRevocations`, say) may then count on this instance refusing it.
#[derive(Clone)]
pub(super) struct Local {
    pub(super) sender: broadcast::Sender<Signal>,
    pub(super) first: Arc<std::sync::OnceLock<FirstHearer>>,
}

impl Local {
    pub(super) fn new() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            first: Arc::default(),
        }
    }

    pub(super) fn send(
        &self,
        signal: Signal,
    ) -> Result<usize, broadcast::error::SendError<Signal>> {
        if let Some(first) = self.first.get() {
            first(match &signal {
                Signal::Announced(announcement) => Ok(*announcement),
                Signal::Missed => Err(Missed),
            });
        }
        self.sender.send(signal)
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }
}
