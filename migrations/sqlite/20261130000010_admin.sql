-- The Admin API (see migrations/postgres for what each column means).

alter table users add column disabled_at text;
alter table users add column last_login_at text;

create table admin_keys (
    id         blob not null,
    name       text not null,
    key_hash   blob not null,
    created_at text not null,
    constraint admin_keys_pkey primary key (id),
    constraint admin_keys_name_key unique (name),
    constraint admin_keys_key_hash_key unique (key_hash),
    constraint admin_keys_hash_length check (length(key_hash) = 32)
) strict;

-- SQLite cannot drop a constraint: the audit trail is rebuilt without the
-- foreign key to users (so deleting a user keeps its events), every row copied
-- as it is. No table references audit_events, so dropping the old one is safe
-- with foreign keys on.
create table audit_events_new (
    id         blob not null,
    user_id    blob,
    kind       text not null,
    session_id blob,
    ip         text,
    user_agent text,
    created_at text not null,
    method     text,
    actor      text,
    constraint audit_events_pkey primary key (id)
) strict;
insert into audit_events_new (id, user_id, kind, session_id, ip, user_agent, created_at, method)
    select id, user_id, kind, session_id, ip, user_agent, created_at, method from audit_events;
drop table audit_events;
alter table audit_events_new rename to audit_events;
create index audit_events_user_idx on audit_events (user_id, created_at desc, id desc);
create index audit_events_created_idx on audit_events (created_at desc, id desc);
