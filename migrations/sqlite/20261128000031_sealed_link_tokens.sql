-- The token of a queued link, sealed with SECRETS_KEY; the bodies hold a
-- placeholder where it goes (see migrations/postgres).
alter table outbox add column sealed_token blob;
