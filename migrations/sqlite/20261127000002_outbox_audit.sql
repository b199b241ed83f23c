-- Durable mail and the security audit trail (see migrations/postgres).

create table outbox (
    id              blob    not null,
    recipient       text    not null,
    subject         text    not null,
    body_text       text    not null,
    body_html       text    not null,
    created_at      text    not null,
    attempts        integer not null default 0,
    next_attempt_at text    not null,
    locked_until    text,
    last_error      text,
    sent_at         text,
    dead_at         text,
    constraint outbox_pkey primary key (id),
    constraint outbox_attempts_check check (attempts >= 0)
) strict;
create index outbox_due_idx on outbox (next_attempt_at) where sent_at is null and dead_at is null;

create table audit_events (
    id         blob not null,
    user_id    blob,
    kind       text not null,
    session_id blob,
    ip         text,
    user_agent text,
    created_at text not null,
    constraint audit_events_pkey primary key (id),
    constraint audit_events_user_id_fkey foreign key (user_id) references users (id) on delete cascade
) strict;
create index audit_events_user_idx on audit_events (user_id, created_at desc, id desc);
