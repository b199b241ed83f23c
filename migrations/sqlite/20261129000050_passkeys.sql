-- Passkeys (WebAuthn): see migrations/postgres for what each column means.

create table passkey_user_handles (
    user_id blob not null,
    handle  blob not null,
    constraint passkey_user_handles_pkey primary key (user_id),
    constraint passkey_user_handles_handle_key unique (handle),
    constraint passkey_user_handles_user_id_fkey foreign key (user_id) references users (id) on delete cascade
) strict;

create table passkeys (
    id            blob    not null,
    user_id       blob    not null,
    credential_id blob    not null,
    name          text    not null,
    credential    text    not null,
    sign_count    integer not null,
    created_at    text    not null,
    last_used_at  text,
    constraint passkeys_pkey primary key (id),
    constraint passkeys_credential_id_key unique (credential_id),
    constraint passkeys_user_id_fkey foreign key (user_id) references users (id) on delete cascade
) strict;
create index passkeys_user_id_idx on passkeys (user_id, created_at);

create table webauthn_challenges (
    id         blob not null,
    purpose    text not null,
    user_id    blob,
    state      text not null,
    created_at text not null,
    expires_at text not null,
    constraint webauthn_challenges_pkey primary key (id),
    constraint webauthn_challenges_purpose_check check (purpose in ('register', 'login')),
    constraint webauthn_challenges_user_id_fkey foreign key (user_id) references users (id) on delete cascade
) strict;
create index webauthn_challenges_expires_at_idx on webauthn_challenges (expires_at);
