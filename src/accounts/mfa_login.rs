//! The second step of a login. The password step hands out an `mfa_token`
//! (stored as its SHA-256, alive 5 minutes); `login_mfa` trades it and a code
//! from the authenticator, or a recovery code, for a session. The token is spent
//! by the success, and dies after 5 wrong codes.

use chrono::{DateTime, Duration, Utc};

use super::audit::EventKind;
use super::auth_method::AuthMethod;
use super::crypto::one_time_codes::recovery_code_digest;
use super::crypto::{OpaqueToken, TokenHash, looks_like_token};
use super::error::AccountError;
use super::outcomes::{ClientContext, MfaChallenge, SecondFactor, TokenPair};
use super::{AccountResult, Accounts};
use crate::store::{MfaChallengeRow, UserRow};

/// How long an `mfa_token` lives.
const MFA_TOKEN_TTL_SECS: i64 = 300;
/// Wrong codes an `mfa_token` survives: the fifth kills it.
const MFA_MAX_FAILURES: i32 = 5;

impl Accounts {
    /// Opens the MFA step of a login whose password was right.
    /// `methods` lists `passkey` too when the user has one (and passkeys are on).
    pub(super) async fn start_mfa_step(&self, user: &UserRow) -> AccountResult<MfaChallenge> {
        let token = OpaqueToken::generate()?;
        let now = self.clock.now();
        let expires_at = now + Duration::seconds(MFA_TOKEN_TTL_SECS);
        let mut db = self.store.connection().await?;
        db.insert_mfa_challenge(&token.hash.0, user.id, now, expires_at)
            .await?;
        let mut methods = vec!["totp", "recovery_code"];
        if self.passkeys_enabled() && !db.passkeys_of(user.id).await?.is_empty() {
            methods.push("passkey");
        }
        Ok(MfaChallenge {
            mfa_token: token.plaintext,
            methods,
            expires_in: MFA_TOKEN_TTL_SECS,
        })
    }

    /// Finishes a login with its second factor. Every attempt spends the MFA
    /// budgets of the client and of the account (as a password guess does).
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        factor: SecondFactor,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        let result = self.second_step(mfa_token, factor, client).await;
        self.count_login("mfa", &result);
        result
    }

    async fn second_step(
        &self,
        mfa_token: &str,
        factor: SecondFactor,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        self.limit_client(crate::limits::Policy::LoginMfa, client)
            .await?;
        let now = self.clock.now();
        let (digest, user) = self.live_challenge(mfa_token, now).await?;
        self.limit_account(crate::limits::Policy::LoginMfaAccount, &user.email)
            .await?;
        // A passkey proves itself in transactions of its own (it takes its
        // challenge and stores its counter), so before this step's begins.
        let passkey_proved = match &factor {
            SecondFactor::Passkey {
                challenge_id,
                credential,
            } => {
                self.passkey_of_user(&user, challenge_id, credential.clone(), client)
                    .await?
            }
            _ => false,
        };
        let mut work = self.begin().await?;
        // Spent first, under the write lock: of two concurrent answers, one wins.
        let max_failures = i64::from(MFA_MAX_FAILURES);
        if !work.spend_mfa_challenge(&digest, max_failures, now).await? {
            return Err(AccountError::InvalidMfaToken);
        }
        let method = match &factor {
            SecondFactor::Totp(code) => {
                let totp = work.totp(user.id).await?;
                let accepted = match totp {
                    Some(t) if t.confirmed_at.is_some() => {
                        self.accept_totp(&mut work, user.id, &t, code, now).await?
                    }
                    _ => false,
                };
                accepted.then_some(AuthMethod::PasswordTotp)
            }
            SecondFactor::RecoveryCode(code) => {
                let digest = recovery_code_digest(code);
                let spent = work.spend_recovery_code(user.id, &digest, now).await?;
                spent.then_some(AuthMethod::PasswordRecoveryCode)
            }
            SecondFactor::Passkey { .. } => passkey_proved.then_some(AuthMethod::PasswordPasskey),
        };
        let Some(method) = method else {
            drop(work);
            return Err(self.second_factor_failed(&digest, &user, client, now).await);
        };
        if method == AuthMethod::PasswordRecoveryCode {
            let used = EventKind::RecoveryCodeUsed;
            work.event(used, Some(user.id), None, client, now).await?;
        }
        let pair = self.start_session(&mut work, &user, method, client).await?;
        work.commit().await?;
        Ok(pair)
    }

    /// Whether the answer to a passkey login challenge verifies with one of
    /// `user`'s passkeys. A refused ceremony, or another user's passkey, is a
    /// wrong second factor like a wrong code; other errors are errors.
    async fn passkey_of_user(
        &self,
        user: &UserRow,
        challenge_id: &str,
        credential: serde_json::Value,
        client: &ClientContext,
    ) -> AccountResult<bool> {
        match self
            .verify_passkey_assertion(challenge_id, credential, client)
            .await
        {
            Ok(login) => Ok(login.user.id == user.id),
            Err(AccountError::PasskeyLoginFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The hash of a presented `mfa_token` that is unused, unexpired and not
    /// exhausted, and its user; `InvalidMfaToken` otherwise.
    async fn live_challenge(
        &self,
        mfa_token: &str,
        now: DateTime<Utc>,
    ) -> AccountResult<([u8; 32], UserRow)> {
        if !looks_like_token(mfa_token) {
            return Err(AccountError::InvalidMfaToken);
        }
        let digest = TokenHash::of(mfa_token).0;
        let mut db = self.store.connection().await?;
        let live = |c: &MfaChallengeRow| {
            c.used_at.is_none() && c.expires_at > now && c.failed_attempts < MFA_MAX_FAILURES
        };
        let Some(challenge) = db.mfa_challenge(&digest).await?.filter(live) else {
            return Err(AccountError::InvalidMfaToken);
        };
        let user = db.user_by_id(challenge.user_id).await?;
        let user = user.ok_or(AccountError::InvalidMfaToken)?;
        Ok((digest, user))
    }

    /// Counts a wrong code against the token and records it; the error to answer.
    async fn second_factor_failed(
        &self,
        digest: &[u8; 32],
        user: &UserRow,
        client: &ClientContext,
        now: DateTime<Utc>,
    ) -> AccountError {
        let recorded = async {
            let mut work = self.begin().await?;
            work.fail_mfa_challenge(digest).await?;
            let failed = EventKind::MfaChallengeFailed;
            work.event(failed, Some(user.id), None, client, now).await?;
            work.commit().await
        };
        match recorded.await {
            Ok(()) => AccountError::SecondFactorRejected,
            Err(e) => e,
        }
    }
}
