-- Safe on a public address, and every state true (issue 11).

-- A session unused for a while ends: when each was last seen (NULL: since it was created).
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;

-- Sign-in throttling per (user name, client address): failures in a row and the earliest
-- time the next attempt is checked at all. The row is locked while it is read and booked, so
-- parallel guesses are counted one by one.
CREATE TABLE login_throttle (
    key        text        PRIMARY KEY,
    failures   integer     NOT NULL,
    next_at    timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Signed deliveries already taken (`webhook-id`, GitHub's `X-GitHub-Delivery`): the same one
-- again within its window is a replay. Shared by every process on the store.
CREATE TABLE webhook_deliveries (
    source      text        NOT NULL,
    delivery_id text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (source, delivery_id)
);

CREATE INDEX webhook_deliveries_by_expiry ON webhook_deliveries (expires_at);

-- Replies gain the state `not_sent` (no way to post on that network: nothing was posted) and
-- a time for the next automatic attempt after a failure.
ALTER TABLE replies DROP CONSTRAINT replies_state_check;
ALTER TABLE replies ADD CONSTRAINT replies_state_check
    CHECK (state IN ('queued', 'sent', 'failed', 'not_sent'));
ALTER TABLE replies ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX replies_retry ON replies (next_attempt_at, id)
    WHERE state = 'failed' AND next_attempt_at IS NOT NULL;
