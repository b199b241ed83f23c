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
