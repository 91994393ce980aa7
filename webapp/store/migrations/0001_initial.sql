-- The whole product's schema, version 1. Later migrations only add (never drop data).
-- Times are ISO-8601 UTC text; JSON columns hold objects written by the store module.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_login_at TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT
);

-- Small key/value settings an admin can change (target name, chosen preview crop...).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE videos (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,             -- where it was last read from
    name        TEXT NOT NULL,             -- file name, for display
    size_bytes  INTEGER NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,      -- sha256 of size + sampled content
    frame_count INTEGER NOT NULL,
    fps         REAL NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    added_at    TEXT NOT NULL
);

-- One row per run of the extractor over a video, with its parameters and outcome.
CREATE TABLE extractions (
    id           INTEGER PRIMARY KEY,
    video_id     INTEGER NOT NULL REFERENCES videos(id),
    params       TEXT NOT NULL,            -- JSON: offset, every, cap, seed, size, margin
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
    frames_read  INTEGER NOT NULL DEFAULT 0,
    frames_kept  INTEGER NOT NULL DEFAULT 0,
    faces_found  INTEGER NOT NULL DEFAULT 0,
    crops_added  INTEGER NOT NULL DEFAULT 0,
    seconds      REAL,
    error        TEXT,
    pid          INTEGER,                  -- process running it, to spot abandoned runs
    started_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX extractions_video ON extractions(video_id);

-- One row per face crop: from a video frame, or imported from an image file.
CREATE TABLE crops (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL CHECK (source IN ('video', 'import')),
    video_id      INTEGER REFERENCES videos(id),
    extraction_id INTEGER REFERENCES extractions(id),
    frame_index   INTEGER,
    time_ms       INTEGER,
    source_name   TEXT,                    -- imported file name, for display
    content_hash  TEXT,                    -- sha256 of an imported file, to refuse duplicates
    face_x        INTEGER NOT NULL,        -- face box in the source frame/image, full resolution
    face_y        INTEGER NOT NULL,
    face_w        INTEGER NOT NULL,
    face_h        INTEGER NOT NULL,
    crop_x        INTEGER NOT NULL,        -- the stored colour crop (box plus margin) in the source
    crop_y        INTEGER NOT NULL,
    crop_w        INTEGER NOT NULL,
    crop_h        INTEGER NOT NULL,
    image_file    TEXT NOT NULL UNIQUE,    -- colour PNG, relative to the crops folder
    face_file     TEXT NOT NULL UNIQUE,    -- greyscale model input PNG, relative to the crops folder
    face_size     INTEGER NOT NULL,        -- side of the model input in pixels
    label         TEXT CHECK (label IN ('target', 'not_target', 'not_face')),
    labelled_by   INTEGER REFERENCES users(id),
    labelled_at   TEXT,
    claimed_by    INTEGER REFERENCES users(id),   -- labelling queue: who is being shown it
    claimed_until TEXT,
    created_at    TEXT NOT NULL,
    CHECK ((source = 'video') = (video_id IS NOT NULL AND frame_index IS NOT NULL))
);
CREATE UNIQUE INDEX crops_video_face
    ON crops(video_id, frame_index, face_x, face_y, face_w, face_h) WHERE source = 'video';
CREATE UNIQUE INDEX crops_import_content ON crops(content_hash) WHERE source = 'import';
CREATE INDEX crops_label ON crops(label);

CREATE TABLE label_history (
    id         INTEGER PRIMARY KEY,
    crop_id    INTEGER NOT NULL REFERENCES crops(id),
    user_id    INTEGER REFERENCES users(id),   -- NULL for command-line imports
    old_label  TEXT,
    new_label  TEXT,
    changed_at TEXT NOT NULL
);
CREATE INDEX label_history_crop ON label_history(crop_id);
CREATE INDEX label_history_user ON label_history(user_id, id);

CREATE TABLE model_versions (
    id          INTEGER PRIMARY KEY,
    directory   TEXT NOT NULL UNIQUE,      -- folder name inside the models folder
    extractor   TEXT NOT NULL,             -- feature stage, e.g. 'eigenfaces'
    preset      TEXT NOT NULL,             -- preprocessing preset
    face_size   INTEGER NOT NULL,
    params      TEXT NOT NULL,             -- JSON: best hyper-parameters
    metrics     TEXT NOT NULL,             -- JSON: evaluation report
    data_counts TEXT NOT NULL,             -- JSON: crops per class, train/test sizes
    is_active   INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
    created_at  TEXT NOT NULL,
    activated_at TEXT
);
CREATE UNIQUE INDEX model_versions_one_active ON model_versions(is_active) WHERE is_active = 1;

-- Long work (extraction, training) run outside requests; progress is polled from here.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    params       TEXT NOT NULL DEFAULT '{}',
    progress     REAL NOT NULL DEFAULT 0,  -- 0..1
    message      TEXT,
    result       TEXT,                     -- JSON
    error        TEXT,
    created_by   INTEGER REFERENCES users(id),
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    heartbeat_at TEXT,
    worker_pid   INTEGER
);
CREATE INDEX jobs_status ON jobs(status);
