//! One virtual user: journeys one after the other until the deadline, each a
//! new account's life: register → its verification mail → verify the email
//! with the mailed token → login → refresh ×N → GET /me ×N → logout → the
//! session's last refresh token once more (refused: the logout ended it).
//! Every answer is counted by step and status in the user's [`Tally`]; a
//! journey stops at its first unexpected answer, and the next one begins.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::mailbox::Mailbox;
use super::tally::{Step, Tally};
use crate::load::{Connection, request};
use crate::scenarios::{PASSWORD, Tokens};

/// Longest wait for one answer; past it the request counts as unanswered.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// What every virtual user of a run shares.
pub struct Plan {
    pub addr: SocketAddr,
    /// Refreshes, and then /me calls, per session.
    pub repeat: usize,
    /// Longest wait for a verification mail.
    pub mail_wait: Duration,
    /// Makes this run's addresses unique.
    pub run_id: String,
    /// The verification link up to and including `token=`.
    pub verify_link: String,
}

/// The part of a `User` body the journey checks.
#[derive(Deserialize)]
struct UserBody {
    email: String,
    email_verified: bool,
}

/// Runs journeys until `deadline`; the one under way then is finished.
pub async fn virtual_user(
    number: usize,
    plan: Arc<Plan>,
    mailbox: Arc<Mailbox>,
    deadline: Instant,
) -> Tally {
    let mut user = VirtualUser {
        plan,
        mailbox,
        connection: None,
        tally: Tally::default(),
    };
    let mut journey = 0;
    while Instant::now() < deadline {
        let email = format!("soak-{}-{number}-{journey}@example.com", user.plan.run_id);
        if user.journey(&email).await.is_some() {
            user.tally.journeys += 1;
        }
        journey += 1;
    }
    user.tally
}

struct VirtualUser {
    plan: Arc<Plan>,
    mailbox: Arc<Mailbox>,
    /// Kept alive between requests; opened again after a failure.
    connection: Option<Connection>,
    tally: Tally,
}

impl VirtualUser {
    /// `None` at the first thing that went wrong (already counted).
    async fn journey(&mut self, email: &str) -> Option<()> {
        let credentials = json!({"email": email, "password": PASSWORD}).to_string();
        let body = self
            .call(
                Step::Register,
                "POST",
                "/register",
                None,
                Some(credentials.clone()),
            )
            .await?;
        self.tally.registered.push(email.to_owned());
        let sent = serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|b| b["status"] == "verification_sent");
        self.check(Step::Register, sent, &body)?;

        let token = self.mailed_token(email).await?;
        let body = json!({"token": token}).to_string();
        let user: UserBody = self
            .call_json(Step::VerifyEmail, "POST", "/verify-email", None, Some(body))
            .await?;
        let verified = user.email == email && user.email_verified;
        let shown = format!(
            "email {:?}, email_verified {}",
            user.email, user.email_verified
        );
        self.check(Step::VerifyEmail, verified, shown.as_bytes())?;

        let mut tokens: Tokens = self
            .call_json(Step::Login, "POST", "/login", None, Some(credentials))
            .await?;
        for _ in 0..self.plan.repeat {
            let body = json!({"refresh_token": tokens.refresh_token}).to_string();
            tokens = self
                .call_json(Step::Refresh, "POST", "/refresh", None, Some(body))
                .await?;
        }
        for _ in 0..self.plan.repeat {
            let bearer = Some(tokens.access_token.as_str());
            let me: UserBody = self.call_json(Step::Me, "GET", "/me", bearer, None).await?;
            let shown = format!("email {:?}", me.email);
            self.check(Step::Me, me.email == email, shown.as_bytes())?;
        }
        let bearer = Some(tokens.access_token.as_str());
        self.call(Step::Logout, "POST", "/logout", bearer, None)
            .await?;
        let body = json!({"refresh_token": tokens.refresh_token}).to_string();
        self.call(
            Step::RefreshAfterLogout,
            "POST",
            "/refresh",
            None,
            Some(body),
        )
        .await?;
        Some(())
    }

    /// The token of the verification link mailed to `email`.
    async fn mailed_token(&mut self, email: &str) -> Option<String> {
        let Some(mail) = self.mailbox.first_to(email, self.plan.mail_wait).await else {
            self.tally.mail_waits_failed += 1;
            let wait = self.plan.mail_wait;
            self.tally.example(format!(
                "no mail to {email} within {wait:?} of its registration"
            ));
            return None;
        };
        let token = mail.token_after(&self.plan.verify_link).map(str::to_owned);
        if token.is_none() {
            self.tally.wrong_bodies += 1;
            let subject = &mail.subject;
            self.tally.example(format!(
                "the first mail to {email} ({subject:?}) has no verification link"
            ));
        }
        token
    }

    /// Sends one request: its body when the status is the step's expected one.
    async fn call(
        &mut self,
        step: Step,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        json: Option<String>,
    ) -> Option<Bytes> {
        let mut connection = match self.connection.take() {
            Some(open) => open,
            None => match Connection::open(self.plan.addr).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    self.tally.unanswered(step, &format!("{e:#}"));
                    return None;
                }
            },
        };
        let sent = connection.send(request(method, path, bearer, json));
        let (status, body) = match tokio::time::timeout(ANSWER_WAIT, sent).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.tally.unanswered(step, &format!("{e:#}"));
                return None;
            }
            Err(_) => {
                self.tally
                    .unanswered(step, &format!("no answer within {ANSWER_WAIT:?}"));
                return None;
            }
        };
        self.connection = Some(connection);
        self.tally.answered(step, status);
        if status != step.expected() {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(300).collect();
            self.tally.example(format!(
                "{}: {status} (expected {}): {text}",
                step.label(),
                step.expected()
            ));
            return None;
        }
        Some(body)
    }

    /// [`Self::call`], its body read as `T`.
    async fn call_json<T: DeserializeOwned>(
        &mut self,
        step: Step,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        json: Option<String>,
    ) -> Option<T> {
        let body = self.call(step, method, path, bearer, json).await?;
        let parsed = serde_json::from_slice(&body).ok();
        self.check(step, parsed.is_some(), &body)?;
        parsed
    }

    /// Counts an answer with the right status but the wrong content.
    fn check(&mut self, step: Step, good: bool, body: &[u8]) -> Option<()> {
        if good {
            return Some(());
        }
        self.tally.wrong_bodies += 1;
        let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
        self.tally
            .example(format!("{}: unexpected body: {text}", step.label()));
        None
    }
}
