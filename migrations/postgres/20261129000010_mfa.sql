-- A second factor: TOTP authenticators, recovery codes, the pending MFA step of a
-- login, and how each session was authenticated.

-- One authenticator per user. Unconfirmed (confirmed_at null) it is inert; a new
-- enrolment replaces it. The secret is sealed with SECRETS_KEY.
create table totp_credentials (
    user_id        uuid        not null,
    sealed_secret  bytea       not null,
    created_at     timestamptz not null,
    confirmed_at   timestamptz,
    -- The time step of the last accepted code: only later steps are accepted, so a
    -- code is accepted once on every instance.
    last_used_step bigint,
    constraint totp_credentials_pkey primary key (user_id),
    constraint totp_credentials_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);

-- Recovery codes, by SHA-256 only; each usable once.
create table recovery_codes (
    user_id    uuid        not null,
    code_hash  bytea       not null,
    created_at timestamptz not null,
    used_at    timestamptz,
    constraint recovery_codes_pkey primary key (user_id, code_hash),
    constraint recovery_codes_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint recovery_codes_hash_length check (octet_length(code_hash) = 32)
);

-- A login waiting for its second factor: the mfa_token, by SHA-256 only.
create table mfa_challenges (
    token_hash      bytea       not null,
    user_id         uuid        not null,
    created_at      timestamptz not null,
    expires_at      timestamptz not null,
    failed_attempts integer     not null default 0,
    used_at         timestamptz,
    constraint mfa_challenges_pkey primary key (token_hash),
    constraint mfa_challenges_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint mfa_challenges_hash_length check (octet_length(token_hash) = 32)
);
create index mfa_challenges_user_id_idx on mfa_challenges (user_id);

-- How the session was authenticated (password, password+totp,
-- password+recovery_code): its tokens' amr and aal, through every refresh.
alter table sessions add column auth_method text not null default 'password';

-- The method of a login_succeeded event; null for other events.
alter table audit_events add column method text;
