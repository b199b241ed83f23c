//! The core's one error type: what a flow can refuse, in its own words. Each
//! door maps it once (problem+json for HTTP).

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
    /// Introspection without a configured service key.
    #[error("invalid service key")]
    InvalidServiceKey,
    /// Not one of the caller's active sessions.
    #[error("no such session")]
    SessionNotFound,
    /// Too many requests: the rate limiter's refusal, with what a door needs to
    /// say when to come back.
    #[error("rate limited ({})", .0.policy)]
    RateLimited(Refusal),
    /// Anything unexpected. The cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => AccountError::EmailTaken,
            StoreError::Database(e) => AccountError::Internal(e.into()),
        }
    }
}

impl From<Refusal> for AccountError {
    fn from(refusal: Refusal) -> Self {
        AccountError::RateLimited(refusal)
    }
}

pub type AccountResult<T> = Result<T, AccountError>;
