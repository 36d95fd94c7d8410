-- Safe on a public address, and every state true (issue 11).

-- A session unused for a while ends: when each was last seen (NULL: since it was created).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

-- Sign-in throttling per (user name, client address): failures in a row and the earliest
-- time the next attempt is checked at all. A row is taken in the same transaction as it is
-- read, so parallel guesses are counted one by one.
CREATE TABLE login_throttle (
    key        TEXT    PRIMARY KEY,
    failures   INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Signed deliveries already taken (`webhook-id`, GitHub's `X-GitHub-Delivery`): the same one
-- again within its window is a replay. Shared by every process on the store.
CREATE TABLE webhook_deliveries (
    source      TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (source, delivery_id)
);

CREATE INDEX webhook_deliveries_by_expiry ON webhook_deliveries (expires_at);

-- Replies gain the state `not_sent` (no way to post on that network: nothing was posted) and
-- a time for the next automatic attempt after a failure. SQLite cannot change a CHECK, so
-- the table is rebuilt (foreign keys are off while migrations run).
CREATE TABLE replies_new (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    network         TEXT    NOT NULL,
    in_reply_to     TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'not_sent')),
    idempotency_key TEXT    NOT NULL UNIQUE,
    external_id     TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    claimed_until   INTEGER,
    next_attempt_at INTEGER
);

INSERT INTO replies_new (id, conversation_id, network, in_reply_to, text, author, state,
                         idempotency_key, external_id, error, attempts, created_at, sent_at,
                         claimed_until)
SELECT id, conversation_id, network, in_reply_to, text, author, state, idempotency_key,
       external_id, error, attempts, created_at, sent_at, claimed_until
FROM replies;

DROP TABLE replies;
ALTER TABLE replies_new RENAME TO replies;

CREATE INDEX replies_by_conversation ON replies (conversation_id, id);
CREATE INDEX replies_queued ON replies (created_at, id) WHERE state = 'queued';
CREATE INDEX replies_by_external_id ON replies (network, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX replies_retry ON replies (next_attempt_at, id)
    WHERE state = 'failed' AND next_attempt_at IS NOT NULL;
