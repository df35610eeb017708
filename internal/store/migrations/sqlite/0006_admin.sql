-- Operators (admin API, dashboard, `tx`).

-- An operator may cancel a transaction (CANCELLED, final). Like REPORTED, it
-- then no longer holds its record's dedupe key: OpenCRVS may send the record
-- again, and an operator's resubmission of a refused record takes the key.
DROP INDEX transactions_dedupe;
CREATE UNIQUE INDEX transactions_dedupe ON transactions (dedupe_key) WHERE state NOT IN ('REPORTED', 'CANCELLED');

-- Listings are newest first and paged by (created_at, id), which never
-- change: with or without a state, event kind or OpenCRVS version, the first
-- page reads about one page of index entries, however long the history.
-- (state, created_at) replaces (state, updated_at), which nothing orders by.
DROP INDEX transactions_state;
CREATE INDEX transactions_state_created ON transactions (state, created_at, id);
CREATE INDEX transactions_created ON transactions (created_at, id);
CREATE INDEX transactions_kind_created ON transactions (event_kind, created_at, id);
CREATE INDEX transactions_version_created ON transactions (opencrvs_version, created_at, id);

-- Throughput: the outcomes of the last hour, by time. Partial, so that the
-- other events do not pay for it.
CREATE INDEX transaction_events_outcomes ON transaction_events (at, to_state)
    WHERE to_state IN ('CONFIRMED', 'DEAD', 'REJECTED_BY_MOSIP');

-- Transactions per state, kept by triggers in the transaction that changes
-- them, so that counting is one row per state instead of a scan of the
-- whole history.
CREATE TABLE transaction_state_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
);
INSERT INTO transaction_state_counts (state, n) SELECT state, count(*) FROM transactions GROUP BY state;

CREATE TRIGGER transactions_count_insert AFTER INSERT ON transactions
BEGIN
    INSERT INTO transaction_state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER transactions_count_update AFTER UPDATE OF state ON transactions
WHEN OLD.state <> NEW.state
BEGIN
    UPDATE transaction_state_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO transaction_state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER transactions_count_delete AFTER DELETE ON transactions
BEGIN
    UPDATE transaction_state_counts SET n = n - 1 WHERE state = OLD.state;
END;
