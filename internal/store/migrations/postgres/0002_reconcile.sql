-- Reconciliation: when the status of a SUBMITTED transaction is next asked
-- of MOSIP (Unix ms; 0 = at once) and how many times it was asked.
ALTER TABLE transactions ADD COLUMN check_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
-- What the registrar is told when MOSIP refuses the record (plain words;
-- last_error keeps MOSIP's codes).
ALTER TABLE transactions ADD COLUMN reject_reason TEXT NOT NULL DEFAULT '';
-- The state a DEAD transaction died in, so that a retry resumes there.
ALTER TABLE transactions ADD COLUMN dead_from TEXT NOT NULL DEFAULT '';
CREATE INDEX transactions_check ON transactions (state, check_at);
