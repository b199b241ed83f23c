//! Passkeys (WebAuthn): registering one for a logged-in user, listing and
//! removing them, and logging in with one (`login.rs`). The ceremonies run on
//! webauthn-rs (`ceremony.rs`); their state waits in the database between the
//! two requests of a ceremony, for five minutes, and is taken once.

mod ceremony;
mod login;

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::audit::EventKind;
use super::error::{AccountError, InvalidField};
use super::outcomes::{Caller, ClientContext};
use super::{AccountResult, Accounts};
use crate::config::Config;
use crate::mail::Notice;
use crate::store::{NewChallenge, NewPasskey, PasskeyRow};
pub(crate) use ceremony::Ceremonies;
use ceremony::Refused;

pub use login::PasskeyLogin;

/// How long a ceremony may take, as webauthn-rs tells the browser (its timeout).
const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// A passkey registered without a name is called this.
const DEFAULT_NAME: &str = "Passkey";

const REGISTER: &str = "register";
const LOGIN: &str = "login";

/// The first half of a ceremony: what to pass to `navigator.credentials.create()`
/// or `.get()`, and the id to send back with the browser's answer.
#[derive(Debug)]
pub struct PasskeyChallenge {
    pub challenge_id: Uuid,
    pub options: Value,
}

/// A passkey as its owner sees it.
#[derive(Debug)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<PasskeyRow> for PasskeyInfo {
    fn from(row: PasskeyRow) -> Self {
        PasskeyInfo {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The relying party of this configuration, or `None` (passkeys off, warned).
pub(super) fn ceremonies(config: &Config) -> anyhow::Result<Option<Ceremonies>> {
    let Some(rp) = config.relying_party()? else {
        tracing::warn!(
            public_url = %config.public_url(),
            "passkeys are off: PUBLIC_URL has no domain name to be their relying party; \
             set WEBAUTHN_ORIGIN (and WEBAUTHN_RP_ID) to turn them on"
        );
        return Ok(None);
    };
    Ok(Some(Ceremonies::new(&rp, &config.product_name)?))
}

impl Accounts {
    /// Whether passkeys are on (a relying party could be made of the configuration).
    pub(crate) fn passkeys_enabled(&self) -> bool {
        self.passkeys.is_some()
    }

    fn ceremonies(&self) -> AccountResult<&Ceremonies> {
        self.passkeys
            .as_ref()
            .ok_or(AccountError::PasskeysUnavailable)
    }

    /// Begins registering a passkey for the caller. The authenticator stores the
    /// user's random handle (never the email) and is asked not to register a
    /// second credential where the user has one already.
    pub async fn start_passkey_registration(
        &self,
        caller: &Caller,
    ) -> AccountResult<PasskeyChallenge> {
        let ceremonies = self.ceremonies()?;
        let user = &caller.user;
        let mut db = self.store.connection().await?;
        let handle = db.passkey_user_handle(user.id).await?;
        let exclude = db.passkeys_of(user.id).await?;
        let exclude = exclude.into_iter().map(|p| p.credential_id).collect();
        let display_name = user.name.as_deref().unwrap_or(&user.email);
        let (options, state) =
            ceremonies.start_registration(handle, &user.email, display_name, exclude)?;
        let challenge_id = self
            .store_challenge(REGISTER, Some(user.id), &state)
            .await?;
        Ok(PasskeyChallenge {
            challenge_id,
            options,
        })
    }

    /// Finishes a registration the caller began (on any instance): the browser's
    /// answer must prove a new credential for this challenge.
    pub async fn finish_passkey_registration(
        &self,
        caller: &Caller,
        challenge_id: &str,
        name: Option<String>,
        credential: Value,
        client: &ClientContext,
    ) -> AccountResult<PasskeyInfo> {
        let ceremonies = self.ceremonies()?;
        InvalidField::reject_nul("name", name.as_deref().unwrap_or_default())?;
        let user = caller.user.id;
        let state = self
            .take_challenge(challenge_id, REGISTER, Some(user))
            .await?
            .ok_or(AccountError::InvalidPasskey)?;
        let passkey = ceremonies
            .finish_registration(&state, credential)
            .map_err(|refused| {
                tracing::debug!(?refused, "passkey registration refused");
                AccountError::InvalidPasskey
            })?;
        // Microseconds, as PostgreSQL keeps them: the answer matches later lists.
        let now = self.clock.now().trunc_subsecs(6);
        let name = name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        let credential = serde_json::to_string(&passkey).map_err(anyhow::Error::from)?;
        let row = NewPasskey {
            id: Uuid::new_v4(),
            user_id: user,
            credential_id: passkey.cred_id().as_slice(),
            name: &name,
            credential: &credential,
            sign_count: 0,
            created_at: now,
        };
        let mut work = self.begin().await?;
        work.insert_passkey(&row).await?;
        let added = EventKind::PasskeyAdded;
        work.event(added, Some(user), Some(caller.session_id), client, now)
            .await?;
        let to = &caller.user.email;
        self.notify(&mut work, to, Notice::PasskeyAdded, now)
            .await?;
        work.commit().await?;
        Ok(PasskeyInfo {
            id: row.id,
            name,
            created_at: now,
            last_used_at: None,
        })
    }

    /// The caller's passkeys, oldest first.
    pub async fn passkeys(&self, caller: &Caller) -> AccountResult<Vec<PasskeyInfo>> {
        let mut db = self.store.connection().await?;
        let rows = db.passkeys_of(caller.user.id).await?;
        Ok(rows.into_iter().map(PasskeyInfo::from).collect())
    }

    /// Removes one of the caller's passkeys; anyone else's is not found.
    pub async fn remove_passkey(
        &self,
        caller: &Caller,
        id: Uuid,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let user = caller.user.id;
        let mut work = self.begin().await?;
        if !work.delete_passkey(user, id).await? {
            return Err(AccountError::PasskeyNotFound);
        }
        let removed = EventKind::PasskeyRemoved;
        work.event(removed, Some(user), Some(caller.session_id), client, now)
            .await?;
        let to = &caller.user.email;
        self.notify(&mut work, to, Notice::PasskeyRemoved, now)
            .await?;
        work.commit().await
    }

    /// Keeps a ceremony's state until it is finished or expires.
    async fn store_challenge(
        &self,
        purpose: &str,
        user: Option<Uuid>,
        state: &str,
    ) -> AccountResult<Uuid> {
        let now = self.clock.now();
        let challenge = NewChallenge {
            id: Uuid::new_v4(),
            purpose,
            user_id: user,
            state,
            created_at: now,
            expires_at: now + CHALLENGE_TTL,
        };
        let mut db = self.store.connection().await?;
        db.insert_challenge(&challenge).await?;
        Ok(challenge.id)
    }

    /// Takes a ceremony's state: `None` when unknown, expired, used, or another
    /// user's. Taken whatever the outcome, so each challenge is answered once.
    async fn take_challenge(
        &self,
        id: &str,
        purpose: &str,
        user: Option<Uuid>,
    ) -> AccountResult<Option<String>> {
        // An id that is not a UUID is as unknown as any other.
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let mut db = self.store.connection().await?;
        let now = self.clock.now();
        Ok(db.take_challenge(id, purpose, user, now).await?)
    }
}
