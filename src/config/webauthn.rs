//! The relying party of passkeys (WebAuthn): its id and the origin of the pages
//! that run the ceremonies, from WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN or PUBLIC_URL.

use url::{Host, Url};

use super::Config;

/// Who the passkeys belong to: `id` is a domain, `origin` a page origin whose host
/// is `id` or a subdomain of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: Url,
}

impl Config {
    /// The relying party, or `None` when passkeys are off: both values derived from
    /// a PUBLIC_URL whose host cannot be a relying party id (an IP address).
    /// Values set explicitly that do not fit each other are an error naming the
    /// variable, so a typo stops start-up rather than silently turning passkeys off.
    pub fn relying_party(&self) -> anyhow::Result<Option<RelyingParty>> {
        let explicit = self.webauthn_origin.is_some() || self.webauthn_rp_id.is_some();
        let origin = match &self.webauthn_origin {
            Some(url) => origin_of(url),
            None => origin_of(&self.public_url()),
        };
        let Some(host) = domain_of(&origin) else {
            if explicit {
                let variable = match self.webauthn_origin {
                    Some(_) => "WEBAUTHN_ORIGIN",
                    None => "PUBLIC_URL (the default of WEBAUTHN_ORIGIN)",
                };
                anyhow::bail!(
                    "{variable}: `{origin}` has no domain name; passkeys need one (an IP address cannot be a relying party)"
                );
            }
            return Ok(None);
        };
        let id = match &self.webauthn_rp_id {
            Some(id) => id.trim().trim_end_matches('.').to_ascii_lowercase(),
            None => host.clone(),
        };
        if id.is_empty() || !(host == id || host.ends_with(&format!(".{id}"))) {
            anyhow::bail!(
                "WEBAUTHN_RP_ID: `{id}` must be the host of the origin `{origin}` or a parent domain of it"
            );
        }
        Ok(Some(RelyingParty { id, origin }))
    }
}

/// scheme://host[:port] of a URL (no path, query or fragment).
fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// The host of the URL when it is a domain name (not an IP address).
fn domain_of(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(domain) => Some(domain.to_ascii_lowercase()),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}
