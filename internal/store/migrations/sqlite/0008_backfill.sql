-- Backfill of historic records (`opencrvs-mosip backfill`).

-- Rate limits every mediator on the database shares: calls are spaced by
-- interval_us (0: no limit), and next_at_us (Unix microseconds) is the
-- earliest start of the next one. A job takes a slot by moving next_at_us
-- on, so the rate holds however many mediators run. The backfill queue's
-- calls to MOSIP take their slots from 'backfill' (5 a second until a
-- backfill sets its --rate).
CREATE TABLE rate_limits (
    name        TEXT PRIMARY KEY,
    interval_us INTEGER NOT NULL,
    next_at_us  INTEGER NOT NULL
);
INSERT INTO rate_limits (name, interval_us, next_at_us) VALUES ('backfill', 200000, 0);
