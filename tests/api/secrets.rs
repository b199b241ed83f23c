//! SECRETS_KEY: configured, or generated once into DATA_DIR/secrets.key and read
//! on later starts; a value that is not 32 bytes of base64 stops start-up.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::helpers::*;

#[tokio::test]
async fn without_secrets_key_one_is_generated_into_data_dir_for_its_owner_only() {
    let dir = std::env::temp_dir().join(format!("auth-keys-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.join("nested").join("folder");
    let app = spawn_app_with(&["--data-dir", data_dir.to_str().expect("UTF-8")]).await;

    let path = data_dir.join("secrets.key");
    let text = std::fs::read_to_string(&path).expect("the key file was created with its folder");
    let key = STANDARD.decode(text.trim()).expect("base64");
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the key");
    }
    // A later start reads the same key rather than making another.
    let restarted = spawn_sibling(&app, &["--data-dir", data_dir.to_str().expect("UTF-8")]).await;
    assert_eq!(std::fs::read_to_string(&path).expect("key file"), text);
    drop(restarted);
    drop(app);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_configured_secrets_key_writes_no_key_file() {
    let app = spawn_app_with(&["--secrets-key", &secrets_key()]).await;
    let path = app.database.data_dir().join("secrets.key");
    assert!(!path.exists(), "{} was written", path.display());
}

#[tokio::test]
async fn a_secrets_key_that_is_not_32_bytes_of_base64_stops_start_up_naming_it() {
    let dir = std::env::temp_dir().join(format!("auth-keys-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.to_str().expect("UTF-8");
    let short = STANDARD.encode([7u8; 31]);
    for bad in [short.as_str(), "not base64 at all!"] {
        let (ok, stderr) = start_binary(&[("DATA_DIR", data_dir), ("SECRETS_KEY", bad)]);
        assert!(!ok, "started with SECRETS_KEY={bad:?}");
        assert!(stderr.contains("SECRETS_KEY"), "{stderr}");
        assert!(stderr.contains("32 bytes"), "{stderr}");
        assert!(!stderr.contains(bad), "the value is repeated: {stderr}");
    }
    // Refused before anything was opened or written.
    assert!(!dir.exists(), "start-up wrote to {data_dir}");
}
