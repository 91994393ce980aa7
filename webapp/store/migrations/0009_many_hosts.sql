-- Many hosts on one database. A process id means something only on its own machine:
-- jobs and extraction runs also say which host runs them. A scoring host needs nothing
-- but the database: the model versions' files and the target's picture live in it too.
-- Workers (`flask --app webapp worker`) say they are alive, for the dashboard.

ALTER TABLE jobs ADD COLUMN worker_host TEXT;
ALTER TABLE extractions ADD COLUMN host TEXT;

CREATE TABLE model_files (
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,            -- file name inside the version's folder
    content          BLOB NOT NULL,
    sha256           TEXT NOT NULL,            -- of content, checked when a host writes it out
    PRIMARY KEY (model_version_id, name)
);

CREATE TABLE published_pictures (
    crop_id      INTEGER PRIMARY KEY REFERENCES crops(id) ON DELETE CASCADE,
    content      BLOB NOT NULL,                -- the crop's colour PNG, as shown to visitors
    published_at TEXT NOT NULL
);

CREATE TABLE workers (
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    job_id     INTEGER REFERENCES jobs(id),    -- the job it runs now, if any
    PRIMARY KEY (host, pid)
);
