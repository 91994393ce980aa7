-- Public API rate limits, version 4. Only adds.

-- Requests per client in fixed windows, shared by every web worker through the store.
-- ``client`` is a keyed hash of the address, never the address itself.
CREATE TABLE rate_limits (
    client       TEXT NOT NULL,
    window_start INTEGER NOT NULL,          -- Unix seconds at the start of the window
    hits         INTEGER NOT NULL,
    PRIMARY KEY (client, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_limits_window ON rate_limits(window_start);
