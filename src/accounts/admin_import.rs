//! Bulk import of users with their password hashes from another system
//! (POST /admin/users/import). The hashes are kept as they are and upgraded to
//! the service's argon2id at each user's next login (see `login.rs`).

use uuid::Uuid;
use validator::ValidateEmail;

use super::admin::AdminCaller;
use super::audit::EventKind;
use super::crypto::imported_hashes;
use super::error::{AccountError, InvalidField};
use super::outcomes::ClientContext;
use super::{AccountResult, Accounts};
use crate::store::NewUser;

/// Most users one import may bring.
pub const MAX_IMPORT: usize = 1000;

/// One user to import (email trimmed).
pub struct ImportRow {
    pub email: String,
    /// A PHC string (`$argon2id$…`, `$argon2i$…`) or a bcrypt hash (`$2b$…`).
    pub password_hash: String,
    pub name: Option<String>,
    pub email_verified: bool,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub created: u32,
    pub skipped: Vec<Skipped>,
}

/// A row left out, and why: `email_taken` (in the database, or earlier in the
/// same import), `invalid_email`, `invalid_name`, `unsupported_hash`,
/// `malformed_hash`, `hash_too_costly`.
#[derive(Debug)]
pub struct Skipped {
    pub email: String,
    pub reason: &'static str,
}

impl Accounts {
    /// Imports up to [`MAX_IMPORT`] users in one transaction: either every
    /// acceptable row is created (each with a `user_imported` event) or, on an
    /// error, none is. Rows that cannot be imported are skipped with a reason.
    pub async fn import_users(
        &self,
        caller: &AdminCaller,
        rows: Vec<ImportRow>,
        client: &ClientContext,
    ) -> AccountResult<ImportReport> {
        if rows.len() > MAX_IMPORT {
            let message = "must have at most 1000 entries";
            let field = "users";
            return Err(AccountError::InvalidInput(vec![InvalidField {
                field,
                message,
            }]));
        }
        let now = self.clock.now();
        let mut report = ImportReport::default();
        let mut work = self.begin_as(caller).await?;
        for row in rows {
            if let Err(reason) = importable(&row) {
                let email = row.email;
                report.skipped.push(Skipped { email, reason });
                continue;
            }
            let user = NewUser {
                id: Uuid::new_v4(),
                email: row.email,
                password_hash: row.password_hash,
                name: row.name,
                created_at: now,
            };
            let verified_at = row.email_verified.then_some(now);
            if !work.import_user(&user, verified_at).await? {
                let (email, reason) = (user.email, "email_taken");
                report.skipped.push(Skipped { email, reason });
                continue;
            }
            let imported = EventKind::UserImported;
            work.event(imported, Some(user.id), None, client, now)
                .await?;
            report.created += 1;
        }
        work.commit().await?;
        Ok(report)
    }
}

/// Whether a row can be imported: the reason it cannot otherwise. The email
/// and name follow the rules of registration.
fn importable(row: &ImportRow) -> Result<(), &'static str> {
    let email = &row.email;
    if email.chars().count() > 254 || email.contains('\0') || !email.validate_email() {
        return Err("invalid_email");
    }
    if let Some(name) = &row.name
        && (name.chars().count() > 100 || name.contains('\0'))
    {
        return Err("invalid_name");
    }
    imported_hashes::check(&row.password_hash).map_err(imported_hashes::Refusal::reason)
}
