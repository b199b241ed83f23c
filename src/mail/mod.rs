//! Outgoing email: message building and transports (SMTP through lettre, or the
//! log for development).

mod messages;

pub use messages::{html_escape, verification_email};

use std::time::Duration;

use anyhow::Context as _;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A message ready to send: both parts are always present.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
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

impl Mailer {
    pub fn new(smtp_url: Option<&url::Url>, from: Mailbox) -> anyhow::Result<Self> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .context("SMTP_URL: not a usable SMTP URL")?
                    .timeout(Some(Duration::from_secs(15)))
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

    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(email
                        .to
                        .parse()
                        .context("recipient is not a valid address")?)
                    .subject(email.subject.clone())
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        email.html.clone(),
                    ))
                    .context("building the message")?;
                smtp.send(message).await.context("SMTP delivery failed")?;
            }
            Transport::Log => {
                // Only reachable outside production (config refuses production
                // without SMTP_URL), so showing the link here is the point.
                tracing::info!(to = %email.to, subject = %email.subject, "email (not sent, SMTP_URL unset):\n{}", email.text);
            }
        }
        Ok(())
    }

    /// Sends off the request path, after the change that caused the mail has been
    /// committed. A failure is logged and does not affect the request.
    pub fn send_in_background(&self, email: Email) {
        let mailer = self.clone();
        let span = tracing::Span::current();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                match mailer.send(&email).await {
                    Ok(()) => tracing::debug!(subject = %email.subject, "email sent"),
                    Err(e) => {
                        tracing::error!(error = format!("{e:#}"), subject = %email.subject, "email not sent")
                    }
                }
            },
            span,
        ));
    }
}
