-- Durable mail and the security audit trail.

-- Transactional outbox: a message is written in the transaction of the change
-- that causes it; a background worker sends it with retries.
create table outbox (
    id              uuid        not null,
    recipient       text        not null,
    subject         text        not null,
    body_text       text        not null,
    body_html       text        not null,
    created_at      timestamptz not null,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null,
    -- A worker that claimed the message holds it until then (crash safety).
    locked_until    timestamptz,
    last_error      text,
    sent_at         timestamptz,
    dead_at         timestamptz,
    constraint outbox_pkey primary key (id),
    constraint outbox_attempts_check check (attempts >= 0)
);
create index outbox_due_idx on outbox (next_attempt_at) where sent_at is null and dead_at is null;

create table audit_events (
    id         uuid        not null,
    user_id    uuid,
    kind       text        not null,
    session_id uuid,
    ip         text,
    user_agent text,
    created_at timestamptz not null,
    constraint audit_events_pkey primary key (id),
    constraint audit_events_user_id_fkey foreign key (user_id) references users (id) on delete cascade
);
create index audit_events_user_idx on audit_events (user_id, created_at desc, id desc);
