//! The form of an email that uniqueness and lookups use: trimmed and
//! lowercased. Computed here rather than with SQL `lower()`, whose Unicode
//! rules differ between the backends.

pub(super) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Properties of the key: any spelling a user may type of one address finds
/// the same account, and different addresses never share one.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// ASCII addresses (what almost every address is).
    fn ascii_email() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,20}"
    }

    /// `email` with each letter's case flipped at will.
    fn respelled(email: String) -> impl Strategy<Value = String> {
        let len = email.len();
        prop::collection::vec(any::<bool>(), len).prop_map(move |flips| {
            email
                .chars()
                .zip(flips)
                .map(|(c, flip)| {
                    if flip && c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else if flip {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any string (any Unicode) keys without a panic, and its key is its
        /// own key: no surrounding whitespace, nothing left to lowercase.
        #[test]
        fn keys_are_stable(
            email in prop_oneof![".{0,80}", "[\\p{L}\\p{M}\\p{Nl}]{0,30}"],
            pad in "[ \t\n\u{a0}\u{3000}]{0,3}") {
            let key = email_key(&email);
            prop_assert_eq!(email_key(&key), key.clone());
            prop_assert_eq!(key.trim(), key.as_str());
            prop_assert_eq!(email_key(&format!("{pad}{email}{pad}")), key);
        }

        #[test]
        fn any_case_of_an_address_finds_it(
            (email, spelled) in ascii_email().prop_flat_map(|e| (Just(e.clone()), respelled(e))),
            pad in "[ \t]{0,2}",
        ) {
            prop_assert_eq!(email_key(&format!("{pad}{spelled}{pad}")), email_key(&email));
        }

        #[test]
        fn different_addresses_have_different_keys(a in ascii_email(), b in ascii_email()) {
            prop_assert_eq!(email_key(&a) == email_key(&b), a.eq_ignore_ascii_case(&b));
        }
    }
}
