-- The split design (MEDIATOR_ROLE opencrvs-side | mosip-side): two
-- mediators, one beside OpenCRVS and one beside MOSIP, each with its own
-- database, carry a record between them in signed envelopes.

-- The id of the same record at the other mediator: on the OpenCRVS side
-- the AID the MOSIP side gave it, on the MOSIP side the OpenCRVS side's
-- transaction id (the envelope's). Set once (Tx.SetPeerID); no two
-- transactions share one, so an envelope finds exactly its transaction.
ALTER TABLE transactions ADD COLUMN peer_id TEXT COLLATE "C";
CREATE UNIQUE INDEX transactions_peer ON transactions (peer_id) WHERE peer_id IS NOT NULL;

-- The MOSIP side's record of each birth and death it handles, as MOSIP's
-- operators know it from the Java mediator: by the OpenCRVS side's
-- transaction id, with the AID (rid), the registration number (brn) and the
-- stage it reached (status: "RID Generated", "Packet Synced", ..., or
-- "Failed" with the reason). Times are Unix milliseconds, like the rest;
-- identifiers compare byte by byte (COLLATE "C"), as in SQLite.
CREATE TABLE birth_transactions (
    txn_id     TEXT COLLATE "C" PRIMARY KEY,
    rid        TEXT COLLATE "C" NOT NULL,
    brn        TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX birth_transactions_rid ON birth_transactions (rid);

CREATE TABLE death_transactions (
    txn_id     TEXT COLLATE "C" PRIMARY KEY,
    rid        TEXT COLLATE "C" NOT NULL,
    brn        TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX death_transactions_rid ON death_transactions (rid);

-- Envelopes from the other mediator already accepted, by key, until they
-- expire (Unix ms): an envelope replayed within its lifetime is refused.
-- Expired keys are forgotten with old WebSub deliveries (PruneDeliveries).
CREATE TABLE envelope_replays (
    key        TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX envelope_replays_expires ON envelope_replays (expires_at);
