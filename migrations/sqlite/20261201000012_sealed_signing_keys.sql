-- Sealed private keys: see migrations/postgres (sealed: 0 = plaintext PKCS#8
-- written before this migration, 1 = sealed with SECRETS_KEY).
alter table signing_keys add column sealed integer not null default 0;
