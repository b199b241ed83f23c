//! Properties of whose budget a request spends, from what the client sent:
//! the email it typed and the address it came from (or a proxy forwarded).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

fn ascii_email() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,20}"
}

/// The top 64 bits of an IPv6 address: the customer network.
fn network(ip: Ipv6Addr) -> u64 {
    (u128::from(ip) >> 64) as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// An account's key is a digest, whatever was typed: it never carries the
    /// address, and spellings of one address share it.
    #[test]
    fn account_keys_are_digests_of_the_address_in_any_spelling(
        email in prop_oneof![ascii_email(), ".{0,80}"],
        pad in "[ \t]{0,2}",
    ) {
        let subject = Subject::account(&email);
        let digest = subject.key().strip_prefix("account:").expect("account key");
        prop_assert!(digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit()));
        prop_assert_eq!(&Subject::account(&format!("{pad}{email}{pad}")), &subject);
    }

    #[test]
    fn accounts_share_a_budget_only_when_they_are_one_address(a in ascii_email(), b in ascii_email()) {
        prop_assert_eq!(Subject::account(&a) == Subject::account(&b), a.eq_ignore_ascii_case(&b));
    }

    /// IPv6 clients share their /64, IPv4 clients their address, and an
    /// IPv4-mapped IPv6 address is its IPv4 address.
    #[test]
    fn addresses_share_a_budget_by_network(a in any::<Ipv6Addr>(), b in any::<Ipv6Addr>(), v4 in any::<Ipv4Addr>()) {
        let unmapped = |ip: Ipv6Addr| ip.to_ipv4_mapped().is_none();
        if unmapped(a) && unmapped(b) {
            prop_assert_eq!(
                Subject::ip(IpAddr::V6(a)) == Subject::ip(IpAddr::V6(b)),
                network(a) == network(b)
            );
        }
        let same_network = Ipv6Addr::from((u128::from(a) & !u128::from(u64::MAX)) | u128::from(u64::from(v4.to_bits())));
        if unmapped(a) && unmapped(same_network) {
            prop_assert_eq!(Subject::ip(IpAddr::V6(a)), Subject::ip(IpAddr::V6(same_network)));
        }
        prop_assert_eq!(Subject::ip(IpAddr::V6(v4.to_ipv6_mapped())), Subject::ip(IpAddr::V4(v4)));
    }
}
