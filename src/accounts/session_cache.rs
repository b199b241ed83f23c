//! Active sessions remembered between requests, so that checking an access
//! token needs no database round trip. Safe because every change that would
//! make a remembered answer wrong is announced to every instance (the
//! `revocations` broadcast: a revoked session, a changed user) and dropped here
//! when heard; while the broadcast is disconnected, nothing is answered from
//! memory (the database is asked), and whatever was remembered before the loss
//! is never used again. A short TTL bounds what a silently lost announcement
//! could leave.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use tokio::sync::watch;
use uuid::Uuid;

use super::outcomes::User;
use crate::revocations::{Announcement, Link, Revocation, Revocations};
use crate::store::SessionUserRow;

/// What the session check answers for a live session.
#[derive(Debug, Clone)]
pub(super) struct ActiveSession {
    pub user: User,
    pub mfa_enabled: bool,
}

#[derive(Clone)]
struct CachedSession {
    user_id: Uuid,
    /// The session's idle or absolute end, whichever comes first, as read.
    until: DateTime<Utc>,
    epoch: u64,
}

#[derive(Clone)]
struct CachedUser {
    active: ActiveSession,
    epoch: u64,
}

/// Taken before reading the database: what the answer may be kept under.
pub(super) struct Ticket {
    drops: u64,
    epoch: u64,
}

/// Sessions and their users, kept apart so that a changed user is one drop.
pub(super) struct SessionCache {
    caches: Option<(Cache<Uuid, CachedSession>, Cache<Uuid, CachedUser>)>,
    link: watch::Receiver<Link>,
    /// Grows with every drop: an answer read before a drop is not kept.
    drops: AtomicU64,
}

impl SessionCache {
    /// `ttl` `None`: off (every check reads the database).
    pub fn new(ttl: Option<Duration>, capacity: u64, link: watch::Receiver<Link>) -> Self {
        let caches = ttl.map(|ttl| {
            let sessions = Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build();
            let users = Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build();
            (sessions, users)
        });
        Self {
            caches,
            link,
            drops: AtomicU64::new(0),
        }
    }

    /// Drops what it hears from every instance, before anyone else hears it
    /// (so a subscriber told of a revocation finds it refused here too).
    pub fn listen(self: &Arc<Self>, revocations: &Revocations) {
        if self.caches.is_none() {
            return;
        }
        let cache = Arc::downgrade(self);
        revocations.hear_first(move |heard| {
            let Some(cache) = cache.upgrade() else { return };
            match heard {
                Ok(Announcement::Revoked(revocation)) => cache.forget(&[revocation], &[]),
                Ok(Announcement::UserChanged(user)) => cache.forget(&[], &[user]),
                Err(_missed) => cache.forget_all(),
            }
        });
    }

    /// The remembered answer for this session of this user, if it may be used:
    /// the broadcast is connected and has been since it was kept, and the
    /// session has not run out meanwhile.
    pub fn get(&self, session: Uuid, user: Uuid, now: DateTime<Utc>) -> Option<ActiveSession> {
        let (sessions, users) = self.caches.as_ref()?;
        let link = *self.link.borrow();
        if !link.connected {
            return None;
        }
        let cached = sessions.get(&session)?;
        if cached.user_id != user || cached.epoch != link.epoch || cached.until <= now {
            return None;
        }
        let cached = users.get(&user)?;
        (cached.epoch == link.epoch).then_some(cached.active)
    }

    /// Before reading the database; `None`: whatever is read is not kept.
    pub fn ticket(&self) -> Option<Ticket> {
        self.caches.as_ref()?;
        let drops = self.drops.load(Ordering::SeqCst);
        let link = *self.link.borrow();
        link.connected.then_some(Ticket {
            drops,
            epoch: link.epoch,
        })
    }

    /// Keeps what the database answered, unless something was dropped or the
    /// broadcast lost its connection since the ticket was taken (the answer may
    /// predate that change). Kept first and checked after, so that a drop
    /// racing this call either is seen here or removes the entry itself.
    pub fn keep(
        &self,
        ticket: Ticket,
        session: Uuid,
        row: &SessionUserRow,
        active: &ActiveSession,
    ) {
        let Some((sessions, users)) = self.caches.as_ref() else {
            return;
        };
        let user_id = row.user.id;
        let until = row.session_idle_expires_at.min(row.session_expires_at);
        let epoch = ticket.epoch;
        sessions.insert(
            session,
            CachedSession {
                user_id,
                until,
                epoch,
            },
        );
        let active = active.clone();
        users.insert(user_id, CachedUser { active, epoch });
        let link = *self.link.borrow();
        let unchanged = self.drops.load(Ordering::SeqCst) == ticket.drops;
        if !(unchanged && link.connected && link.epoch == epoch) {
            sessions.invalidate(&session);
            users.invalidate(&user_id);
        }
    }

    /// Forgets revoked sessions and changed users (counted first: see `keep`).
    pub fn forget(&self, revoked: &[Revocation], users_changed: &[Uuid]) {
        let Some((sessions, users)) = self.caches.as_ref() else {
            return;
        };
        self.drops.fetch_add(1, Ordering::SeqCst);
        for revocation in revoked {
            sessions.invalidate(&revocation.session_id);
        }
        for user in users_changed {
            users.invalidate(user);
        }
    }

    /// Some announcements may have been missed: nothing remembered is trusted.
    fn forget_all(&self) {
        let Some((sessions, users)) = self.caches.as_ref() else {
            return;
        };
        self.drops.fetch_add(1, Ordering::SeqCst);
        sessions.invalidate_all();
        users.invalidate_all();
    }
}

impl From<&SessionUserRow> for ActiveSession {
    fn from(row: &SessionUserRow) -> Self {
        Self {
            user: User::from(&row.user),
            mfa_enabled: row.mfa_enabled,
        }
    }
}

impl super::Accounts {
    /// The live session `session` of `user`: from memory when it may be
    /// trusted, else from the database (and then remembered). `None`: revoked,
    /// ended, or not this user's.
    pub(super) async fn active_session(
        &self,
        session: Uuid,
        user: Uuid,
    ) -> super::AccountResult<Option<ActiveSession>> {
        let now = self.clock.now();
        if let Some(active) = self.sessions.get(session, user, now) {
            return Ok(Some(active));
        }
        let ticket = self.sessions.ticket();
        let mut db = self.store.connection().await?;
        let Some(row) = db.active_session_user(session, user, now).await? else {
            return Ok(None);
        };
        let active = ActiveSession::from(&row);
        if let Some(ticket) = ticket {
            self.sessions.keep(ticket, session, &row, &active);
        }
        Ok(Some(active))
    }
}
