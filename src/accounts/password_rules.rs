//! What a new password must be, and the form in which passwords are hashed
//! (NIST SP 800-63B 5.1.1.2): any Unicode, normalised to NFKC so that the same
//! password typed on two keyboards is the same password; refused when it is
//! among the commonly used or easily guessed ones, or built from the email.

use unicode_normalization::UnicodeNormalization;
use zxcvbn::{Score, zxcvbn};

use super::error::{AccountError, AccountResult, InvalidField};

/// Passwords guessable within a million tries (zxcvbn scores 0 and 1: the common
/// passwords, keyboard walks, repeats, dictionary words with small changes).
const WEAKEST_ACCEPTED: Score = Score::Two;

/// The form a password is hashed in.
pub(super) fn normalised(password: &str) -> String {
    password.nfkc().collect()
}

/// The forms to try when checking a typed password: the normalised one, and the
/// password as typed when that differs (hashes stored before normalisation).
pub(super) fn candidates(password: &str) -> Vec<String> {
    let nfkc = normalised(password);
    if nfkc == password {
        vec![nfkc]
    } else {
        vec![nfkc, password.to_owned()]
    }
}

/// Refuses a new password (named `field` in the request) that is common, easily
/// guessed, or equal to or containing the email or its local part.
pub(super) fn check_new(password: &str, email: &str, field: &'static str) -> AccountResult<()> {
    let refuse = |message: &'static str| {
        Err(AccountError::InvalidInput(vec![InvalidField {
            field,
            message,
        }]))
    };
    let lowered = normalised(password).to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    // A one- or two-letter local part would refuse half of all passwords.
    if lowered.contains(&email) || (local.chars().count() >= 3 && lowered.contains(local)) {
        return refuse("must not contain your email address");
    }
    if zxcvbn(&lowered, &[&email, local]).score() < WEAKEST_ACCEPTED {
        return refuse("is too common or too easy to guess");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(password: &str) -> Option<&'static str> {
        match check_new(password, "ada.lovelace@example.com", "password") {
            Ok(()) => None,
            Err(AccountError::InvalidInput(fields)) => Some(fields[0].message),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn common_guessable_and_email_passwords_are_refused() {
        for weak in [
            "password",
            "12345678",
            "        ",
            "qwertyuiop",
            "Password1",
        ] {
            assert_eq!(
                verdict(weak),
                Some("is too common or too easy to guess"),
                "{weak:?}"
            );
        }
        for personal in ["ada.lovelace@example.com", "xx-Ada.Lovelace-2024"] {
            assert_eq!(
                verdict(personal),
                Some("must not contain your email address"),
                "{personal:?}"
            );
        }
        assert_eq!(verdict("correct horse battery staple"), None);
        assert_eq!(verdict("a whole new passphrase"), None);
    }

    #[test]
    fn passwords_are_compared_in_nfkc() {
        // U+FB01 (the "fi" ligature) and "fi" are one password after NFKC.
        assert_eq!(normalised("\u{FB01}sh and chips"), "fish and chips");
        assert_eq!(candidates("plain ascii"), vec!["plain ascii".to_owned()]);
        assert_eq!(
            candidates("\u{FB01}"),
            vec!["fi".to_owned(), "\u{FB01}".to_owned()]
        );
    }
}

/// Properties of the new-password rules on anything a user may type.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // zxcvbn takes about 0.1 s a password in debug builds: a few cases.
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Any password of the allowed length (any Unicode) and any email get
        /// a verdict on the named field.
        #[test]
        fn any_password_gets_a_verdict_on_its_field(
            password in prop_oneof![".{0,40}", "[a-zA-Z0-9 ]{0,128}"],
            email in ".{0,40}",
        ) {
            match check_new(&password, &email, "new_password") {
                Ok(()) => {}
                Err(AccountError::InvalidInput(fields)) => {
                    prop_assert_eq!(fields.len(), 1);
                    prop_assert_eq!(fields[0].field, "new_password");
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The email's local part anywhere in the password, in any case, is
        /// refused, whatever surrounds it (but a combining mark, which would
        /// make its last letter another one).
        #[test]
        fn a_password_holding_the_email_is_refused(
            before in ".{0,20}",
            local in "[a-z]{3,12}",
            after in "([^\\p{M}].{0,19})?",
        ) {
            let password = format!("{before}{}{after}", local.to_uppercase());
            let email = format!(" {local}@Example.com ");
            let refused = match check_new(&password, &email, "password") {
                Err(AccountError::InvalidInput(fields)) => fields[0].message,
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            };
            prop_assert_eq!(refused, "must not contain your email address");
        }

        #[test]
        fn normal_forms_are_stable(password in ".{0,64}") {
            let once = normalised(&password);
            prop_assert_eq!(normalised(&once), once.clone());
            let candidates = candidates(&password);
            prop_assert_eq!(&candidates[0], &once);
            prop_assert!(candidates.contains(&password));
        }
    }
}
