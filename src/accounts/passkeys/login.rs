//! Logging in with a passkey alone: a discoverable credential names its user
//! (by the random handle), so no email is asked.
//!
//! The proof (`verify_passkey_assertion`) is kept apart from starting the
//! session: a second-factor step can use the same proof for the user its first
//! factor named, and the session it starts can carry how the user logged in.

use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::Passkey;

use super::{LOGIN, PasskeyChallenge, Refused};
use crate::accounts::audit::EventKind;
use crate::accounts::auth_method::AuthMethod;
use crate::accounts::error::AccountError;
use crate::accounts::outcomes::{ClientContext, TokenPair};
use crate::accounts::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::store::UserRow;

/// A verified passkey login: whose it was, and which passkey.
#[derive(Debug)]
pub struct PasskeyLogin {
    pub user: UserRow,
    pub passkey_id: Uuid,
}

impl Accounts {
    /// Begins a passkey login: a challenge for any of this site's discoverable
    /// credentials. Spends the client's login budget (RATE_LIMIT_LOGIN).
    pub async fn start_passkey_login(
        &self,
        client: &ClientContext,
    ) -> AccountResult<PasskeyChallenge> {
        let ceremonies = self.ceremonies()?;
        self.limit_client(Policy::Login, client).await?;
        let (options, state) = ceremonies.start_login()?;
        let challenge_id = self.store_challenge(LOGIN, None, &state).await?;
        Ok(PasskeyChallenge {
            challenge_id,
            options,
        })
    }

    /// Finishes a passkey login (begun on any instance) with a new session. Every
    /// failure is the same `PasskeyLoginFailed`; why is logged.
    pub async fn finish_passkey_login(
        &self,
        challenge_id: &str,
        credential: Value,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        let result = self.passkey_login(challenge_id, credential, client).await;
        self.count_login("passkey", &result);
        result
    }

    async fn passkey_login(
        &self,
        challenge_id: &str,
        credential: Value,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        self.ceremonies()?;
        self.limit_client(Policy::Login, client).await?;
        let login = self
            .verify_passkey_assertion(challenge_id, credential, client)
            .await?;
        let user = login.user;
        if user.disabled_at.is_some() {
            return Err(AccountError::AccountDisabled);
        }
        if self.config.require_email_verification && user.email_verified_at.is_none() {
            return Err(AccountError::EmailNotVerified);
        }
        let mut work = self.begin().await?;
        let pair = self
            .start_session(&mut work, &user, AuthMethod::Passkey, client)
            .await?;
        work.commit().await?;
        Ok(pair)
    }

    /// Checks the browser's answer to a login challenge: the challenge is taken
    /// (once), the credential is a registered passkey of the user it names, the
    /// signature verifies with user verification, and the signature counter moved
    /// forward (a regression is refused and logged: a cloned authenticator, maybe).
    /// On success the passkey's counter and last use are stored.
    pub async fn verify_passkey_assertion(
        &self,
        challenge_id: &str,
        credential: Value,
        client: &ClientContext,
    ) -> AccountResult<PasskeyLogin> {
        let ceremonies = self.ceremonies()?;
        let refused = |why: &str| {
            tracing::info!(%challenge_id, why, "passkey login refused");
            AccountError::PasskeyLoginFailed
        };
        let state = self
            .take_challenge(challenge_id, LOGIN, None)
            .await?
            .ok_or_else(|| refused("unknown, expired or used challenge"))?;
        let (credential, handle, credential_id) = ceremonies
            .identify(credential)
            .ok_or_else(|| refused("unreadable credential or user handle"))?;
        let mut db = self.store.connection().await?;
        let row = db.passkey_by_credential_id(&credential_id).await?;
        let user = db.user_by_passkey_handle(handle).await?;
        drop(db);
        let (row, user) = match (row, user) {
            (Some(row), Some(user)) if row.user_id == user.id => (row, user),
            _ => return Err(refused("unknown credential, or not the named user's")),
        };
        let stored: Passkey = serde_json::from_str(&row.credential).map_err(anyhow::Error::from)?;
        let outcome = ceremonies.finish_login(&state, &credential, stored);
        let now = self.clock.now();
        let mut work = self.begin().await?;
        let (passkey, counter) = match outcome {
            Ok(done) => done,
            Err(why) => {
                let failed = EventKind::LoginFailed;
                work.event(failed, Some(user.id), None, client, now).await?;
                work.commit().await?;
                return Err(match why {
                    Refused::CounterRegressed => counter_regressed(&row),
                    Refused::Invalid(why) => refused(&why),
                });
            }
        };
        let credential = serde_json::to_string(&passkey).map_err(anyhow::Error::from)?;
        let counter = i64::from(counter);
        if !work
            .record_passkey_use(row.id, &credential, counter, now)
            .await?
        {
            // Another login with this counter value won the race (or it went back).
            return Err(counter_regressed(&row));
        }
        work.commit().await?;
        Ok(PasskeyLogin {
            user,
            passkey_id: row.id,
        })
    }
}

fn counter_regressed(row: &crate::store::PasskeyRow) -> AccountError {
    tracing::warn!(
        passkey = %row.id,
        user = %row.user_id,
        stored_sign_count = row.sign_count,
        "passkey signature counter did not move forward: refused (a cloned authenticator?)"
    );
    AccountError::PasskeyLoginFailed
}
