//! Bodies of the second-factor endpoints. Two requests take exactly one of
//! several fields; their schemas say so with `oneOf` (written out here, as the
//! derive cannot express it), so that a schema-valid body is one the handler
//! accepts.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use validator::Validate;

use super::schemas::PasskeyLoginFinish;

/// Longest code (TOTP or recovery) and password the handlers read.
const MAX_CODE: usize = 64;
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CodeRequest {
    /// The 6-digit code the authenticator shows now.
    #[serde(default)]
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(required, min_length = 1, max_length = 64, example = "492039")]
    pub code: String,
}

/// Exactly one of `password` and `code`.
#[derive(Debug, Deserialize, Validate)]
pub struct DisableTotpRequest {
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub password: Option<String>,
    #[validate(length(min = 1, max = 64, message = "is required"))]
    pub code: Option<String>,
}

/// `mfa_token` and exactly one of `code`, `recovery_code` and `passkey`.
#[derive(Debug, Deserialize, Validate)]
pub struct LoginMfaRequest {
    #[serde(default)]
    #[validate(length(min = 1, max = 256, message = "is required"))]
    pub mfa_token: String,
    #[validate(length(min = 1, max = 64, message = "is required"))]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 64, message = "is required"))]
    pub recovery_code: Option<String>,
    pub passkey: Option<PasskeyLoginFinish>,
}

/// A started enrolment: put the secret into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// base32 (RFC 4648, no padding), 160 bits.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// For a QR code: `otpauth://totp/Issuer:email?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    pub otpauth_uri: String,
}

/// Recovery codes, shown once: each works once instead of the authenticator.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    #[schema(example = json!(["k7fq2-mx9vr", "…"]))]
    pub recovery_codes: Vec<String>,
}

fn text(description: &str, min: usize, max: usize, example: Option<&str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(min))
        .max_length(Some(max))
        .examples(example)
}

fn totp_code() -> ObjectBuilder {
    text(
        "The 6-digit code the authenticator shows now.",
        1,
        MAX_CODE,
        Some("492039"),
    )
}

/// A named field and its schema.
type Field = (&'static str, fn() -> RefOr<Schema>);

/// `{"oneOf": [...]}` with one object per way of answering: each describes every
/// field and requires the `always` ones and its own choice, so a body with none
/// or with two of the choices matches no branch or two, and is invalid either way.
fn exactly_one(description: &str, always: &[Field], choices: &[Field]) -> RefOr<Schema> {
    let branches = choices.iter().map(|(chosen, _)| {
        let every = always.iter().chain(choices);
        let object = every.fold(ObjectBuilder::new(), |o, (name, schema)| {
            o.property(*name, schema())
        });
        let object = always.iter().fold(object, |o, (name, _)| o.required(*name));
        object.required(*chosen).build()
    });
    let one_of = branches.fold(OneOfBuilder::new(), |o, branch| o.item(branch));
    RefOr::T(Schema::OneOf(one_of.description(Some(description)).build()))
}

impl PartialSchema for DisableTotpRequest {
    fn schema() -> RefOr<Schema> {
        exactly_one(
            "Exactly one of `password` and `code`.",
            &[],
            &[
                ("password", || {
                    text("The account's password.", 1, MAX_PASSWORD, None).into()
                }),
                ("code", || totp_code().into()),
            ],
        )
    }
}

impl ToSchema for DisableTotpRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DisableTotpRequest")
    }
}

impl PartialSchema for LoginMfaRequest {
    fn schema() -> RefOr<Schema> {
        exactly_one(
            "`mfa_token` and exactly one of `code`, `recovery_code` and `passkey`.",
            &[("mfa_token", || {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The `mfa_token` of POST /login."))
                    .pattern(Some("^[A-Za-z0-9_-]{43}$"))
                    .into()
            })],
            &[
                ("code", || totp_code().into()),
                ("recovery_code", || {
                    text(
                        "One of the recovery codes (`xxxxx-xxxxx`), each usable once.",
                        1,
                        MAX_CODE,
                        Some("k7fq2-mx9vr"),
                    )
                    .into()
                }),
                ("passkey", || {
                    // One of the user's passkeys, answering a challenge of POST
                    // /login/passkey/start (offered when `methods` lists `passkey`).
                    Ref::from_schema_name(PasskeyLoginFinish::name()).into()
                }),
            ],
        )
    }
}

impl ToSchema for LoginMfaRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("LoginMfaRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            PasskeyLoginFinish::name().into(),
            PasskeyLoginFinish::schema(),
        ));
    }
}
