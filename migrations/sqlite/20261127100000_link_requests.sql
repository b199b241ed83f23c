-- Requests for a mailed link, carried out off the request path (see migrations/postgres).
create table link_requests (
    id         blob not null,
    purpose    text not null,
    email      text not null,
    ip         text,
    user_agent text,
    created_at text not null,
    constraint link_requests_pkey primary key (id),
    constraint link_requests_purpose_check check (purpose in ('verify_email', 'password_reset'))
) strict;
create index link_requests_created_at_idx on link_requests (created_at);
