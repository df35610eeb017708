-- OpenCRVS 1.9 records: the REGISTER action the mediator accepts or rejects
-- through tRPC ('' for 1.8 records; the event id is record_id).
ALTER TABLE transactions ADD COLUMN action_id TEXT NOT NULL DEFAULT '';
