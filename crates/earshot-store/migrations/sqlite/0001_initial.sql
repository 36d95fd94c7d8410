-- earshot on SQLite. Timestamps are INTEGER microseconds since 1970-01-01 UTC (indexable,
-- the same precision as PostgreSQL); JSON columns are TEXT.

CREATE TABLE conversations (
    id                   INTEGER PRIMARY KEY,
    network              TEXT    NOT NULL,
    customer_external_id TEXT    NOT NULL,
    customer             TEXT    NOT NULL, -- JSON Author
    root_external_id     TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    assignee             TEXT,
    priority_score       REAL    NOT NULL,
    band                 TEXT    NOT NULL,
    priority             TEXT    NOT NULL, -- JSON Priority (score, band, factors)
    signals              TEXT    NOT NULL, -- JSON PrioritySignals
    language             TEXT    NOT NULL,
    intent               TEXT    NOT NULL,
    sentiment            TEXT    NOT NULL,
    opened_at            INTEGER NOT NULL,
    last_activity_at     INTEGER NOT NULL,
    awaiting_since       INTEGER,
    response_due         INTEGER,
    first_response_due   INTEGER NOT NULL,
    first_response_at    INTEGER,
    first_response_secs  INTEGER,
    resolved_at          INTEGER,
    post_count           INTEGER NOT NULL
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
-- Threading: a customer's latest conversation on a network.
CREATE INDEX conversations_by_customer ON conversations (network, customer_external_id, last_activity_at);
-- rescore_open: only conversations owed an answer.
CREATE INDEX conversations_awaiting ON conversations (id) WHERE awaiting_since IS NOT NULL;
-- response_samples.
CREATE INDEX conversations_opened ON conversations (opened_at);

CREATE TABLE posts (
    id                  INTEGER PRIMARY KEY,
    network             TEXT    NOT NULL,
    external_id         TEXT    NOT NULL,
    author_external_id  TEXT    NOT NULL,
    author_handle       TEXT    NOT NULL,
    author_display_name TEXT,
    author_followers    INTEGER,
    author_verified     INTEGER NOT NULL,
    author_bot          INTEGER NOT NULL,
    text                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    received_at         INTEGER NOT NULL,
    in_reply_to         TEXT,
    url                 TEXT,
    from_brand          INTEGER NOT NULL,
    conversation_id     INTEGER REFERENCES conversations (id),
    lang                TEXT    NOT NULL,
    sentiment           TEXT    NOT NULL,
    sentiment_score     REAL    NOT NULL,
    intent              TEXT    NOT NULL,
    urgency             TEXT    NOT NULL,
    fingerprint         INTEGER NOT NULL, -- the u64 SimHash, stored as its signed 64-bit twin
    analysis            TEXT    NOT NULL, -- JSON Analysis
    raw                 TEXT,
    UNIQUE (network, external_id)
);

-- A conversation's posts, oldest first; its latest customer post.
CREATE INDEX posts_by_conversation ON posts (conversation_id, created_at, id);
-- Orphans: replies whose parent has not arrived yet, by the parent they wait for.
CREATE INDEX posts_orphans ON posts (network, in_reply_to)
    WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL;
-- volume.
CREATE INDEX posts_by_created ON posts (created_at);

-- Full-text search over post text. Ingest adds each new post's row itself, last in its
-- transaction: an AFTER INSERT trigger would make every post insert open a statement
-- savepoint, and FTS5 flushes its pending index at each savepoint (a segment per post).
-- Deletes and text edits are kept in step by triggers.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text,
    content = 'posts',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE replies (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    network         TEXT    NOT NULL,
    in_reply_to     TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    idempotency_key TEXT    NOT NULL UNIQUE,
    external_id     TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);

CREATE INDEX replies_by_conversation ON replies (conversation_id, id);
CREATE INDEX replies_queued ON replies (created_at, id) WHERE state = 'queued';

CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations (id),
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    detail          TEXT    NOT NULL, -- JSON
    at              INTEGER NOT NULL
);

CREATE INDEX audit_by_conversation ON audit (conversation_id, id);

CREATE TABLE cursors (
    source     TEXT    PRIMARY KEY,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
