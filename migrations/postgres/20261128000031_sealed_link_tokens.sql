-- The token of a queued link, sealed with SECRETS_KEY (XChaCha20-Poly1305: nonce,
-- ciphertext, tag). The bodies hold a placeholder where it goes, so no version of
-- the row (dead tuples included) ever holds a usable link; the outbox worker
-- unseals it when sending, and forgets it once the message is sent or dead.
alter table outbox add column sealed_token bytea;
