-- The people who work the inbox and what they leave on it. Timestamps are INTEGER
-- microseconds since 1970-01-01 UTC, as everywhere else. Tokens are stored as their
-- SHA-256 (hex) and passwords as argon2id hashes: the database signs nobody in.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'agent', 'viewer')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL, -- comma-separated
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- Sign-in attempts by user name and by address, for rate limiting across processes.
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    key       TEXT    NOT NULL,
    succeeded INTEGER NOT NULL,
    at        INTEGER NOT NULL
);

CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);

CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    author          TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE INDEX notes_by_conversation ON notes (conversation_id, id);

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    label           TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, label)
);

CREATE INDEX conversation_labels_by_label ON conversation_labels (label);

CREATE TABLE saved_views (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name    TEXT    NOT NULL,
    query   TEXT    NOT NULL,
    UNIQUE (user_id, name)
);
