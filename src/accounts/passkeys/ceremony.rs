//! The WebAuthn ceremonies, on webauthn-rs: what the browser is asked, and what
//! its answer must prove. Ceremony state leaves here as JSON (stored in the
//! database by the caller, so any instance can finish what another began).

use anyhow::Context as _;
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::config::RelyingParty;

/// COSE algorithm number of EdDSA, offered beside webauthn-rs's defaults.
const COSE_EDDSA: i64 = -8;

pub(crate) struct Ceremonies {
    webauthn: Webauthn,
}

/// Why a ceremony failed, as far as the flows care.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The signature counter went backwards: a cloned authenticator, maybe.
    CounterRegressed,
    /// Anything else the browser's answer fails to prove (why: for the debug log).
    Invalid(String),
}

impl Ceremonies {
    pub fn new(rp: &RelyingParty, product_name: &str) -> anyhow::Result<Self> {
        let origin = Url::parse(rp.origin.as_str())?;
        let webauthn = WebauthnBuilder::new(&rp.id, &origin)
            .context("WEBAUTHN_RP_ID does not fit WEBAUTHN_ORIGIN")?
            .rp_name(product_name)
            .build()
            .context("building the WebAuthn relying party")?;
        Ok(Ceremonies { webauthn })
    }

    /// Options for `navigator.credentials.create()` and the state to keep.
    /// `handle` is the user's random handle; `exclude` their passkeys' ids, so one
    /// authenticator is not registered twice.
    pub fn start_registration(
        &self,
        handle: Uuid,
        user_name: &str,
        display_name: &str,
        exclude: Vec<Vec<u8>>,
    ) -> anyhow::Result<(Value, String)> {
        let (options, state) = self.webauthn.start_passkey_registration(
            handle,
            user_name,
            display_name,
            Some(exclude),
        )?;
        let mut options = serde_json::to_value(options)?;
        let mut state = serde_json::to_value(state)?;
        discoverable_with_eddsa(&mut options, &mut state)?;
        // Proves the patched state still reads as webauthn-rs's own.
        serde_json::from_value::<PasskeyRegistration>(state.clone())?;
        Ok((options, state.to_string()))
    }

    /// The new passkey, if the browser's answer proves it.
    pub fn finish_registration(&self, state: &str, credential: Value) -> Result<Passkey, Refused> {
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(invalid)?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(invalid)?;
        self.webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(invalid)
    }

    /// Options for `navigator.credentials.get()` with no user named (the
    /// authenticator offers its discoverable credentials), and the state to keep.
    pub fn start_login(&self) -> anyhow::Result<(Value, String)> {
        let (options, state) = self.webauthn.start_discoverable_authentication()?;
        let mut options = serde_json::to_value(options)?;
        // webauthn-rs asks for conditional mediation (autofill); a page that starts
        // the login from a button wants the modal prompt, and one that wants
        // autofill adds `mediation: "conditional"` itself (see the README).
        if let Some(map) = options.as_object_mut() {
            map.remove("mediation");
        }
        Ok((options, serde_json::to_string(&state)?))
    }

    /// Reads the browser's answer to a login: the credential, and the user handle
    /// and credential id it names (checked only by [`Ceremonies::finish_login`]).
    pub fn identify(&self, credential: Value) -> Option<(PublicKeyCredential, Uuid, Vec<u8>)> {
        let credential: PublicKeyCredential = serde_json::from_value(credential).ok()?;
        let (handle, id) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .ok()?;
        let id = id.to_vec();
        Some((credential, handle, id))
    }

    /// Verifies the login answer against the stored passkey; on success, the
    /// passkey with its counter moved forward, and that counter.
    pub fn finish_login(
        &self,
        state: &str,
        credential: &PublicKeyCredential,
        mut passkey: Passkey,
    ) -> Result<(Passkey, u32), Refused> {
        let state: DiscoverableAuthentication = serde_json::from_str(state).map_err(invalid)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(credential, state, &passkey)
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => Refused::CounterRegressed,
                e => invalid(e),
            })?;
        passkey.update_credential(&result);
        Ok((passkey, result.counter()))
    }
}

fn invalid(why: impl std::fmt::Display) -> Refused {
    Refused::Invalid(why.to_string())
}

/// webauthn-rs asks passkeys for `residentKey: discouraged` and offers ES256, ES384
/// and RS256; the contract wants a discoverable credential (login without an
/// email) and EdDSA as well. Both the options and the kept state change, as the
/// state lists the algorithms a registration may use.
fn discoverable_with_eddsa(options: &mut Value, state: &mut Value) -> anyhow::Result<()> {
    let public_key = options
        .get_mut("publicKey")
        .context("creation options without publicKey")?;
    public_key["authenticatorSelection"]["residentKey"] = json!("required");
    public_key["authenticatorSelection"]["requireResidentKey"] = json!(true);
    public_key["pubKeyCredParams"]
        .as_array_mut()
        .context("creation options without pubKeyCredParams")?
        .push(json!({"type": "public-key", "alg": COSE_EDDSA}));
    let rs = state
        .get_mut("rs")
        .context("registration state without rs")?;
    rs["require_resident_key"] = json!(true);
    rs["credential_algorithms"]
        .as_array_mut()
        .context("registration state without credential_algorithms")?
        .push(json!("EDDSA"));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ceremonies() -> Ceremonies {
        let rp = RelyingParty {
            id: "auth.test".into(),
            origin: "https://auth.test".parse().unwrap(),
        };
        Ceremonies::new(&rp, "Test").unwrap()
    }

    #[test]
    fn registration_asks_for_a_discoverable_credential_with_es256_and_eddsa() {
        let handle = Uuid::new_v4();
        let (options, state) = ceremonies()
            .start_registration(handle, "ada@example.com", "Ada", vec![])
            .unwrap();
        let pk = &options["publicKey"];
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        let algs: Vec<i64> = pk["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alg"].as_i64().unwrap())
            .collect();
        assert!(algs.contains(&-7) && algs.contains(&-8), "{algs:?}");
        let state: Value = serde_json::from_str(&state).unwrap();
        assert!(
            state["rs"]["credential_algorithms"]
                .as_array()
                .unwrap()
                .contains(&json!("EDDSA"))
        );
    }

    #[test]
    fn login_options_name_no_credentials_and_no_mediation() {
        let (options, _) = ceremonies().start_login().unwrap();
        assert!(options.get("mediation").is_none(), "{options}");
        assert_eq!(options["publicKey"]["rpId"], "auth.test");
    }
}
