-- The webhook outbox (see migrations/postgres for what each column means).

create table webhook_outbox (
    id              text    not null,
    event_type      text    not null,
    payload         text    not null,
    created_at      text    not null,
    attempts        integer not null default 0,
    next_attempt_at text    not null,
    locked_until    text,
    last_error      text,
    sent_at         text,
    dead_at         text,
    constraint webhook_outbox_pkey primary key (id),
    constraint webhook_outbox_attempts_check check (attempts >= 0)
) strict;
create index webhook_outbox_due_idx on webhook_outbox (next_attempt_at)
    where sent_at is null and dead_at is null;
