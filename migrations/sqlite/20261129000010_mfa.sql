-- A second factor (see migrations/postgres).

create table totp_credentials (
    user_id        blob    not null,
    sealed_secret  blob    not null,
    created_at     text    not null,
    confirmed_at   text,
    last_used_step integer,
    constraint totp_credentials_pkey primary key (user_id),
    constraint totp_credentials_user_id_fkey foreign key (user_id) references users (id) on delete cascade
) strict;

create table recovery_codes (
    user_id    blob not null,
    code_hash  blob not null,
    created_at text not null,
    used_at    text,
    constraint recovery_codes_pkey primary key (user_id, code_hash),
    constraint recovery_codes_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint recovery_codes_hash_length check (length(code_hash) = 32)
) strict;

create table mfa_challenges (
    token_hash      blob    not null,
    user_id         blob    not null,
    created_at      text    not null,
    expires_at      text    not null,
    failed_attempts integer not null default 0,
    used_at         text,
    constraint mfa_challenges_pkey primary key (token_hash),
    constraint mfa_challenges_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint mfa_challenges_hash_length check (length(token_hash) = 32)
) strict;
create index mfa_challenges_user_id_idx on mfa_challenges (user_id);

alter table sessions add column auth_method text not null default 'password';

alter table audit_events add column method text;
