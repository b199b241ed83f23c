//! The second factor from a test's side: an authenticator computing codes at
//! the service's (movable) time, enrolment and the two-step login.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use super::{PASSWORD, Reply, TestApp, Tokens};

pub const INVALID_CODE_400: super::Problem = super::Problem::new(
    400,
    "invalid_code",
    "The code is wrong or was already used.",
);
pub const INVALID_CODE_401: super::Problem = super::Problem::new(
    401,
    "invalid_code",
    "The code is wrong or was already used.",
);
pub const INVALID_MFA_TOKEN: super::Problem = super::Problem::new(
    401,
    "invalid_mfa_token",
    "The MFA step is unknown, expired, used or failed too often. Log in again.",
);
pub const WRONG_PASSWORD_OR_CODE: super::Problem = super::Problem::new(
    403,
    "invalid_credentials",
    "The password or code is incorrect.",
);

/// The user's authenticator app: the base32 secret the service handed out.
pub struct TotpApp(pub String);

impl TotpApp {
    /// The code for the time step `offset` steps from the service's now.
    pub fn code_at(&self, app: &TestApp, offset: i64) -> String {
        let secret = Secret::try_from_base32(&self.0).expect("base32 secret");
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(30)
            .with_secret(secret)
            .build()
            .expect("TOTP parameters");
        let at = app.clock.now().timestamp() + offset * 30;
        totp.generate(u64::try_from(at).expect("after 1970"))
            .to_string()
    }

    /// A code of a step no earlier code used: the service's clock moves on one
    /// step first (codes are accepted once per step).
    pub fn next_code(&self, app: &TestApp) -> String {
        app.advance(Duration::from_secs(30));
        self.code_at(app, 0)
    }
}

impl TestApp {
    /// Moves the service's clock to 5 s into a time step, so a test has 20 s
    /// before the step changes under it.
    pub fn mid_step(&self) {
        let into = self.clock.now().timestamp().rem_euclid(30);
        self.advance(Duration::from_secs(
            u64::try_from((35 - into) % 30).expect("positive"),
        ));
    }

    /// POST /mfa/totp, asserting 200: the authenticator of the secret.
    pub async fn start_totp(&self, access: &str) -> (TotpApp, Value) {
        let reply = self.post_json_bearer("/mfa/totp", access, &json!({})).await;
        reply.assert_status(StatusCode::OK);
        let secret = reply.body["secret"].as_str().expect("secret").to_owned();
        (TotpApp(secret), reply.body)
    }

    pub async fn confirm_totp(&self, access: &str, code: &str) -> Reply {
        self.post_json_bearer("/mfa/totp/confirm", access, &json!({"code": code}))
            .await
    }

    /// Enrols and confirms an authenticator: it and the recovery codes.
    pub async fn enable_totp(&self, access: &str) -> (TotpApp, Vec<String>) {
        let (authenticator, _) = self.start_totp(access).await;
        let reply = self
            .confirm_totp(access, &authenticator.next_code(self))
            .await;
        reply.assert_status(StatusCode::OK);
        let codes = reply.body["recovery_codes"].as_array().expect("codes");
        let codes = codes.iter().map(|c| c.as_str().expect("code").to_owned());
        (authenticator, codes.collect())
    }

    /// POST /login with the right password, asserting the MFA step: its token.
    pub async fn mfa_token(&self, email: &str) -> String {
        let reply = self.login(email, PASSWORD).await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.body["mfa_required"], true, "{}", reply.text);
        reply.body["mfa_token"].as_str().expect("token").to_owned()
    }

    pub async fn login_mfa(&self, body: &Value) -> Reply {
        self.post_json("/login/mfa", body).await
    }

    /// A full two-step login with a fresh code: its tokens.
    pub async fn login_with_totp(&self, email: &str, authenticator: &TotpApp) -> Tokens {
        let token = self.mfa_token(email).await;
        let code = authenticator.next_code(self);
        Tokens::of(
            &self
                .login_mfa(&json!({"mfa_token": token, "code": code}))
                .await,
        )
    }

    pub async fn disable_totp(&self, access: &str, body: &Value) -> Reply {
        let request = self.request(Method::DELETE, "/mfa/totp").bearer(access);
        request.json(body).send().await
    }
}
