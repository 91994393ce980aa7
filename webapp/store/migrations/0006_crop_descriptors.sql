-- Face descriptors kept per crop, version 6. Only adds.

-- A crop's descriptor under one descriptor model (e.g. 'dlib-resnet-v1'): computed once
-- (background job, or before a training run that needs it) and reused by every retraining.
-- vector: float32 values, little-endian.
CREATE TABLE crop_descriptors (
    crop_id     INTEGER NOT NULL REFERENCES crops(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    vector      BLOB NOT NULL,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (crop_id, model)
) WITHOUT ROWID;
