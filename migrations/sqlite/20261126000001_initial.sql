-- The same schema as migrations/postgres, in SQLite's types: ids are 16-byte
-- blobs (UUIDs), times are RFC 3339 text in UTC (which sorts chronologically, as
-- every time is written by the service in the same format), hashes are blobs.
-- STRICT tables refuse values of the wrong type, as PostgreSQL would.

create table users (
    id                blob not null,
    email             text not null,
    -- Lowercased email, computed by the service; uniqueness and lookups use it.
    email_key         text not null,
    password_hash     text not null,
    name              text,
    email_verified_at text,
    created_at        text not null,
    updated_at        text not null,
    constraint users_pkey primary key (id),
    constraint users_email_key unique (email_key),
    constraint users_email_trimmed check (email = trim(email) and email <> '')
) strict;

create table sessions (
    id              blob not null,
    user_id         blob not null,
    created_at      text not null,
    last_used_at    text not null,
    idle_expires_at text not null,
    expires_at      text not null,
    revoked_at      text,
    revoked_reason  text,
    ip              text,
    user_agent      text,
    constraint sessions_pkey primary key (id),
    constraint sessions_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint sessions_idle_within_absolute check (idle_expires_at <= expires_at)
) strict;
create index sessions_user_id_idx on sessions (user_id);

create table refresh_tokens (
    token_hash blob not null,
    session_id blob not null,
    created_at text not null,
    rotated_at text,
    constraint refresh_tokens_pkey primary key (token_hash),
    constraint refresh_tokens_session_id_fkey foreign key (session_id) references sessions (id) on delete cascade,
    constraint refresh_tokens_hash_length check (length(token_hash) = 32)
) strict;
create index refresh_tokens_session_id_idx on refresh_tokens (session_id);

create table email_tokens (
    token_hash blob not null,
    user_id    blob not null,
    purpose    text not null,
    created_at text not null,
    expires_at text not null,
    used_at    text,
    constraint email_tokens_pkey primary key (token_hash),
    constraint email_tokens_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint email_tokens_purpose_check check (purpose in ('verify_email', 'password_reset')),
    constraint email_tokens_hash_length check (length(token_hash) = 32)
) strict;
create index email_tokens_user_id_idx on email_tokens (user_id);

create table signing_keys (
    kid         text not null,
    private_key blob not null,
    created_at  text not null,
    retired_at  text,
    constraint signing_keys_pkey primary key (kid)
) strict;
create unique index signing_keys_one_current on signing_keys ((retired_at is null)) where retired_at is null;
