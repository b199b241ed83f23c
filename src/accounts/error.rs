//! The core's one error type: what a flow can refuse, in its own words. Each
//! door maps it once (problem+json for HTTP).

use super::crypto::HashError;
use crate::limits::Refusal;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Unknown email or wrong password: the same answer for both.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Only ever answered after a correct password.
    #[error("email not verified")]
    EmailNotVerified,
    /// Registration with verification off only; with it on, a taken email is not
    /// revealed.
    #[error("email taken")]
    EmailTaken,
    /// Unknown, expired, revoked or reused refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// No access token was presented.
    #[error("no access token")]
    MissingAccessToken,
    /// Malformed, expired or foreign access token, or one whose session ended.
    #[error("invalid access token")]
    InvalidAccessToken,
    /// Unknown, expired or used single-use email token.
    #[error("invalid email token")]
    InvalidEmailToken,
    /// Logout with neither an access token nor a refresh token.
    #[error("no credentials")]
    MissingCredentials,
    /// Wrong current password on a password change (the caller is logged in).
    #[error("wrong current password")]
    WrongCurrentPassword,
    /// A wrong password or authenticator code where either proves the caller
    /// (turning off the second factor).
    #[error("wrong password or code")]
    WrongPasswordOrCode,
    /// A wrong or already used authenticator code while enrolling or managing
    /// the second factor.
    #[error("invalid code")]
    InvalidCode,
    /// A wrong authenticator code, or a used or unknown recovery code, at the
    /// login's second step.
    #[error("wrong second factor")]
    SecondFactorRejected,
    /// A used, expired, exhausted or unknown `mfa_token`.
    #[error("invalid mfa token")]
    InvalidMfaToken,
    /// Enrolment started while a confirmed authenticator exists.
    #[error("mfa already enabled")]
    MfaAlreadyEnabled,
    /// Introspection without a configured service key.
    #[error("invalid service key")]
    InvalidServiceKey,
    /// Input the core refuses, by the name of the field it came in (the v1 JSON
    /// names, e.g. `password`, `new_password`, `email`).
    #[error("invalid input")]
    InvalidInput(Vec<InvalidField>),
    /// Not one of the caller's active sessions.
    #[error("no such session")]
    SessionNotFound,
    /// Too many password checks already wait for a hashing slot: try again shortly.
    /// Answered whether or not the account exists, so it reveals nothing.
    #[error("password hashing is busy")]
    Busy,
    /// Too many requests: the rate limiter's refusal, with what a door needs to
    /// say when to come back.
    #[error("rate limited ({})", .0.policy)]
    RateLimited(Refusal),
    /// A passkey registration ceremony that failed: unknown, expired or used
    /// challenge, or a credential that does not verify (or is registered already).
    #[error("invalid passkey")]
    InvalidPasskey,
    /// A passkey login ceremony that failed, for whatever reason (told alike).
    #[error("passkey login failed")]
    PasskeyLoginFailed,
    /// Not one of the caller's passkeys.
    #[error("no such passkey")]
    PasskeyNotFound,
    /// Passkeys are off: no relying party could be derived (see WEBAUTHN_RP_ID).
    #[error("passkeys unavailable")]
    PasskeysUnavailable,
    /// The Admin API without a valid admin key (a user's access token is none).
    #[error("invalid admin key")]
    InvalidAdminKey,
    /// An operator disabled the account; only ever answered after a correct
    /// password (or another proof of the user).
    #[error("account disabled")]
    AccountDisabled,
    /// No user with this id (Admin API).
    #[error("no such user")]
    UserNotFound,
    /// The database cannot be reached (refused, unreachable, or no connection
    /// to be had in time): try again later.
    #[error("database unavailable")]
    Unavailable,
    /// Anything unexpected. The cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AccountError {
    /// The stable v1 machine code of this refusal: the `code` of the HTTP
    /// problem+json answer and the `error-code` of the gRPC status, from this one
    /// place so that the doors cannot drift apart.
    pub fn code(&self) -> &'static str {
        use AccountError::*;
        match self {
            InvalidCredentials | WrongCurrentPassword | WrongPasswordOrCode => {
                "invalid_credentials"
            }
            PasskeyLoginFailed => "invalid_credentials",
            EmailNotVerified => "email_not_verified",
            EmailTaken => "email_taken",
            InvalidRefreshToken => "invalid_refresh_token",
            InvalidAccessToken | MissingAccessToken | InvalidEmailToken => "invalid_token",
            MissingCredentials => "unauthorized",
            InvalidCode | SecondFactorRejected => "invalid_code",
            InvalidMfaToken => "invalid_mfa_token",
            MfaAlreadyEnabled => "mfa_already_enabled",
            InvalidServiceKey => "invalid_client",
            InvalidInput(_) => "validation_failed",
            SessionNotFound | PasskeyNotFound | UserNotFound => "not_found",
            InvalidAdminKey => "invalid_admin_key",
            AccountDisabled => "account_disabled",
            InvalidPasskey => "invalid_passkey",
            PasskeysUnavailable => "passkeys_unavailable",
            Busy => "service_unavailable",
            RateLimited(_) => "rate_limited",
            Unavailable => "service_unavailable",
            Internal(_) => "internal_error",
        }
    }
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => AccountError::EmailTaken,
            StoreError::PasskeyTaken => AccountError::InvalidPasskey,
            StoreError::AdminKeyNameTaken => AccountError::Internal(e.into()),
            e @ StoreError::Database(_) if e.is_unreachable() => AccountError::Unavailable,
            StoreError::Database(e) => AccountError::Internal(e.into()),
        }
    }
}

/// One refused input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub message: &'static str,
}

impl InvalidField {
    /// PostgreSQL cannot store a NUL character in text; no email or name has one.
    pub fn reject_nul(field: &'static str, value: &str) -> Result<(), AccountError> {
        if value.contains('\0') {
            let message = "must not contain NUL characters";
            return Err(AccountError::InvalidInput(vec![InvalidField {
                field,
                message,
            }]));
        }
        Ok(())
    }
}

impl From<HashError> for AccountError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AccountError::Busy,
            HashError::Failed(e) => AccountError::Internal(e),
        }
    }
}

impl From<Refusal> for AccountError {
    fn from(refusal: Refusal) -> Self {
        AccountError::RateLimited(refusal)
    }
}

pub type AccountResult<T> = Result<T, AccountError>;
