//! [`Work`]: one transaction of a flow, with the audit events, webhooks and mail
//! it causes written inside it, so they exist exactly when the change does.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::admin::AdminCaller;
use super::audit::EventKind;
use super::outcomes::ClientContext;
use super::session_cache::SessionCache;
use super::webhook_events::webhook_of;
use super::{AccountResult, Accounts};
use crate::mail::OutboxSignal;
use crate::revocations::{Announcement, Revocation, Revocations};
use crate::store::{Db, NewEvent, OutboxMessage, RevokeScope};
use crate::webhooks::WebhookSignal;

pub(super) struct Work {
    db: Db,
    outbox: OutboxSignal,
    mail_queued: bool,
    revocations: Arc<Revocations>,
    /// Sessions this transaction revoked, announced to every instance with it.
    revoked: Vec<Revocation>,
    /// Users whose session-check answer this transaction changed (see
    /// `user_changes.rs`), announced likewise.
    users_changed: Vec<Uuid>,
    /// This instance's session cache, which forgets them at once.
    sessions: Arc<SessionCache>,
    /// `None`: webhooks are off.
    webhooks: Option<WebhookSignal>,
    webhook_queued: bool,
    /// The admin key's name when an operator does this work (Admin API): every
    /// event recorded in it carries it as its actor.
    actor: Option<String>,
}

impl Accounts {
    /// Begins a write transaction.
    pub(super) async fn begin(&self) -> AccountResult<Work> {
        Ok(Work {
            db: self.store.begin().await?,
            outbox: self.outbox.clone(),
            mail_queued: false,
            revocations: self.revocations.clone(),
            revoked: Vec::new(),
            users_changed: Vec::new(),
            sessions: self.sessions.clone(),
            webhooks: self.webhooks.clone(),
            webhook_queued: false,
            actor: None,
        })
    }

    /// Begins a write transaction for an operator's action: its events name the
    /// admin key as their actor.
    pub(super) async fn begin_as(&self, actor: &AdminCaller) -> AccountResult<Work> {
        let mut work = self.begin().await?;
        work.actor = Some(actor.name().to_owned());
        Ok(work)
    }
}

impl Work {
    /// Records an audit event (`user` is `None` for a failed login with an
    /// unknown email).
    pub async fn event(
        &mut self,
        kind: EventKind,
        user: Option<Uuid>,
        session: Option<Uuid>,
        client: &ClientContext,
        at: DateTime<Utc>,
    ) -> AccountResult<()> {
        self.event_with_method(kind, None, user, session, client, at)
            .await
    }

    /// Records an audit event with the method of a login.
    pub async fn event_with_method(
        &mut self,
        kind: EventKind,
        method: Option<&'static str>,
        user: Option<Uuid>,
        session: Option<Uuid>,
        client: &ClientContext,
        at: DateTime<Utc>,
    ) -> AccountResult<()> {
        let event = NewEvent {
            kind: kind.as_str(),
            method,
            user_id: user,
            session_id: session,
            ip: client.ip.map(|ip| ip.to_string()),
            user_agent: client.user_agent.clone(),
            created_at: at,
            actor: self.actor.clone(),
        };
        self.db.insert_event(&event).await?;
        // Announced in the same transaction: a webhook exists exactly when its event does.
        if let Some(webhook) = self.webhooks.as_ref().and_then(|_| webhook_of(&event)) {
            self.db.queue_webhook(&webhook).await?;
            self.webhook_queued = true;
        }
        Ok(())
    }

    /// Queues a message in the outbox; it is sent once the transaction commits.
    /// A link's token is already sealed in it (see `mailings.rs`).
    pub async fn mail(&mut self, message: OutboxMessage, now: DateTime<Utc>) -> AccountResult<()> {
        self.db.queue_mail(&message, now).await?;
        self.mail_queued = true;
        Ok(())
    }

    /// Revokes the user's sessions in `scope` that were still unrevoked and
    /// returns their ids. Every revocation goes through here, so that each is
    /// announced to every instance when the transaction commits.
    pub async fn revoke_sessions(
        &mut self,
        user: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AccountResult<Vec<Uuid>> {
        let ids = self.db.revoke_sessions(user, scope, reason, now).await?;
        self.revoked
            .extend(ids.iter().map(|&session_id| Revocation {
                session_id,
                user_id: user,
                revoked_at: now,
            }));
        Ok(ids)
    }

    /// Notes that what a session check shows of `user` changes with this work.
    pub fn user_changed(&mut self, user: Uuid) {
        if !self.users_changed.contains(&user) {
            self.users_changed.push(user);
        }
    }

    /// Commits, then wakes the mail and webhook workers if mail or a webhook
    /// was queued, and announces the revoked sessions and changed users (this
    /// instance forgets them before the commit returns; it returns once the
    /// announcement came back through the broadcast, see `Echo`).
    pub async fn commit(mut self) -> AccountResult<()> {
        let last = self
            .users_changed
            .last()
            .map(|&u| Announcement::UserChanged(u));
        let last = last.or(self.revoked.last().map(|&r| Announcement::Revoked(r)));
        let echo = last.map(|last| (self.revocations.echo(), last));
        if !self.revoked.is_empty() {
            self.revocations
                .announce_in(&mut self.db, &self.revoked)
                .await?;
        }
        if !self.users_changed.is_empty() {
            self.revocations
                .announce_users_in(&mut self.db, &self.users_changed)
                .await?;
        }
        self.db.commit().await?;
        self.sessions.forget(&self.revoked, &self.users_changed);
        if self.mail_queued {
            self.outbox.wake();
        }
        if let Some(webhooks) = self.webhooks.filter(|_| self.webhook_queued) {
            webhooks.wake();
        }
        if !self.revoked.is_empty() {
            self.revocations.announce_committed(&self.revoked).await;
        }
        if !self.users_changed.is_empty() {
            let users = &self.users_changed;
            self.revocations.announce_users_committed(users).await;
        }
        if let Some((echo, last)) = echo {
            echo.heard(last).await;
        }
        Ok(())
    }
}

impl Deref for Work {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl DerefMut for Work {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.db
    }
}
