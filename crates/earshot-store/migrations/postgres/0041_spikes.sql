-- Spikes as the inbox lists them, stored by the one process that runs the spike detector, so
-- every process shows the same spikes and they survive a restart. `view` is the spike as
-- shown (its chart, label, suggested reply; the server's JSON); `alerted_at` is set once,
-- by the process that alerts, so a spike is alerted once.
CREATE TABLE spikes (
    id          bigserial   PRIMARY KEY,
    active      boolean     NOT NULL,
    detected_at timestamptz NOT NULL,
    view        jsonb       NOT NULL,
    alerted_at  timestamptz,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX spikes_listed ON spikes (active, detected_at);
