//! Managing the second factor: enrolling a TOTP authenticator, confirming it
//! (which turns MFA on and hands out recovery codes), new recovery codes, and
//! turning it off. Every code check spends the MFA rate limits.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::EventKind;
use super::crypto::Verified;
use super::crypto::one_time_codes::{
    new_recovery_codes, new_totp_secret, otpauth_uri, recovery_code_digest, totp_secret_base32,
    totp_step,
};
use super::error::AccountError;
use super::outcomes::{Caller, ClientContext, TotpEnrolment};
use super::unit_of_work::Work;
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::mail::Notice;
use crate::secrets::Purpose;
use crate::store::{RevokeScope, TotpRow};

/// What proves the caller when turning the second factor off.
#[derive(Debug)]
pub enum MfaProof {
    Password(String),
    Code(String),
}

impl Accounts {
    /// Whether the user has a confirmed authenticator (`mfa_enabled`).
    pub(super) async fn mfa_enabled(&self, user: Uuid) -> AccountResult<bool> {
        let mut db = self.store.connection().await?;
        let totp = db.totp(user).await?;
        Ok(totp.is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// Starts (or restarts) enrolment: a new secret, inert until confirmed.
    /// Refused while a confirmed authenticator exists (turn it off first).
    pub async fn start_totp(&self, caller: &Caller) -> AccountResult<TotpEnrolment> {
        let secret = new_totp_secret()?;
        let sealed = self.secrets.seal(Purpose::TotpSecret, &secret)?;
        let mut work = self.begin().await?;
        if !work
            .start_totp(caller.user.id, &sealed, self.clock.now())
            .await?
        {
            return Err(AccountError::MfaAlreadyEnabled);
        }
        work.commit().await?;
        let issuer = &self.config.product_name;
        Ok(TotpEnrolment {
            secret: totp_secret_base32(&secret),
            otpauth_uri: otpauth_uri(&secret, issuer, &caller.user.email),
        })
    }

    /// Confirms an enrolment with a code from the authenticator: MFA is on from
    /// now, and the first set of recovery codes is returned (shown once).
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        code: &str,
        client: &ClientContext,
    ) -> AccountResult<Vec<String>> {
        self.limit_mfa(&caller.user.email, client).await?;
        let user = caller.user.id;
        let now = self.clock.now();
        let mut work = self.begin().await?;
        match work.totp(user).await? {
            Some(t) if t.confirmed_at.is_some() => return Err(AccountError::MfaAlreadyEnabled),
            Some(t) if self.accept_totp(&mut work, user, &t, code, now).await? => {}
            _ => return Err(AccountError::InvalidCode),
        }
        work.confirm_totp(user, now).await?;
        let codes = self.replace_recovery_codes(&mut work, user, now).await?;
        let enabled = EventKind::MfaEnabled;
        work.event(enabled, Some(user), Some(caller.session_id), client, now)
            .await?;
        let to = &caller.user.email;
        self.notify(&mut work, to, Notice::MfaEnabled, now).await?;
        work.commit().await?;
        Ok(codes)
    }

    /// A fresh set of recovery codes for a code from the authenticator; the old
    /// set stops working.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        code: &str,
        client: &ClientContext,
    ) -> AccountResult<Vec<String>> {
        self.limit_mfa(&caller.user.email, client).await?;
        let user = caller.user.id;
        let now = self.clock.now();
        let mut work = self.begin().await?;
        match work.totp(user).await? {
            Some(t)
                if t.confirmed_at.is_some()
                    && self.accept_totp(&mut work, user, &t, code, now).await? => {}
            _ => return Err(AccountError::InvalidCode),
        }
        let codes = self.replace_recovery_codes(&mut work, user, now).await?;
        let to = &caller.user.email;
        self.notify(&mut work, to, Notice::RecoveryCodesReplaced, now)
            .await?;
        work.commit().await?;
        Ok(codes)
    }

    /// Turns the second factor off, proven by the password or a code; every
    /// other session is revoked (the caller's stays).
    pub async fn disable_totp(
        &self,
        caller: &Caller,
        proof: MfaProof,
        client: &ClientContext,
    ) -> AccountResult<()> {
        self.limit_mfa(&caller.user.email, client).await?;
        let user = caller.user.id;
        let proven = match proof {
            MfaProof::Password(password) => {
                let mut db = self.store.connection().await?;
                let stored = db.user_by_id(user).await?.map(|u| u.password_hash);
                drop(db);
                self.check_password(&password, stored).await? != Verified::No
            }
            MfaProof::Code(code) => {
                let now = self.clock.now();
                let mut work = self.begin().await?;
                let accepted = match work.totp(user).await? {
                    Some(t) if t.confirmed_at.is_some() => {
                        self.accept_totp(&mut work, user, &t, &code, now).await?
                    }
                    _ => false,
                };
                work.commit().await?;
                accepted
            }
        };
        if !proven {
            return Err(AccountError::WrongPasswordOrCode);
        }
        let now = self.clock.now();
        let mut work = self.begin().await?;
        let was_enabled = work
            .totp(user)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        work.delete_mfa(user).await?;
        let others = RevokeScope::AllExcept(caller.session_id);
        work.revoke_sessions(user, others, "mfa_disabled", now)
            .await?;
        if was_enabled {
            let disabled = EventKind::MfaDisabled;
            work.event(disabled, Some(user), Some(caller.session_id), client, now)
                .await?;
            let to = &caller.user.email;
            self.notify(&mut work, to, Notice::MfaDisabled, now).await?;
        }
        work.commit().await
    }

    /// Whether `code` is the authenticator's code now (±1 step) of a step not
    /// accepted before; if so, that step is spent in `work`, so the code is
    /// accepted once, on any instance.
    pub(super) async fn accept_totp(
        &self,
        work: &mut Work,
        user: Uuid,
        totp: &TotpRow,
        code: &str,
        now: DateTime<Utc>,
    ) -> AccountResult<bool> {
        let secret = self
            .secrets
            .open(Purpose::TotpSecret, &totp.sealed_secret)
            .map_err(|_| {
                anyhow::anyhow!("the TOTP secret of {user} does not open with SECRETS_KEY")
            })?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        match totp_step(&secret, &code, now.timestamp())? {
            Some(step) => Ok(work.spend_totp_step(user, step).await?),
            None => Ok(false),
        }
    }

    /// Replaces the user's recovery codes with a fresh set; returns it.
    async fn replace_recovery_codes(
        &self,
        work: &mut Work,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> AccountResult<Vec<String>> {
        let codes = new_recovery_codes()?;
        let digests: Vec<[u8; 32]> = codes.iter().map(|c| recovery_code_digest(c)).collect();
        work.replace_recovery_codes(user, &digests, now).await?;
        Ok(codes)
    }

    /// Spends the MFA budgets of the client and of the account.
    pub(super) async fn limit_mfa(&self, email: &str, client: &ClientContext) -> AccountResult<()> {
        self.limit_client(Policy::LoginMfa, client).await?;
        self.limit_account(Policy::LoginMfaAccount, email).await
    }
}
