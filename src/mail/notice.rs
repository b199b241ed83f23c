//! Security notices: the mail that tells a user how their account's way of
//! logging in changed (OWASP ASVS 2.2.3 and 2.5.5). They carry no link and no
//! secret, only what changed and when, so a copy in the wrong hands gives nothing;
//! the owner who did not make the change learns of it at once.

/// A change to how an account logs in, each told to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    PasswordReset,
    MfaEnabled,
    MfaDisabled,
    RecoveryCodesReplaced,
    PasskeyAdded,
    PasskeyRemoved,
    /// Sent to the address the account had before an operator changed it.
    EmailChanged,
}

impl Notice {
    pub(super) const ALL: [Notice; 8] = [
        Notice::PasswordChanged,
        Notice::PasswordReset,
        Notice::MfaEnabled,
        Notice::MfaDisabled,
        Notice::RecoveryCodesReplaced,
        Notice::PasskeyAdded,
        Notice::PasskeyRemoved,
        Notice::EmailChanged,
    ];

    /// The end of the subject: "Your PRODUCT account: …".
    pub(super) fn what(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "password changed",
            Notice::PasswordReset => "password reset",
            Notice::MfaEnabled => "two-step verification turned on",
            Notice::MfaDisabled => "two-step verification turned off",
            Notice::RecoveryCodesReplaced => "new recovery codes",
            Notice::PasskeyAdded => "passkey added",
            Notice::PasskeyRemoved => "passkey removed",
            Notice::EmailChanged => "email address changed",
        }
    }

    /// What happened, and what it did to the account, in one or two sentences.
    pub(super) fn sentence(self) -> &'static str {
        match self {
            Notice::PasswordChanged => {
                "Your password was changed, and every other session was logged out."
            }
            Notice::PasswordReset => {
                "Your password was reset with a link mailed to this address, and every \
                 session was logged out."
            }
            Notice::MfaEnabled => {
                "Two-step verification was turned on: logging in now also asks for a code \
                 from an authenticator app."
            }
            Notice::MfaDisabled => {
                "Two-step verification was turned off: logging in now asks for the password \
                 alone, and every other session was logged out."
            }
            Notice::RecoveryCodesReplaced => {
                "A new set of recovery codes was made. The previous codes no longer work."
            }
            Notice::PasskeyAdded => "A passkey was added. It can now log in to your account.",
            Notice::PasskeyRemoved => {
                "A passkey was removed. It can no longer log in to your account."
            }
            Notice::EmailChanged => {
                "The email address of your account was changed by an administrator. This \
                 address no longer receives mail for the account."
            }
        }
    }
}
