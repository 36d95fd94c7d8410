-- On-call pages claimed before they are sent: a page's key
-- (page:<conversation>:<level>:<round>:<person>) is written here first, so a process that
-- takes paging over never sends a page another process already claimed.
CREATE TABLE page_claims (
    page_key        TEXT    PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    claimed_at      INTEGER NOT NULL
);
