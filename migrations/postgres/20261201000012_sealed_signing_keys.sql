-- The private keys of signing_keys are kept sealed with SECRETS_KEY
-- (XChaCha20-Poly1305: nonce, ciphertext, tag), as TOTP secrets and queued links
-- are: a dump of the database alone signs no token. Rows written before this
-- migration hold plaintext PKCS#8 (sealed = false); SQL cannot seal them, so the
-- service seals them at start-up, after the migrations, and sets sealed = true.
alter table signing_keys add column sealed boolean not null default false;
