-- Satisfaction surveys: one per conversation (a reopened and resolved-again conversation is
-- not asked twice), answered once. Only a SHA-256 of the link's token is kept, so the table
-- cannot be used to answer for a customer.
CREATE TABLE surveys (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL UNIQUE REFERENCES conversations (id),
    token_hash      TEXT    NOT NULL UNIQUE,
    network         TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    agent           TEXT,
    request_id      INTEGER REFERENCES requests (id),
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    reply_id        INTEGER REFERENCES replies (id),
    answered_at     INTEGER,
    score           INTEGER CHECK (score BETWEEN 1 AND 5),
    buy_again       INTEGER CHECK (buy_again IN (0, 1)),
    comment         TEXT    CHECK (length(comment) <= 1000)
);
CREATE INDEX surveys_by_created ON surveys (created_at);
-- Conversations resolved lately and not yet asked, for the survey sender.
CREATE INDEX conversations_resolved ON conversations (resolved_at) WHERE status = 'resolved';
