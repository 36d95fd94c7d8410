-- Triage state that must survive a restart: where routing sent each conversation, the
-- escalations in progress, and when each customer last got an automatic answer.

CREATE TABLE conversation_routing (
    conversation_id bigint      PRIMARY KEY REFERENCES conversations (id),
    team            text,
    rules           text        NOT NULL, -- the rules that matched, comma-separated
    band            text        NOT NULL,
    routing         jsonb       NOT NULL, -- Routing (team, assignee, labels, band, bumped_by)
    routed_at       timestamptz NOT NULL
);

CREATE INDEX conversation_routing_by_team ON conversation_routing (team);

CREATE TABLE triage_escalations (
    conversation_id bigint      PRIMARY KEY REFERENCES conversations (id),
    team            text        NOT NULL,
    level           integer     NOT NULL, -- the last level paged (0: none yet)
    paged           text,                 -- who was paged last
    started_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    closed_at       timestamptz,
    state           jsonb       NOT NULL, -- EscalationState
    updated_at      timestamptz NOT NULL
);

CREATE INDEX triage_escalations_open ON triage_escalations (conversation_id)
    WHERE acknowledged_at IS NULL AND closed_at IS NULL;

CREATE TABLE triage_auto_replies (
    network         text        NOT NULL,
    customer        text        NOT NULL, -- the author's external id
    conversation_id bigint      NOT NULL REFERENCES conversations (id),
    sent_at         timestamptz NOT NULL,
    PRIMARY KEY (network, customer)
);

-- Threading asks, for each brand post, whether it is one of earshot's automatic replies.
CREATE INDEX replies_by_external_id ON replies (network, external_id)
    WHERE external_id IS NOT NULL;
