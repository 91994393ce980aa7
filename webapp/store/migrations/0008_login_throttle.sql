-- Admin login throttling, version 8. Only adds.

-- Failed logins counted per key, shared by every web worker through the store. A key is
-- a client address, or a name tried from an address, always as a keyed hash: neither
-- names (a password typed in the wrong field) nor addresses are stored. The count is
-- forgotten at ``expires_at``; a key that reached its limit is locked until then.
-- users.failed_logins and users.locked_until are no longer read: a lock per name let
-- anyone lock an admin out, and told which names exist.
CREATE TABLE login_throttle (
    key        TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    locked     INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    expires_at INTEGER NOT NULL            -- Unix seconds
) WITHOUT ROWID;
CREATE INDEX login_throttle_expires ON login_throttle(expires_at);
