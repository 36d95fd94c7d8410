-- Spikes as the inbox lists them, stored by the one process that runs the spike detector, so
-- every process shows the same spikes and they survive a restart. `view` is the spike as
-- shown (its chart, label, suggested reply; the server's JSON); `alerted_at` is set once,
-- by the process that alerts, so a spike is alerted once.
CREATE TABLE spikes (
    id          INTEGER PRIMARY KEY,
    active      INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    view        TEXT    NOT NULL,
    alerted_at  INTEGER,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX spikes_listed ON spikes (active, detected_at);
