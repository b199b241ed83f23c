//! Outgoing email: composing messages from templates, the transports (SMTP
//! through lettre, or the log for development), and the outbox worker that
//! delivers what the core queued.

mod compose;
mod notice;
pub mod outbox;
mod transport;

pub use compose::{Composer, Email, LINK_TOKEN_PLACEHOLDER, MailKind};
pub use notice::Notice;
pub use outbox::{OutboxSignal, OutboxWorker};
pub use transport::{Mailer, SendError};
