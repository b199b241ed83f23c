//! The mail the service sends: its kinds, their tokens, and proof of what was
//! (not) delivered.

use reqwest::StatusCode;

use super::{MAIL_WAIT, PASSWORD, TestApp};
use crate::smtp::ReceivedMail;

/// A kind of mail the service sends: its subject and the start of its link.
#[derive(Debug, Clone, Copy)]
pub struct MailKind {
    pub subject: &'static str,
    /// The link up to and including `token=`.
    pub link: &'static str,
}

pub const VERIFY: MailKind = MailKind {
    subject: "Confirm your email address for Auth Service",
    link: "http://auth.test/verify-email?token=",
};
pub const RESET: MailKind = MailKind {
    subject: "Reset your Auth Service password",
    link: "http://auth.test/password/reset?token=",
};
/// Sent when someone registers a taken address: it carries a reset link.
pub const ACCOUNT_EXISTS: MailKind = MailKind {
    subject: "You already have a Auth Service account",
    link: RESET.link,
};

impl MailKind {
    /// The token of this kind's link in `mail`, if it has one.
    pub fn token_in(&self, mail: &ReceivedMail) -> Option<String> {
        let link = mail.find_link(self.link)?;
        link.strip_prefix(self.link).map(str::to_owned)
    }
}

impl TestApp {
    /// The first mail of `kind` to `email` (waits for it).
    pub async fn mail(&self, email: &str, kind: MailKind) -> ReceivedMail {
        self.smtp
            .wait_for_subject(email, kind.subject, MAIL_WAIT)
            .await
    }

    /// The token of the link in the first mail of `kind` to `email`.
    pub async fn mailed_token(&self, email: &str, kind: MailKind) -> String {
        let mail = self.mail(email, kind).await;
        kind.token_in(&mail)
            .unwrap_or_else(|| panic!("no {} link in mail:\n{}", kind.link, mail.text))
    }

    /// Waits for a mail of `kind` to `email` whose token is not `seen`: (mail, token).
    pub async fn another_mail(
        &self,
        email: &str,
        kind: MailKind,
        seen: &str,
    ) -> (ReceivedMail, String) {
        let is_new = |m: &ReceivedMail| {
            m.is_to(email)
                && m.subject.contains(kind.subject)
                && kind.token_in(m).is_some_and(|t| t != seen)
        };
        let what = format!("to {email} with a second {} link", kind.link);
        let mail = self.smtp.wait_for_message(&what, is_new, MAIL_WAIT).await;
        let token = kind.token_in(&mail).expect("token");
        (mail, token)
    }

    /// Every message delivered so far, proved complete: a marker reset link asked
    /// for now, for a fresh account, has arrived. Link requests are carried out in
    /// the order they came, and the worker sends mail in the order it was queued,
    /// so all mail caused before this call came first. Mail to the marker is not
    /// in the list. (Mail waiting for a retry after a failed attempt is not due yet,
    /// so it is not covered; one instance must be sending the mail of this database.)
    pub async fn mail_before_marker(&self) -> Vec<ReceivedMail> {
        let marker = format!("marker-{}@example.com", uuid::Uuid::new_v4().simple());
        let registered = self.register(&marker, PASSWORD).await;
        assert!(
            [StatusCode::ACCEPTED, StatusCode::CREATED].contains(&registered.status),
            "marker registration: {}",
            registered.text
        );
        self.forgot_password(&marker).await;
        self.mail(&marker, RESET).await;
        let mail = self.smtp.messages();
        let at = mail
            .iter()
            .position(|m| m.is_to(&marker) && m.subject.contains(RESET.subject))
            .expect("the marker arrived");
        mail.into_iter()
            .take(at)
            .filter(|m| !m.is_to(&marker))
            .collect()
    }

    /// No mail at all was delivered (proved with a marker: see [`Self::mail_before_marker`]).
    pub async fn assert_no_mail(&self) {
        let mail = self.mail_before_marker().await;
        let subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
        assert!(mail.is_empty(), "mail was sent: {subjects:?}");
    }

    /// No mail to `email` was delivered (proved with a marker).
    pub async fn assert_no_mail_to(&self, email: &str) {
        self.assert_mail_to(email, &[]).await;
    }

    /// Exactly these subjects (sorted) of mail to `email` were delivered, proved with
    /// a marker (see [`Self::mail_before_marker`]); addresses compare in any case.
    pub async fn assert_mail_to(&self, email: &str, expected: &[&str]) {
        let mut delivered: Vec<String> = (self.mail_before_marker().await)
            .into_iter()
            .filter(|m| m.is_to(email))
            .map(|m| m.subject)
            .collect();
        delivered.sort();
        assert_eq!(delivered, expected, "delivered to {email}");
    }

    /// Subjects (sorted) of the mail queued for `email`, sent or not: the outbox
    /// rows are written in the transaction of the change that caused them (for
    /// link requests, when the request is carried out).
    pub async fn queued_for(&self, email: &str) -> Vec<String> {
        let sql = "select subject from outbox where lower(recipient) = lower($1)";
        let mut queued: Vec<String> = sqlx::query_scalar(sql)
            .bind(email)
            .fetch_all(&self.db)
            .await
            .expect("outbox");
        queued.sort();
        queued
    }
}
