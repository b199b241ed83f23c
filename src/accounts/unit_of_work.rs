//! [`Work`]: one transaction of a flow, with the audit events and mail it causes
//! written inside it, so they exist exactly when the change does.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::admin::AdminCaller;
use super::audit::EventKind;
use super::outcomes::ClientContext;
use super::{AccountResult, Accounts};
use crate::mail::OutboxSignal;
use crate::store::{Db, NewEvent, OutboxMessage};

pub(super) struct Work {
    db: Db,
    outbox: OutboxSignal,
    mail_queued: bool,
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
        Ok(self.db.insert_event(&event).await?)
    }

    /// Queues a message in the outbox; it is sent once the transaction commits.
    /// A link's token is already sealed in it (see `mailings.rs`).
    pub async fn mail(&mut self, message: OutboxMessage, now: DateTime<Utc>) -> AccountResult<()> {
        self.db.queue_mail(&message, now).await?;
        self.mail_queued = true;
        Ok(())
    }

    /// Commits, then wakes the mail worker if mail was queued.
    pub async fn commit(self) -> AccountResult<()> {
        self.db.commit().await?;
        if self.mail_queued {
            self.outbox.wake();
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
