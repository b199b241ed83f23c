//! The shape each flow's input must have before the flow looks at it: lengths,
//! a well-formed email, the fields that are required. Every door gets the same
//! refusals (`InvalidInput`, by v1 field name, sorted by field like the HTTP
//! API's 422 answers). The HTTP request types check the same rules with the same
//! words while decoding, so an HTTP request never gets this far with a bad shape;
//! a test holds the two doors to the same answers.

use validator::ValidateEmail;

use super::error::{AccountError, AccountResult, InvalidField};
use super::registration::Registration;

pub(super) const MAX_EMAIL: usize = 254;
pub(super) const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=128;
pub(super) const MAX_NAME: usize = 100;
/// Longest password a login takes (a longer one cannot be anybody's).
pub(super) const MAX_LOGIN_PASSWORD: usize = 1024;

/// The refused fields of one input, in the order they are checked (within a
/// field, the order the HTTP door's validator reports them in).
#[derive(Default)]
struct Refusals(Vec<InvalidField>);

impl Refusals {
    fn unless(mut self, ok: bool, field: &'static str, message: &'static str) -> Self {
        if !ok {
            self.0.push(InvalidField { field, message });
        }
        self
    }

    fn into_result(mut self) -> AccountResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|f| f.field);
        Err(AccountError::InvalidInput(self.0))
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn registration(form: &Registration) -> AccountResult<()> {
    let password = chars(&form.password);
    let name = form.name.as_deref().map_or(0, chars);
    Refusals::default()
        .unless(
            chars(&form.email) <= MAX_EMAIL,
            "email",
            "must be at most 254 characters",
        )
        .unless(
            form.email.validate_email(),
            "email",
            "must be a valid email address",
        )
        .unless(
            PASSWORD_LENGTH.contains(&password),
            "password",
            "must be between 8 and 128 characters",
        )
        .unless(name <= MAX_NAME, "name", "must be at most 100 characters")
        .into_result()
}

pub(super) fn login(email: &str, password: &str) -> AccountResult<()> {
    let email = chars(email);
    let password = chars(password);
    Refusals::default()
        .unless((1..=MAX_EMAIL).contains(&email), "email", "is required")
        .unless(
            (1..=MAX_LOGIN_PASSWORD).contains(&password),
            "password",
            "is required",
        )
        .into_result()
}

/// A field that must not be empty (`refresh_token`, `token`).
pub(super) fn required(field: &'static str, value: &str) -> AccountResult<()> {
    Refusals::default()
        .unless(!value.is_empty(), field, "is required")
        .into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: AccountResult<()>) -> Vec<(&'static str, &'static str)> {
        match result {
            Ok(()) => Vec::new(),
            Err(AccountError::InvalidInput(fields)) => {
                fields.iter().map(|f| (f.field, f.message)).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_bad_registration_names_every_bad_field_in_order() {
        let form = Registration {
            email: format!("{}@example.com", "a".repeat(250)),
            password: "short".into(),
            name: Some("n".repeat(101)),
        };
        assert_eq!(
            refused(registration(&form)),
            vec![
                ("email", "must be at most 254 characters"),
                ("email", "must be a valid email address"),
                ("name", "must be at most 100 characters"),
                ("password", "must be between 8 and 128 characters"),
            ]
        );
        let good = Registration {
            email: "ada@example.com".into(),
            password: "é".repeat(128),
            name: None,
        };
        assert_eq!(refused(registration(&good)), vec![]);
    }

    #[test]
    fn login_and_tokens_need_their_fields() {
        assert_eq!(
            refused(login("", "")),
            vec![("email", "is required"), ("password", "is required")]
        );
        assert_eq!(refused(login("a", "b")), vec![]);
        assert_eq!(
            refused(required("token", "")),
            vec![("token", "is required")]
        );
    }
}

/// Properties of the shape checks every door runs on what a client sends.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn refused_fields(result: AccountResult<()>) -> Vec<&'static str> {
        match result {
            Ok(()) => Vec::new(),
            Err(AccountError::InvalidInput(fields)) => fields.iter().map(|f| f.field).collect(),
            Err(e) => panic!("not a field refusal: {e}"),
        }
    }

    /// Text of a given number of characters, of any Unicode.
    fn chars_between(min: usize, max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), min..=max).prop_map(|c| c.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any input is answered with the fields it got wrong, sorted, and the
        /// length rules hold exactly, counted in characters.
        #[test]
        fn registrations_are_refused_by_field_and_length(
            email in prop_oneof![".{0,300}", "[a-z0-9.+-]{1,70}@[a-z0-9-]{1,60}\\.[a-z]{2,6}"],
            password in chars_between(0, 140),
            name in proptest::option::of(chars_between(0, 120)),
        ) {
            let form = Registration { email: email.clone(), password: password.clone(), name: name.clone() };
            let fields = refused_fields(registration(&form));
            prop_assert!(fields.is_sorted());
            let password_ok = (8..=128).contains(&password.chars().count());
            let name_ok = name.is_none_or(|n| n.chars().count() <= 100);
            let email_ok = email.chars().count() <= 254 && email.validate_email();
            prop_assert_eq!(!fields.contains(&"password"), password_ok);
            prop_assert_eq!(!fields.contains(&"name"), name_ok);
            prop_assert_eq!(!fields.contains(&"email"), email_ok);
        }

        #[test]
        fn logins_need_both_fields_within_their_lengths(
            email in chars_between(0, 300),
            password in prop_oneof![chars_between(0, 20), chars_between(1000, 1100)],
        ) {
            let fields = refused_fields(login(&email, &password));
            let email_ok = (1..=254).contains(&email.chars().count());
            let password_ok = (1..=1024).contains(&password.chars().count());
            let expected: Vec<&str> = [("email", email_ok), ("password", password_ok)]
                .into_iter()
                .filter_map(|(field, ok)| (!ok).then_some(field))
                .collect();
            prop_assert_eq!(fields, expected);
        }
    }
}
