//! Which audit events are announced as webhooks, and what a webhook says. The
//! body is made here, when the event is recorded, and queued in the same
//! transaction (see `unit_of_work.rs`); the webhook worker only signs and
//! delivers it. A body holds ids, the client's address and user agent, and
//! times: never a password, token, code or link.

use chrono::SecondsFormat;
use serde::Serialize;
use uuid::Uuid;

use crate::store::{NewEvent, NewWebhook};

/// The webhook type of an audit event kind; `None` for kinds that are not
/// announced (failed logins and challenges, requests for links, passkeys added
/// or removed, recovery codes used).
pub(super) fn webhook_type(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "registered" => "user.registered",
        "email_verified" => "user.email_verified",
        "login_succeeded" => "session.created",
        "logged_out" | "session_revoked" => "session.revoked",
        "refresh_token_reused" => "refresh_token.reused",
        "password_reset_completed" => "password.reset",
        "password_changed" => "password.changed",
        // Recorded by the admin API.
        "user_disabled" => "user.disabled",
        "user_deleted" => "user.deleted",
        "mfa_enabled" => "mfa.enabled",
        "mfa_disabled" => "mfa.disabled",
        _ => return None,
    })
}

/// The JSON body of every webhook (the Standard Webhooks shape).
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    /// When the event happened (RFC 3339, microseconds, UTC).
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    user_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
}

/// The webhook announcing `event`, or `None` when its kind is not announced or
/// it names no user.
pub(super) fn webhook_of(event: &NewEvent) -> Option<NewWebhook> {
    let event_type = webhook_type(event.kind)?;
    let body = Body {
        event_type,
        timestamp: event
            .created_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        data: Data {
            user_id: event.user_id?,
            session_id: event.session_id,
            ip: event.ip.as_deref(),
            user_agent: event.user_agent.as_deref(),
        },
    };
    Some(NewWebhook {
        // A UUIDv7 sorts in the order webhooks were made, which is the order
        // they are delivered in.
        id: format!("msg_{}", Uuid::now_v7().simple()),
        event_type,
        payload: serde_json::to_string(&body).ok()?,
        created_at: event.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_kinds_are_announced() {
        assert_eq!(webhook_type("login_succeeded"), Some("session.created"));
        assert_eq!(webhook_type("logged_out"), Some("session.revoked"));
        assert_eq!(webhook_type("user_deleted"), Some("user.deleted"));
        for quiet in ["login_failed", "password_reset_requested", "passkey_added"] {
            assert_eq!(webhook_type(quiet), None, "{quiet}");
        }
    }
}
