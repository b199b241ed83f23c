-- Passkeys (WebAuthn): each user's random user handle, their credentials, and the
-- state of ceremonies in progress (in the database, so any instance finishes a
-- ceremony another began).

-- The user handle authenticators store with a discoverable credential: random,
-- never the email, the same for all of a user's passkeys.
create table passkey_user_handles (
    user_id uuid not null,
    handle  uuid not null,
    constraint passkey_user_handles_pkey primary key (user_id),
    constraint passkey_user_handles_handle_key unique (handle),
    constraint passkey_user_handles_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);

create table passkeys (
    id            uuid        not null,
    user_id       uuid        not null,
    -- The authenticator's credential id; unique across all users.
    credential_id bytea       not null,
    name          text        not null,
    -- webauthn-rs's `Passkey` as JSON: public key, algorithm, flags, counter.
    credential    text        not null,
    -- The highest signature counter seen; a login must present a higher one
    -- (unless the authenticator does not count: 0). Checked in the update itself.
    sign_count    bigint      not null,
    created_at    timestamptz not null,
    last_used_at  timestamptz,
    constraint passkeys_pkey primary key (id),
    constraint passkeys_credential_id_key unique (credential_id),
    constraint passkeys_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);
create index passkeys_user_id_idx on passkeys (user_id, created_at);

-- A ceremony in progress: webauthn-rs's state as JSON. Taken (deleted) by the
-- request that finishes it, so each is used once.
create table webauthn_challenges (
    id         uuid        not null,
    purpose    text        not null,
    -- The user registering a passkey; null for a login.
    user_id    uuid,
    state      text        not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    constraint webauthn_challenges_pkey primary key (id),
    constraint webauthn_challenges_purpose_check check (purpose in ('register', 'login')),
    constraint webauthn_challenges_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);
create index webauthn_challenges_expires_at_idx on webauthn_challenges (expires_at);
