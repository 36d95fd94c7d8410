-- Agents' corrections of what earshot understood of a post (issue 13): its intent, sentiment or
-- language. The post's own columns and analysis carry the latest correction of each field (so
-- every page, filter and count follows it); this table keeps every correction, for who said
-- what and for `earshot train --corrections`.
CREATE TABLE corrections (
    id              INTEGER PRIMARY KEY,
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    conversation_id INTEGER REFERENCES conversations (id),
    field           TEXT    NOT NULL CHECK (field IN ('intent', 'sentiment', 'language')),
    old_value       TEXT    NOT NULL,
    new_value       TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    at              INTEGER NOT NULL
);
-- The latest correction of a post's field.
CREATE INDEX corrections_by_post ON corrections (post_id, field, id);
