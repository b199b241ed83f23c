//! Password hashes brought in from other systems (the Admin API's import):
//! which are accepted, and the ceilings on their cost.
//!
//! An imported hash is kept as it is and checked with its own algorithm at the
//! next login (on the hashing threads, like every hash), then replaced by the
//! service's argon2id. The ceilings keep that one check bounded: an import
//! cannot make a login hold a hashing thread for a minute or gigabytes of memory.

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;

/// argon2 memory cost ceiling, in KiB (256 MiB).
pub const ARGON2_MAX_M_KIB: u32 = 256 * 1024;
/// argon2 iterations ceiling.
pub const ARGON2_MAX_T: u32 = 10;
/// argon2 lanes ceiling.
pub const ARGON2_MAX_P: u32 = 16;
/// bcrypt cost ceiling (2^14 rounds: about a second).
pub const BCRYPT_MAX_COST: u32 = 14;

/// Why an imported hash is refused; `reason` is what the import answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not argon2id, argon2i or bcrypt `$2a$`/`$2b$`/`$2y$` (or argon2 with a
    /// secret key or associated data, which this service does not have).
    Unsupported,
    /// It names a supported algorithm but does not parse.
    Malformed,
    /// Its parameters are above the ceilings.
    TooCostly,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Unsupported => "unsupported_hash",
            Refusal::Malformed => "malformed_hash",
            Refusal::TooCostly => "hash_too_costly",
        }
    }
}

/// Whether `hash` is a bcrypt hash of a variant this service checks.
pub fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

/// Accepts a hash the service can check at a login, within the ceilings.
pub fn check(hash: &str) -> Result<(), Refusal> {
    if is_bcrypt(hash) {
        let parts: bcrypt::HashParts = hash.parse().map_err(|_| Refusal::Malformed)?;
        return match parts.get_cost() {
            ..4 => Err(Refusal::Malformed),
            cost if cost > BCRYPT_MAX_COST => Err(Refusal::TooCostly),
            _ => Ok(()),
        };
    }
    if !hash.starts_with("$argon2") {
        return Err(Refusal::Unsupported);
    }
    let parsed = PasswordHash::new(hash).map_err(|_| Refusal::Malformed)?;
    if !matches!(parsed.algorithm.as_str(), "argon2id" | "argon2i") {
        return Err(Refusal::Unsupported);
    }
    if !parsed
        .params
        .iter()
        .all(|(name, _)| matches!(name.as_str(), "m" | "t" | "p"))
    {
        return Err(Refusal::Unsupported);
    }
    let version_known = parsed
        .version
        .is_none_or(|v| argon2::Version::try_from(v).is_ok());
    if parsed.salt.is_none() || parsed.hash.is_none() || !version_known {
        return Err(Refusal::Malformed);
    }
    let params = Params::try_from(&parsed).map_err(|_| Refusal::Malformed)?;
    if params.m_cost() > ARGON2_MAX_M_KIB
        || params.t_cost() > ARGON2_MAX_T
        || params.p_cost() > ARGON2_MAX_P
    {
        return Err(Refusal::TooCostly);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT_AND_HASH: &str =
        "c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

    fn argon2(head: &str) -> String {
        format!("{head}${SALT_AND_HASH}")
    }

    #[test]
    fn supported_hashes_within_the_ceilings_pass() {
        assert_eq!(check(&argon2("$argon2id$v=19$m=19456,t=2,p=1")), Ok(()));
        assert_eq!(check(&argon2("$argon2i$v=19$m=262144,t=10,p=16")), Ok(()));
        assert_eq!(check(&argon2("$argon2id$v=16$m=4096,t=3,p=1")), Ok(()));
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let hash = bcrypt.replacen("$2b$", prefix, 1);
            assert_eq!(check(&hash), Ok(()), "{hash}");
        }
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let costly = [
            argon2("$argon2id$v=19$m=262145,t=2,p=1"),
            argon2("$argon2id$v=19$m=19456,t=11,p=1"),
            argon2("$argon2id$v=19$m=19456,t=2,p=17"),
            "$2b$15$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
        ];
        for hash in costly {
            assert_eq!(check(&hash), Err(Refusal::TooCostly), "{hash}");
        }
        let unsupported = [
            argon2("$argon2d$v=19$m=19456,t=2,p=1"),
            argon2("$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA"),
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"
                .to_owned(),
            "$2x$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            "5f4dcc3b5aa765d61d8327deb882cf99".to_owned(),
            String::new(),
        ];
        for hash in unsupported {
            assert_eq!(check(&hash), Err(Refusal::Unsupported), "{hash}");
        }
        let malformed = [
            "$argon2id$v=19$m=19456,t=2,p=1".to_owned(),
            "$argon2id$v=19$m=19456,t=2,p=1$!!$??".to_owned(),
            argon2("$argon2id$v=42$m=19456,t=2,p=1"),
            argon2("$argon2id$v=19$m=1,t=2,p=1"),
            "$2b$12$tooshort".to_owned(),
            "$2b$03$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
        ];
        for hash in malformed {
            assert_eq!(check(&hash), Err(Refusal::Malformed), "{hash}");
        }
        assert_eq!(Refusal::TooCostly.reason(), "hash_too_costly");
    }
}

/// Properties of what an admin may import: any string is answered with a
/// verdict (never a panic), and what is accepted can be checked at a login.
#[cfg(test)]
mod properties {
    use argon2::{Algorithm, Argon2, Version};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use proptest::prelude::*;

    use super::super::argon2_buffer::{HashMemory, matches};
    use super::*;

    /// Costs low enough to hash in a test, as the argon2 crate allows them.
    fn cheap_params() -> impl Strategy<Value = (u32, u32, u32)> {
        (1u32..=4, 1u32..=3).prop_flat_map(|(p, t)| (8 * p..=256, Just(t), Just(p)))
    }

    /// A PHC string that argon2 made for `password`.
    fn argon2_hash(password: &[u8]) -> impl Strategy<Value = String> + use<> {
        let password = password.to_vec();
        (
            prop_oneof![Just(Algorithm::Argon2id), Just(Algorithm::Argon2i)],
            prop_oneof![Just(Version::V0x10), Just(Version::V0x13)],
            cheap_params(),
            prop::collection::vec(any::<u8>(), 8..=48),
            10usize..=64,
        )
            .prop_map(move |(algorithm, version, (m, t, p), salt, length)| {
                let params = Params::new(m, t, p, Some(length)).expect("params");
                let mut out = vec![0u8; length];
                Argon2::new(algorithm, version, params)
                    .hash_password_into(&password, &salt, &mut out)
                    .expect("hashes");
                format!(
                    "${}$v={}$m={m},t={t},p={p}${}${}",
                    algorithm.ident(),
                    u32::from(version),
                    STANDARD_NO_PAD.encode(salt),
                    STANDARD_NO_PAD.encode(out)
                )
            })
    }

    /// Numbers a PHC parameter might carry: small, at the ceilings, huge.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => (0u64..=300).prop_map(|n| n.to_string()),
            1 => (0u64..=20_000_000).prop_map(|n| n.to_string()),
            1 => any::<u64>().prop_map(|n| n.to_string()),
            1 => "[0-9]{20,30}",
            1 => "-?[0-9a-z+.]{0,4}",
        ]
    }

    /// Argon2 PHC strings of every shape: any algorithm name, version,
    /// parameters, salt and output length.
    fn argon2_shaped() -> impl Strategy<Value = String> {
        let b64 = |bytes: Vec<u8>| STANDARD_NO_PAD.encode(bytes);
        let salt = prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 8..=48).prop_map(b64),
            1 => prop::collection::vec(any::<u8>(), 0..70).prop_map(b64),
        ];
        let output = prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 10..=64).prop_map(b64),
            1 => prop::collection::vec(any::<u8>(), 0..70).prop_map(b64),
        ];
        let version = prop_oneof![
            Just(String::new()),
            Just("$v=16".to_owned()),
            Just("$v=19".to_owned()),
            number().prop_map(|v| format!("$v={v}")),
        ];
        let costs = prop_oneof![
            2 => cheap_params().prop_map(|(m, t, p)| (m.to_string(), t.to_string(), p.to_string())),
            1 => (200_000u32..=300_000, 1u32..=12, 1u32..=20)
                .prop_map(|(m, t, p)| (m.to_string(), t.to_string(), p.to_string())),
            1 => (number(), number(), number()),
        ];
        (
            prop_oneof![4 => Just("argon2id"), 2 => Just("argon2i"), 1 => Just("argon2d"), 1 => Just("argon2")],
            version,
            costs,
            prop_oneof![4 => Just(""), 1 => Just(",keyid=AAAA"), 1 => Just(",data=AAAA"), 1 => Just(",x=1")],
            (salt, output),
        )
            .prop_map(|(alg, version, (m, t, p), extra, (salt, hash))| {
                format!("${alg}{version}$m={m},t={t},p={p}{extra}${salt}${hash}")
            })
    }

    /// The argon2 crate's own reading of a PHC string, as a login would
    /// need it: algorithm, version, parameters, salt and output.
    fn computable(hash: &str) -> Option<(Argon2<'static>, PasswordHash)> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        (parsed.salt.is_some() && parsed.hash.is_some())
            .then(|| (Argon2::new(algorithm, version, params), parsed))
    }

    fn over_ceiling(argon2: &Argon2<'_>) -> bool {
        let params = argon2.params();
        params.m_cost() > ARGON2_MAX_M_KIB
            || params.t_cost() > ARGON2_MAX_T
            || params.p_cost() > ARGON2_MAX_P
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_string_gets_a_verdict(
            hash in prop_oneof![
                ".*",
                "\\$2[abxy]\\$.{0,70}",
                "\\$argon2(id|i|d)?\\$.{0,100}",
                "\\$[a-z0-9]{0,10}\\$.*",
            ],
        ) {
            let verdict = check(&hash);
            if !hash.starts_with("$argon2") && !is_bcrypt(&hash) {
                prop_assert_eq!(verdict, Err(Refusal::Unsupported));
            }
        }

        /// The ceilings decide between accepted and too costly; argon2d and
        /// secret keys are unsupported; the rest is malformed. Whatever is
        /// accepted, argon2 can compute (so a login can check it).
        #[test]
        fn argon2_hashes_of_any_shape_get_the_right_verdict(hash in argon2_shaped()) {
            let read = computable(&hash);
            let unsupported = hash.starts_with("$argon2d$")
                || hash.starts_with("$argon2$")
                || [",keyid=", ",data=", ",x="].iter().any(|p| hash.contains(p));
            match check(&hash) {
                Ok(()) => {
                    let (argon2, parsed) = read.expect("argon2 reads what is accepted");
                    prop_assert!(!unsupported && !over_ceiling(&argon2));
                    let params = argon2.params();
                    if params.m_cost() <= 1024 && params.t_cost() <= 3 {
                        let (salt, out) = (parsed.salt.expect("salt"), parsed.hash.expect("hash"));
                        let mut buffer = vec![0u8; out.len()];
                        prop_assert!(argon2.hash_password_into(b"pw", &salt, &mut buffer).is_ok());
                    }
                }
                Err(Refusal::TooCostly) => {
                    prop_assert!(read.is_some_and(|(argon2, _)| over_ceiling(&argon2)));
                }
                Err(Refusal::Unsupported) => prop_assert!(unsupported),
                Err(Refusal::Malformed) => prop_assert!(read.is_none()),
            }
        }

        #[test]
        fn argon2_hashes_round_trip(
            (password, hash) in ".{0,40}".prop_flat_map(|pw| (Just(pw.clone()), argon2_hash(pw.as_bytes()))),
            other in ".{0,40}",
        ) {
            prop_assert_eq!(check(&hash), Ok(()), "{}", hash);
            let parsed = PasswordHash::new(&hash).expect("PHC");
            let mut memory = HashMemory::default();
            prop_assert!(matches(&parsed, password.as_bytes(), &mut memory));
            prop_assert_eq!(matches(&parsed, other.as_bytes(), &mut memory), other == password);
        }

        /// Any cost and any salt-and-hash characters: `$2x$` is unsupported, a
        /// cost over the ceiling too costly, and what is accepted verifies.
        #[test]
        fn bcrypt_hashes_of_any_shape_get_the_right_verdict(
            hash in "\\$2[abxy]\\$([0-9]{2}|.{0,3})\\$[./A-Za-z0-9]{53}",
        ) {
            let cost = hash.get(4..6).and_then(|c| c.parse::<u32>().ok());
            match check(&hash) {
                Ok(()) => {
                    let cost = cost.expect("a cost");
                    prop_assert!((4..=BCRYPT_MAX_COST).contains(&cost));
                    if cost <= 5 {
                        prop_assert!(bcrypt::verify(b"pw", &hash).is_ok());
                    }
                }
                Err(Refusal::TooCostly) => prop_assert!(cost.is_some_and(|c| c > BCRYPT_MAX_COST)),
                Err(Refusal::Unsupported) => prop_assert!(hash.starts_with("$2x$")),
                Err(Refusal::Malformed) => {}
            }
        }
    }

    proptest! {
        // bcrypt is not optimised in debug builds: a few cases at the least cost.
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn bcrypt_hashes_round_trip(password in ".{0,40}", other in ".{0,40}") {
            let hash = bcrypt::hash(&password, 4).expect("hashes");
            prop_assert_eq!(check(&hash), Ok(()));
            prop_assert!(bcrypt::verify(&password, &hash).expect("verifies"));
            prop_assert_eq!(bcrypt::verify(&other, &hash).expect("verifies"), other == password);
        }
    }
}
