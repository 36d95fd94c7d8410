-- Alerts that must reach a person (on-call pages, spikes, overdue promises, replies earshot
-- gave up on) are claimed here with the alert itself before they are sent, and settled once
-- every alert target is done with them (delivered, or refused or out of retries everywhere).
-- The claim makes an alert sent once whichever process computes it again; the kept alert is
-- what is sent again when its sender stopped before that (or a full queue dropped it). While
-- an alert is on its way its sender touches `touched_at`: one left untouched is owed. Keys:
-- `page:<conversation>:...`, `spike:<id>`, `promise-overdue:<id>`,
-- `reply_failed:<reply>:<attempts>`. Microseconds since the epoch, as every time here.
CREATE TABLE alert_claims (
    alert_key       TEXT    PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations (id),
    alert           TEXT,
    claimed_at      INTEGER NOT NULL,
    touched_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    outcome         TEXT
);
-- The pages claimed before kept no alert to send again: they count as settled.
INSERT INTO alert_claims (alert_key, conversation_id, claimed_at, touched_at, settled_at, outcome)
    SELECT page_key, conversation_id, claimed_at, claimed_at, claimed_at, 'claimed before alerts were kept'
    FROM page_claims;
DROP TABLE page_claims;
CREATE INDEX alert_claims_unsettled ON alert_claims (touched_at) WHERE settled_at IS NULL;
