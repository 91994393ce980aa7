-- Labelling, version 2: undo chains and per-admin skips. Only adds.

-- An undo is itself a history row; it names the row it undoes, so the next undo walks
-- further back instead of undoing the undo.
ALTER TABLE label_history ADD COLUMN undoes INTEGER REFERENCES label_history(id);
CREATE INDEX label_history_undoes ON label_history(undoes);

-- "Skip" puts a crop at the back of that admin's queue (others still see it in order).
CREATE TABLE label_skips (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    crop_id    INTEGER NOT NULL REFERENCES crops(id) ON DELETE CASCADE,
    skipped_at TEXT NOT NULL,
    PRIMARY KEY (user_id, crop_id)
);
