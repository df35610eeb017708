-- State every mediator sharing the database must see the same, by key: the
-- WebSub subscriptions' (when the hub last verified them, when their lease
-- ends, when a request was last sent), so that whichever mediator runs the
-- subscription job, or answers the hub's verification, knows what the
-- others did. The value is the owner's JSON; a row is locked while it is
-- changed (Store.UpdateShared).
CREATE TABLE shared_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
