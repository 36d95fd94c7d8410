-- The loop: requests and their asks, promises, releases, notifications, opt-outs.
CREATE TABLE requests (
    id          INTEGER PRIMARY KEY,
    title       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    merged_into INTEGER REFERENCES requests (id),
    tracker_url TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- A post asks for one request at most; moving it is an update.
CREATE TABLE request_posts (
    post_id     INTEGER PRIMARY KEY REFERENCES posts (id),
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    similarity  REAL    NOT NULL,
    assigned_by TEXT    NOT NULL,
    assigned_at INTEGER NOT NULL
);
CREATE INDEX request_posts_by_request ON request_posts (request_id);

CREATE TABLE promises (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER REFERENCES requests (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    reply_id        INTEGER REFERENCES replies (id),
    evidence        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    made_at         INTEGER NOT NULL,
    due_on          TEXT,
    target_release  TEXT,
    confirmed_by    TEXT,
    confirmed_at    INTEGER,
    release_id      INTEGER,
    kept_at         INTEGER
);
CREATE UNIQUE INDEX promises_by_reply ON promises (reply_id) WHERE reply_id IS NOT NULL;
CREATE INDEX promises_by_request ON promises (request_id);

CREATE TABLE releases (
    id         INTEGER PRIMARY KEY,
    version    TEXT    NOT NULL UNIQUE,
    shipped_at INTEGER NOT NULL,
    notes      TEXT    NOT NULL,
    url        TEXT,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE release_requests (
    release_id INTEGER NOT NULL REFERENCES releases (id),
    request_id INTEGER NOT NULL REFERENCES requests (id),
    PRIMARY KEY (release_id, request_id)
);

-- One row per (release, customer): the key is the reply's idempotency key too.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    release_id      INTEGER NOT NULL REFERENCES releases (id),
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    conversation_id INTEGER NOT NULL,
    network         TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    skip_reason     TEXT,
    reply_id        INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX notifications_by_release ON notifications (release_id);

CREATE TABLE opt_outs (
    network            TEXT    NOT NULL,
    author_external_id TEXT    NOT NULL,
    at                 INTEGER NOT NULL,
    PRIMARY KEY (network, author_external_id)
);
