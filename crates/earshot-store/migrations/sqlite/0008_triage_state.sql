-- Triage state that must survive a restart: where routing sent each conversation, the
-- escalations in progress, and when each customer last got an automatic answer.

CREATE TABLE conversation_routing (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    team            TEXT,
    rules           TEXT    NOT NULL, -- the rules that matched, comma-separated
    band            TEXT    NOT NULL,
    routing         TEXT    NOT NULL, -- JSON Routing (team, assignee, labels, band, bumped_by)
    routed_at       INTEGER NOT NULL
);

CREATE INDEX conversation_routing_by_team ON conversation_routing (team);

CREATE TABLE triage_escalations (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    team            TEXT    NOT NULL,
    level           INTEGER NOT NULL, -- the last level paged (0: none yet)
    paged           TEXT,             -- who was paged last
    started_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    closed_at       INTEGER,
    state           TEXT    NOT NULL, -- JSON EscalationState
    updated_at      INTEGER NOT NULL
);

CREATE INDEX triage_escalations_open ON triage_escalations (conversation_id)
    WHERE acknowledged_at IS NULL AND closed_at IS NULL;

CREATE TABLE triage_auto_replies (
    network         TEXT    NOT NULL,
    customer        TEXT    NOT NULL, -- the author's external id
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (network, customer)
);

-- Threading asks, for each brand post, whether it is one of earshot's automatic replies.
CREATE INDEX replies_by_external_id ON replies (network, external_id)
    WHERE external_id IS NOT NULL;
