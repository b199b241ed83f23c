-- The webhook outbox: one row per webhook, written in the transaction of the
-- change it announces; a background worker POSTs it to WEBHOOK_URL with retries.
-- No foreign key to users: a webhook about a deleted user is still delivered.
create table webhook_outbox (
    -- The `webhook-id` header, the same on every attempt (`msg_` + a UUIDv7).
    id              text        not null,
    event_type      text        not null,
    -- The JSON body, fixed when queued (it never holds a secret).
    payload         text        not null,
    created_at      timestamptz not null,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null,
    -- A worker that claimed the webhook holds it until then (crash safety).
    locked_until    timestamptz,
    last_error      text,
    sent_at         timestamptz,
    dead_at         timestamptz,
    constraint webhook_outbox_pkey primary key (id),
    constraint webhook_outbox_attempts_check check (attempts >= 0)
);
create index webhook_outbox_due_idx on webhook_outbox (next_attempt_at)
    where sent_at is null and dead_at is null;
