//! Security notices (OWASP ASVS 2.2.3, 2.5.5): the owner of an account is mailed
//! after every change to how it logs in (password, second factor, recovery
//! codes, passkeys, the address itself), queued in the transaction of the change,
//! so a change that commits is always told and a refused one never is. The user
//! who did not make the change learns of it while they can still act: a stolen
//! session can add a factor without the password (see docs/SECURITY.md).
//!
//! Notices are not link mail, so the mail throttle does not hold them back: each
//! follows a change that is rate limited or needs a whole ceremony.

use chrono::{DateTime, Utc};

use super::unit_of_work::Work;
use super::{AccountResult, Accounts};
use crate::mail::Notice;
use crate::store::OutboxMessage;

impl Accounts {
    /// Queues `notice` to `to` in `work`.
    pub(super) async fn notify(
        &self,
        work: &mut Work,
        to: &str,
        notice: Notice,
        now: DateTime<Utc>,
    ) -> AccountResult<()> {
        let mail = self.composer.compose_notice(notice, to, now)?;
        work.mail(OutboxMessage::from(mail), now).await
    }
}
