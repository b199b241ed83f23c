-- The Admin API: disabled accounts and their last login, admin keys, and an
-- audit trail that outlives the users it names.

-- Set when an operator disables the account: its password then gets 403
-- account_disabled, and no new session starts (the login checks it under the
-- row lock that `last_login_at`'s update takes).
alter table users add column disabled_at timestamptz;
-- The start of the user's latest session (password, MFA step, passkey).
alter table users add column last_login_at timestamptz;

-- Keys made with `auth-service admin-keys create --name NAME`, by SHA-256 only.
-- Looked up on every admin request, so a new key works at once on every instance.
create table admin_keys (
    id         uuid        not null,
    name       text        not null,
    key_hash   bytea       not null,
    created_at timestamptz not null,
    constraint admin_keys_pkey primary key (id),
    constraint admin_keys_name_key unique (name),
    constraint admin_keys_key_hash_key unique (key_hash),
    constraint admin_keys_hash_length check (octet_length(key_hash) = 32)
);

-- Deleting a user keeps its events: the user id stays on them as a plain value.
alter table audit_events drop constraint audit_events_user_id_fkey;
-- Who did it, for the actions of operators: the admin key's name; null otherwise.
alter table audit_events add column actor text;
-- GET /admin/events reads the trail across users, newest first.
create index audit_events_created_idx on audit_events (created_at desc, id desc);
