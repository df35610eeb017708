-- Transactions: one record on its way through MOSIP and back to OpenCRVS.
-- Times are Unix milliseconds (UTC), portable between SQLite and PostgreSQL.
CREATE TABLE transactions (
    id                  TEXT PRIMARY KEY,      -- MOSIP application id (AID)
    dedupe_key          TEXT NOT NULL,         -- <event kind>:<tracking id>
    event_kind          TEXT NOT NULL,
    opencrvs_version    TEXT NOT NULL,
    intake              TEXT NOT NULL,
    record_id           TEXT NOT NULL,
    tracking_id         TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    state               TEXT NOT NULL,
    token               TEXT,                  -- OpenCRVS record token; NULL once finished
    packet              TEXT,                  -- JSON of the MOSIP packet; NULL when not forwarded
    skip_reason         TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    uin                 TEXT NOT NULL DEFAULT '',
    vid                 TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- One live transaction per record and event: a resend returns it. A record
-- MOSIP refused and OpenCRVS was told about (REPORTED) may be sent again.
CREATE UNIQUE INDEX transactions_dedupe ON transactions (dedupe_key) WHERE state <> 'REPORTED';
CREATE INDEX transactions_state ON transactions (state, updated_at);
CREATE INDEX transactions_record ON transactions (record_id);
CREATE INDEX transactions_tracking ON transactions (tracking_id);
CREATE INDEX transactions_registration ON transactions (registration_number);

-- Append-only log of state changes.
CREATE TABLE transaction_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    at             INTEGER NOT NULL,
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    attempt        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX transaction_events_transaction ON transaction_events (transaction_id, id);

-- WebSub deliveries seen, by event id: a redelivery changes nothing, and a
-- delivery that could not be applied is kept for operators.
CREATE TABLE websub_deliveries (
    event_id       TEXT PRIMARY KEY,
    received_at    INTEGER NOT NULL,
    transaction_id TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX websub_deliveries_received ON websub_deliveries (received_at);

-- Counters behind application ids that are unique by construction.
CREATE TABLE id_sequences (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL,
    second INTEGER NOT NULL DEFAULT 0
);
INSERT INTO id_sequences (name, value, second) VALUES ('rid', 0, 0), ('prefixed', 0, 0);
