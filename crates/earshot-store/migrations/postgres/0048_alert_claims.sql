-- Alerts that must reach a person (on-call pages, spikes, overdue promises) are claimed here
-- with the alert itself before they are sent, and settled once every alert target is done with
-- them (delivered, refused, out of retries or dropped). The claim makes an alert sent once
-- whichever process computes it again; the kept alert is what the next sender sends again when
-- the one that claimed it died before every target had it. Keys: `page:<conversation>:...`,
-- `spike:<id>`, `promise-overdue:<id>`.
CREATE TABLE alert_claims (
    alert_key       text        PRIMARY KEY,
    conversation_id bigint      REFERENCES conversations (id),
    alert           text,
    claimed_at      timestamptz NOT NULL,
    settled_at      timestamptz,
    outcome         text
);
-- The pages claimed before kept no alert to send again: they count as settled.
INSERT INTO alert_claims (alert_key, conversation_id, claimed_at, settled_at, outcome)
    SELECT page_key, conversation_id, claimed_at, claimed_at, 'claimed before alerts were kept'
    FROM page_claims;
DROP TABLE page_claims;
CREATE INDEX alert_claims_unsettled ON alert_claims (claimed_at) WHERE settled_at IS NULL;
