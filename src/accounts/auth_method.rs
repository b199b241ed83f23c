//! How a session was authenticated, and what its access tokens say about it:
//! `amr` (RFC 8176) and `aal` (NIST SP 800-63B). Stored on the session row, so
//! every refresh issues the same claims as the login did.

/// The way a login proved who it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    PasswordTotp,
    /// A recovery code stands in for the authenticator: it is a one-time
    /// password too, so the claims are those of TOTP (`["pwd", "otp"]`, aal2).
    PasswordRecoveryCode,
    /// A passkey as the second factor after the password.
    PasswordPasskey,
    /// A passkey alone: a hardware-bound key that verified its user.
    Passkey,
}

impl AuthMethod {
    /// The name on the session row and in the `method` of `login_succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::PasswordTotp => "password+totp",
            AuthMethod::PasswordRecoveryCode => "password+recovery_code",
            AuthMethod::PasswordPasskey => "password+passkey",
            AuthMethod::Passkey => "passkey",
        }
    }

    /// The method of a stored name. An unknown name (written by a newer version)
    /// counts as the weakest, password alone.
    pub fn parse(name: &str) -> Self {
        match name {
            "password+totp" => AuthMethod::PasswordTotp,
            "password+recovery_code" => AuthMethod::PasswordRecoveryCode,
            "password+passkey" => AuthMethod::PasswordPasskey,
            "passkey" => AuthMethod::Passkey,
            _ => AuthMethod::Password,
        }
    }

    /// RFC 8176 authentication method references.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            AuthMethod::Password => &["pwd"],
            AuthMethod::PasswordTotp | AuthMethod::PasswordRecoveryCode => &["pwd", "otp"],
            // `hwk`: proof of a hardware-bound key; `user`: the authenticator
            // verified its user (passkeys are registered and used with UV).
            AuthMethod::PasswordPasskey => &["pwd", "hwk", "user"],
            AuthMethod::Passkey => &["hwk", "user"],
        }
    }

    /// Authenticator assurance level: two factors are aal2.
    pub fn aal(self) -> &'static str {
        match self {
            AuthMethod::Password => "aal1",
            AuthMethod::PasswordTotp
            | AuthMethod::PasswordRecoveryCode
            | AuthMethod::PasswordPasskey
            | AuthMethod::Passkey => "aal2",
        }
    }
}
