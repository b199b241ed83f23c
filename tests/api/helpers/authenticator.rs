//! A software authenticator and the browser around it, for the passkey tests: it
//! answers `navigator.credentials.create()` / `.get()` options with the WebAuthn
//! Level 3 JSON a browser's `credential.toJSON()` gives, with ES256 keys,
//! discoverable credentials (user handles kept) and a signature counter.
//! (webauthn-authenticator-rs's SoftPasskey keeps no user handle, so it cannot
//! log in without a username.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, Tokens};
use sha2::{Digest, Sha256};

/// One credential the authenticator made.
pub struct Credential {
    pub id: Vec<u8>,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    pub key: SigningKey,
    /// The signature counter; each assertion increments it first.
    pub counter: u32,
}

pub struct Authenticator {
    /// The origin the "browser" puts in client data (the page's origin).
    pub origin: String,
    pub credentials: Vec<Credential>,
}

impl Authenticator {
    pub fn new(origin: &str) -> Authenticator {
        Authenticator {
            origin: origin.to_owned(),
            credentials: Vec::new(),
        }
    }

    /// `navigator.credentials.create(options)` then `toJSON()`.
    pub fn create(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id").to_owned();
        let user_handle = b64d(pk["user"]["id"].as_str().expect("user.id"));
        let client_data = self.client_data("webauthn.create", pk);
        let id = random_bytes(32);
        let key = SigningKey::from_slice(&random_bytes(32)).expect("a P-256 key");
        let point = key.verifying_key().to_encoded_point(false);
        let cose_key = cbor_map(&[
            (cbor_int(1), cbor_int(2)),  // kty: EC2
            (cbor_int(3), cbor_int(-7)), // alg: ES256
            (cbor_int(-1), cbor_int(1)), // crv: P-256
            (cbor_int(-2), cbor_bytes(point.x().expect("x"))),
            (cbor_int(-3), cbor_bytes(point.y().expect("y"))),
        ]);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0; 16]); // AAGUID
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key);
        let attestation = cbor_map(&[
            (cbor_text("fmt"), cbor_text("none")),
            (cbor_text("attStmt"), cbor_map(&[])),
            (cbor_text("authData"), cbor_bytes(&auth_data)),
        ]);
        let response = json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        });
        self.credentials.push(Credential {
            id,
            rp_id,
            user_handle,
            key,
            counter: 0,
        });
        response
    }

    /// `navigator.credentials.get(options)` with the newest credential, then `toJSON()`.
    pub fn get(&mut self, options: &Value) -> Value {
        let last = self.credentials.len() - 1;
        self.get_with(last, options)
    }

    /// The same with the credential at `index`.
    pub fn get_with(&mut self, index: usize, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let client_data = self.client_data("webauthn.get", pk);
        let cred = &mut self.credentials[index];
        assert_eq!(pk["rpId"].as_str(), Some(cred.rp_id.as_str()), "rpId");
        cred.counter += 1;
        let mut auth_data = Sha256::digest(cred.rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // user present, user verified
        auth_data.extend_from_slice(&cred.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: Signature = cred.key.sign(&signed);
        json!({
            "id": b64(&cred.id),
            "rawId": b64(&cred.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&cred.user_handle),
            },
            "clientExtensionResults": {},
        })
    }

    fn client_data(&self, kind: &str, public_key: &Value) -> String {
        let challenge = public_key["challenge"].as_str().expect("challenge");
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64d(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
}

// --- the little CBOR an attestation needs ------------------------------------------

fn cbor_head(major: u8, n: u64) -> Vec<u8> {
    let major = major << 5;
    match n {
        0..=23 => vec![major | n as u8],
        24..=0xff => vec![major | 24, n as u8],
        0x100..=0xffff => [vec![major | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        _ => [vec![major | 26], (n as u32).to_be_bytes().to_vec()].concat(),
    }
}

fn cbor_int(n: i64) -> Vec<u8> {
    if n >= 0 {
        cbor_head(0, n as u64)
    } else {
        cbor_head(1, (-1 - n) as u64)
    }
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    [cbor_head(2, bytes.len() as u64), bytes.to_vec()].concat()
}

fn cbor_text(text: &str) -> Vec<u8> {
    [cbor_head(3, text.len() as u64), text.as_bytes().to_vec()].concat()
}

fn cbor_map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = cbor_head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}

// --- Passkey ceremonies over HTTP ---------------------------------------------------

impl TestApp {
    pub async fn passkey_start(&self, session: &Tokens) -> (String, Value) {
        let reply = self
            .post_json_bearer("/passkeys/register/start", &session.access, &json!({}))
            .await;
        reply.assert_status(StatusCode::OK);
        let id = reply.body["challenge_id"].as_str().expect("challenge_id");
        (id.to_owned(), reply.body["options"].clone())
    }

    pub async fn passkey_finish(
        &self,
        session: &Tokens,
        challenge: &str,
        credential: &Value,
    ) -> Reply {
        let body = json!({"challenge_id": challenge, "name": "Laptop", "credential": credential});
        self.post_json_bearer("/passkeys/register/finish", &session.access, &body)
            .await
    }

    /// Registers a passkey on `authenticator` for the session's user.
    pub async fn add_passkey(&self, session: &Tokens, authenticator: &mut Authenticator) -> Value {
        let (challenge, options) = self.passkey_start(session).await;
        let credential = authenticator.create(&options);
        let reply = self.passkey_finish(session, &challenge, &credential).await;
        reply.assert_status(StatusCode::CREATED);
        reply.body
    }

    pub async fn passkey_login_start(&self) -> (String, Value) {
        let reply = self.post_json("/login/passkey/start", &json!({})).await;
        reply.assert_status(StatusCode::OK);
        let id = reply.body["challenge_id"].as_str().expect("challenge_id");
        (id.to_owned(), reply.body["options"].clone())
    }

    /// A whole passkey login: a challenge, `authenticator`'s answer, the reply.
    pub async fn passkey_login(&self, authenticator: &mut Authenticator) -> Reply {
        let (challenge, options) = self.passkey_login_start().await;
        let assertion = authenticator.get(&options);
        self.passkey_login_finish(&challenge, &assertion).await
    }

    pub async fn passkey_login_finish(&self, challenge: &str, credential: &Value) -> Reply {
        let body = json!({"challenge_id": challenge, "credential": credential});
        self.post_json("/login/passkey/finish", &body).await
    }
}
