//! The private signing keys kept in the database are sealed with SECRETS_KEY
//! (`Purpose::SigningKey`), as TOTP secrets and the tokens of queued links
//! are: a copy of the database alone signs no token. Keys stored before keys
//! were sealed are sealed at start-up, after the migrations (SQL cannot seal).

use chrono::{DateTime, Utc};

use super::crypto::SigningKey;
use crate::secrets::{Purpose, SecretsKey};
use crate::store::{SigningKeyRow, Store};

/// The row that stores `key`, sealed.
pub(super) fn sealed_row(
    key: &SigningKey,
    created_at: DateTime<Utc>,
    secrets: &SecretsKey,
) -> anyhow::Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: key.kid.clone(),
        private_key: secrets.seal(Purpose::SigningKey, &key.pkcs8_der)?,
        created_at,
        retired_at: None,
        sealed: true,
    })
}

/// `row` with its private key in plaintext. A key still in plaintext (stored
/// by an instance of an earlier version during an upgrade) is taken as it is;
/// the next start-up seals it.
pub(super) fn opened(
    mut row: SigningKeyRow,
    secrets: &SecretsKey,
) -> anyhow::Result<SigningKeyRow> {
    if row.sealed {
        row.private_key = secrets
            .open(Purpose::SigningKey, &row.private_key)
            .map_err(|e| anyhow::anyhow!("signing key {}: {e}", row.kid))?;
        row.sealed = false;
    }
    Ok(row)
}

/// Seals every key still stored in plaintext, once every key already sealed
/// was found to open with this SECRETS_KEY: an instance started with another
/// key stops here, before it could leave keys sealed under two different ones.
/// Instances starting at once take turns (the keys are locked), and the later
/// ones find nothing left to seal.
pub(super) async fn seal_stored_keys(store: &Store, secrets: &SecretsKey) -> anyhow::Result<()> {
    let mut db = store.begin().await?;
    let rows = db.lock_signing_keys().await?;
    let (sealed, plaintext): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.sealed);
    for row in sealed {
        opened(row, secrets)?;
    }
    let mut kids = Vec::new();
    for row in plaintext {
        let sealed = secrets.seal(Purpose::SigningKey, &row.private_key)?;
        if db.seal_signing_key(&row.kid, &sealed).await? {
            kids.push(row.kid);
        }
    }
    db.commit().await?;
    if !kids.is_empty() {
        tracing::info!(
            ?kids,
            "signing keys stored in plaintext are now sealed with SECRETS_KEY"
        );
    }
    Ok(())
}
