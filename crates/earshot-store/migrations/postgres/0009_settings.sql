-- Settings an admin changed from the web Settings page (brand terms, response targets).
-- A stored setting wins over the configuration file; the value is JSON whose shape belongs
-- to the server.

CREATE TABLE settings (
    key        text        PRIMARY KEY,
    value      text        NOT NULL, -- JSON
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL
);
