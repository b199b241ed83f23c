//! Delivering one message: SMTP through lettre, or the log for development.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Email;

/// Why a delivery failed, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// A 5xx answer or an impossible address: retrying will not help.
    pub permanent: bool,
    pub message: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development only: messages (with their links) are written to the log.
    Log,
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

/// Longest an SMTP conversation may take; the outbox lease is longer.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

impl Mailer {
    pub fn new(smtp_url: Option<&url::Url>, from: Mailbox) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .context("SMTP_URL: not a usable SMTP URL")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => Transport::Log,
        };
        Ok(Self { transport, from })
    }

    pub fn describe(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Log => {
                "written to this log, verification links included (SMTP_URL is not set)"
            }
        }
    }

    /// Delivers one message. Any 2xx answer of the server counts as sent.
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                let permanent = |message: String| SendError {
                    permanent: true,
                    message,
                };
                let to = email
                    .to
                    .parse()
                    .map_err(|e| permanent(format!("recipient is not a valid address: {e}")))?;
                let message = lettre::Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(email.subject.clone())
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        email.html.clone(),
                    ))
                    .map_err(|e| permanent(format!("building the message: {e}")))?;
                smtp.send(message).await.map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: format!("SMTP delivery failed: {e}"),
                })?;
            }
            Transport::Log => {
                // Only reachable outside production (config refuses production
                // without SMTP_URL), so showing the link here is the point.
                tracing::info!(to = %email.to, subject = %email.subject, "email (not sent, SMTP_URL unset):\n{}", email.text);
            }
        }
        Ok(())
    }
}
