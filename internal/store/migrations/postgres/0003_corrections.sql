-- A correction's transaction names the transaction of the registration it
-- corrects ('' for registrations).
ALTER TABLE transactions ADD COLUMN corrects TEXT NOT NULL DEFAULT '';
CREATE INDEX transactions_kind_tracking ON transactions (event_kind, tracking_id, created_at);

-- Identity updates MOSIP announces are matched to registrations by UIN/VID.
CREATE INDEX transactions_uin ON transactions (uin) WHERE uin <> '';
CREATE INDEX transactions_vid ON transactions (vid) WHERE vid <> '';
