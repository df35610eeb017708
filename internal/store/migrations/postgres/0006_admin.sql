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
-- them, so that counting is a few rows per state instead of a scan of the
-- whole history. Each state's count is spread over shards, one per
-- connection (modulo 64), summed when read: a row is locked until its
-- transaction commits, and with one row per state every mediator's intake
-- and transitions would wait for each other's commits.
CREATE TABLE transaction_state_counts (
    state TEXT NOT NULL,
    shard INTEGER NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (state, shard)
);
INSERT INTO transaction_state_counts (state, shard, n) SELECT state, 0, count(*) FROM transactions GROUP BY state;

CREATE FUNCTION transaction_state_count_add(st TEXT, d BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO transaction_state_counts (state, shard, n) VALUES (st, pg_backend_pid() % 64, d)
        ON CONFLICT (state, shard) DO UPDATE SET n = transaction_state_counts.n + d;
$$;

-- A change of state updates its two rows in the order of their names, so
-- that two transitions between the same states cannot deadlock.
CREATE FUNCTION transactions_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM transaction_state_count_add(NEW.state, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM transaction_state_count_add(OLD.state, -1);
    ELSIF OLD.state < NEW.state THEN
        PERFORM transaction_state_count_add(OLD.state, -1);
        PERFORM transaction_state_count_add(NEW.state, 1);
    ELSE
        PERFORM transaction_state_count_add(NEW.state, 1);
        PERFORM transaction_state_count_add(OLD.state, -1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER transactions_count_insert AFTER INSERT ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_count();

CREATE TRIGGER transactions_count_update AFTER UPDATE OF state ON transactions
    FOR EACH ROW WHEN (OLD.state <> NEW.state) EXECUTE FUNCTION transactions_count();

CREATE TRIGGER transactions_count_delete AFTER DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_count();
