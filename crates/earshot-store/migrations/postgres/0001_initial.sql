-- earshot on PostgreSQL.

-- Folds the accents SQLite's `remove_diacritics` folds (é → e, å → a; æ and ø stay), so
-- search finds the same posts on both backends. IMMUTABLE, so it can feed a generated column.
CREATE FUNCTION earshot_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT translate(t,
        'ÀÁÂÃÄÅàáâãäåÈÉÊËèéêëÌÍÎÏìíîïÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿÇçÑñ',
        'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuYyyCcNn')
$$;

CREATE TABLE conversations (
    id                   bigserial   PRIMARY KEY,
    network              text        NOT NULL,
    customer_external_id text        NOT NULL,
    customer             jsonb       NOT NULL,
    root_external_id     text        NOT NULL,
    status               text        NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    assignee             text,
    priority_score       real        NOT NULL,
    band                 text        NOT NULL,
    priority             jsonb       NOT NULL,
    signals              jsonb       NOT NULL,
    language             text        NOT NULL,
    intent               text        NOT NULL,
    sentiment            text        NOT NULL,
    opened_at            timestamptz NOT NULL,
    last_activity_at     timestamptz NOT NULL,
    awaiting_since       timestamptz,
    response_due         timestamptz,
    first_response_due   timestamptz NOT NULL,
    first_response_at    timestamptz,
    first_response_secs  bigint,
    resolved_at          timestamptz,
    post_count           integer     NOT NULL
);

-- The inbox: one status, best first. The columns after `id` are the inbox filters, so a
-- filter is checked in the index and a non-matching conversation's row is never read.
CREATE INDEX conversations_inbox ON conversations (
    status, priority_score DESC, id,
    network, language, intent, sentiment, assignee,
    awaiting_since, response_due, first_response_at, first_response_due
);
-- An agent's own inbox.
CREATE INDEX conversations_assigned ON conversations (assignee, status, priority_score DESC, id)
    WHERE assignee IS NOT NULL;
CREATE INDEX conversations_by_customer ON conversations (network, customer_external_id, last_activity_at);
CREATE INDEX conversations_awaiting ON conversations (id) WHERE awaiting_since IS NOT NULL;
CREATE INDEX conversations_opened ON conversations (opened_at);

CREATE TABLE posts (
    id                  bigserial   PRIMARY KEY,
    network             text        NOT NULL,
    external_id         text        NOT NULL,
    author_external_id  text        NOT NULL,
    author_handle       text        NOT NULL,
    author_display_name text,
    author_followers    bigint,
    author_verified     boolean     NOT NULL,
    author_bot          boolean     NOT NULL,
    text                text        NOT NULL,
    created_at          timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    in_reply_to         text,
    url                 text,
    from_brand          boolean     NOT NULL,
    conversation_id     bigint      REFERENCES conversations (id),
    lang                text        NOT NULL,
    sentiment           text        NOT NULL,
    sentiment_score     real        NOT NULL,
    intent              text        NOT NULL,
    urgency             text        NOT NULL,
    fingerprint         bigint      NOT NULL, -- the u64 SimHash as its signed 64-bit twin
    analysis            jsonb       NOT NULL,
    raw                 text,
    search              tsvector    GENERATED ALWAYS AS (to_tsvector('simple', earshot_fold(text))) STORED,
    UNIQUE (network, external_id)
);

CREATE INDEX posts_by_conversation ON posts (conversation_id, created_at, id);
CREATE INDEX posts_orphans ON posts (network, in_reply_to)
    WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL;
CREATE INDEX posts_by_created ON posts (created_at);
CREATE INDEX posts_search ON posts USING gin (search);

CREATE TABLE replies (
    id              bigserial   PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id),
    network         text        NOT NULL,
    in_reply_to     text        NOT NULL,
    text            text        NOT NULL,
    author          text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    idempotency_key text        NOT NULL UNIQUE,
    external_id     text,
    error           text,
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);

CREATE INDEX replies_by_conversation ON replies (conversation_id, id);
CREATE INDEX replies_queued ON replies (created_at, id) WHERE state = 'queued';

CREATE TABLE audit (
    id              bigserial   PRIMARY KEY,
    conversation_id bigint      REFERENCES conversations (id),
    actor           text        NOT NULL,
    action          text        NOT NULL,
    detail          jsonb       NOT NULL,
    at              timestamptz NOT NULL
);

CREATE INDEX audit_by_conversation ON audit (conversation_id, id);

CREATE TABLE cursors (
    source     text        PRIMARY KEY,
    cursor     text        NOT NULL,
    updated_at timestamptz NOT NULL
);
