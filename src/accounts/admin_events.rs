//! The audit trail across users, for operators (GET /admin/events).

use uuid::Uuid;

use super::admin::AdminCaller;
use super::outcomes::Event;
use super::{AccountResult, Accounts};
use crate::store::EventFilter;

/// One event of any user, with who did it.
#[derive(Debug)]
pub struct AdminEvent {
    pub event: Event,
    /// The user it concerns (kept after the user is deleted); `None` for a failed
    /// login with an unknown email.
    pub user_id: Option<Uuid>,
    /// The admin key's name for an operator's action; `None` otherwise.
    pub actor: Option<String>,
}

/// A page of events, newest first.
#[derive(Debug)]
pub struct AdminEventPage {
    pub events: Vec<AdminEvent>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next_before: Option<Uuid>,
}

impl Accounts {
    /// Events of every user (or of `user_id`, or of one `kind`), newest first:
    /// `limit` of them, older than the event `before` when given.
    pub async fn admin_events(
        &self,
        _caller: &AdminCaller,
        user_id: Option<Uuid>,
        kind: Option<String>,
        before: Option<Uuid>,
        limit: u32,
    ) -> AccountResult<AdminEventPage> {
        let filter = EventFilter {
            user_id,
            kind,
            before,
        };
        let mut db = self.store.connection().await?;
        // One row more than asked tells whether an older page exists.
        let mut rows = db.admin_events(&filter, limit + 1).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_before = more.then(|| rows.last().map(|r| r.event.id)).flatten();
        let events = rows
            .into_iter()
            .map(|row| AdminEvent {
                user_id: row.user_id,
                actor: row.actor,
                event: Event {
                    id: row.event.id,
                    kind: row.event.kind,
                    method: row.event.method,
                    created_at: row.event.created_at,
                    session_id: row.event.session_id,
                    ip: row.event.ip,
                    user_agent: row.event.user_agent,
                },
            })
            .collect();
        Ok(AdminEventPage {
            events,
            next_before,
        })
    }
}
