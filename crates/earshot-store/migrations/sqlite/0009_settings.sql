-- Settings an admin changed from the web Settings page (brand terms, response targets).
-- A stored setting wins over the configuration file; the value is JSON whose shape belongs
-- to the server. Timestamps are INTEGER microseconds since 1970-01-01 UTC.

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL, -- JSON
    updated_by TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
