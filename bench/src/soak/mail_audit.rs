//! Was every verification mail delivered, and only once? After the load, a
//! marker account registers and the soak waits for its mail: the outbox sends
//! in the order mail was queued, so once the marker's has arrived, so has
//! every mail the soak's registrations queued before it. Then each registered
//! address must have exactly one verification mail; anything else delivered
//! (another kind, an address nobody registered, a Message-ID seen twice) is
//! unexpected.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;

use super::journey::Plan;
use super::mailbox::{Delivered, Mailbox};
use crate::load::{Connection, request};
use crate::scenarios::PASSWORD;

/// Longest wait for the marker's mail once it registered.
const MARKER_WAIT: Duration = Duration::from_secs(60);

/// Registers the marker and waits for its mail: its address once delivered.
pub async fn deliver_marker(plan: &Plan, mailbox: &Mailbox) -> anyhow::Result<String> {
    let marker = format!("soak-{}-marker@example.com", plan.run_id);
    let body = json!({"email": marker, "password": PASSWORD}).to_string();
    let mut connection = Connection::open(plan.addr).await?;
    let (status, text) = connection
        .send(request("POST", "/register", None, Some(body)))
        .await?;
    anyhow::ensure!(
        status == hyper::StatusCode::ACCEPTED,
        "the marker's registration answered {status}: {}",
        String::from_utf8_lossy(&text)
    );
    match mailbox.first_to(&marker, MARKER_WAIT).await {
        Some(_) => Ok(marker),
        None => anyhow::bail!(
            "the marker's verification mail did not arrive within {MARKER_WAIT:?}: mail delivery stalled"
        ),
    }
}

#[derive(Default)]
pub struct MailAudit {
    pub registrations: usize,
    /// Verification mails to registered addresses.
    pub verification_mails: usize,
    /// Registered addresses that got no verification mail.
    pub lost: Vec<String>,
    /// Registered addresses that got more than one.
    pub duplicated: Vec<String>,
    /// Messages whose Message-ID an earlier message had.
    pub repeated_ids: usize,
    /// Anything else delivered: "to: subject".
    pub unexpected: Vec<String>,
    /// Every message delivered, the marker's included.
    pub delivered: usize,
}

pub fn audit(
    registered: &[String],
    delivered: &Delivered,
    marker: &str,
    verify_link: &str,
) -> MailAudit {
    let registered_set: HashSet<String> = registered.iter().map(|a| a.to_lowercase()).collect();
    let mut verifications: HashMap<&str, usize> = HashMap::new();
    let mut ids = HashSet::new();
    let mut audit = MailAudit {
        registrations: registered.len(),
        delivered: delivered.all.len(),
        ..MailAudit::default()
    };
    for mail in &delivered.all {
        if let Some(id) = &mail.message_id
            && !ids.insert(id.as_str())
        {
            audit.repeated_ids += 1;
        }
        let to = mail.rcpt_to.join(", ");
        let is_verification = mail.token_after(verify_link).is_some();
        match mail.rcpt_to.as_slice() {
            [one] if one == marker => {}
            [one] if is_verification && registered_set.contains(one) => {
                *verifications.entry(one.as_str()).or_default() += 1;
                audit.verification_mails += 1;
            }
            _ => audit.unexpected.push(format!("{to}: {:?}", mail.subject)),
        }
    }
    for address in registered {
        match verifications.get(address.to_lowercase().as_str()) {
            None => audit.lost.push(address.clone()),
            Some(1) => {}
            Some(_) => audit.duplicated.push(address.clone()),
        }
    }
    audit
}
