-- The people who work the inbox and what they leave on it. Tokens are stored as their
-- SHA-256 (hex) and passwords as argon2id hashes: the database signs nobody in.

CREATE TABLE users (
    id            bigserial   PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'agent', 'viewer')),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE sessions (
    token_hash text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    csrf_token text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           bigserial   PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id),
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    token_hash   text        NOT NULL UNIQUE,
    scopes       text        NOT NULL, -- comma-separated
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Sign-in attempts by user name and by address, for rate limiting across processes.
CREATE TABLE login_attempts (
    id        bigserial   PRIMARY KEY,
    key       text        NOT NULL,
    succeeded boolean     NOT NULL,
    at        timestamptz NOT NULL
);

CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);

CREATE TABLE notes (
    id              bigserial   PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id),
    author          text        NOT NULL,
    text            text        NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE INDEX notes_by_conversation ON notes (conversation_id, id);

CREATE TABLE conversation_labels (
    conversation_id bigint  NOT NULL REFERENCES conversations (id),
    label           text    NOT NULL,
    position        integer NOT NULL,
    PRIMARY KEY (conversation_id, label)
);

CREATE INDEX conversation_labels_by_label ON conversation_labels (label);

CREATE TABLE saved_views (
    id      bigserial PRIMARY KEY,
    user_id bigint    NOT NULL REFERENCES users (id),
    name    text      NOT NULL,
    query   text      NOT NULL,
    UNIQUE (user_id, name)
);
