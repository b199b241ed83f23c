-- Requests for a mailed link (password reset, verification resend), queued as
-- they arrive and carried out by a background worker. The request itself does the
-- same work whether or not the address has an account, so neither its answer
-- nor its timing tells.
create table link_requests (
    id         uuid        not null,
    purpose    text        not null,
    email      text        not null,
    ip         text,
    user_agent text,
    created_at timestamptz not null,
    constraint link_requests_pkey primary key (id),
    constraint link_requests_purpose_check check (purpose in ('verify_email', 'password_reset'))
);
create index link_requests_created_at_idx on link_requests (created_at);
