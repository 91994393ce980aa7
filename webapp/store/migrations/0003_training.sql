-- Training and background jobs, version 3. Only adds.

-- At most one unfinished job of each kind: the store itself refuses a second "Retrain".
CREATE UNIQUE INDEX jobs_one_unfinished_per_kind ON jobs(kind)
    WHERE status IN ('queued', 'running');

-- An admin asked a running job to stop; the worker checks it at each progress report.
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0
    CHECK (cancel_requested IN (0, 1));

CREATE INDEX jobs_kind_created ON jobs(kind, id);
