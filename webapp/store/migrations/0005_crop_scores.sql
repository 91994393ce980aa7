-- Uncertainty order of the labelling queue, version 5. Only adds.

-- The look-alike percent a model version gave each unlabelled crop (the latest scoring of
-- a crop replaces the one before). The queue can then show first the crops the active
-- model is least sure about: those nearest 50%.
CREATE TABLE crop_scores (
    crop_id          INTEGER PRIMARY KEY REFERENCES crops(id) ON DELETE CASCADE,
    model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
    percent          REAL NOT NULL CHECK (percent BETWEEN 0 AND 100),
    scored_at        TEXT NOT NULL
);
CREATE INDEX crop_scores_version ON crop_scores(model_version_id);
