//! What operators do at the console (`auth-service users create`), through
//! the same flows as the Admin API, with `cli` as the actor of their events.

use super::admin::{AdminCaller, AdminUser, NewUserByAdmin};
use super::outcomes::ClientContext;
use super::{AccountResult, Accounts};

/// The actor recorded on the events of command-line actions.
const COMMAND_LINE: &str = "cli";

impl Accounts {
    /// `users create`: exactly the Admin API's create-user (without a
    /// password: a "set your password" mail, queued in the same transaction
    /// and sent by the outbox worker of a running instance).
    pub async fn create_user_at_console(&self, new: NewUserByAdmin) -> AccountResult<AdminUser> {
        let operator = AdminCaller {
            name: COMMAND_LINE.to_owned(),
        };
        self.create_user(&operator, new, &ClientContext::default())
            .await
    }
}
