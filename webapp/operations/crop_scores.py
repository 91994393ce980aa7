"""Score the unlabelled crops with the active model version: the operation behind the
``score`` job, so the labelling queue can show the crops the model is least sure about
first (each label then teaches it the most).

Store + core, no Flask. Each batch of scores commits on its own: a run that stops half-way
keeps what it scored, and the next run scores only the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webapp.learn.features import get_extractor
from webapp.learn.model import Progress, look_alike_percents
from webapp.learn.versions import VersionError
from webapp.operations.crop_files import load_crop_images
from webapp.operations.describing import load_crop_descriptors
from webapp.operations.model_files import load_version
from webapp.store import crop_scores
from webapp.store import models as model_store
from webapp.store.db import Connection

BATCH = 256


def score_unlabelled_crops(
    conn: Connection,
    crops_dir: str | Path,
    models_dir: str | Path,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score every unlabelled crop the active version has not scored yet.

    :raise ValueError: there is no active model version, or it cannot be loaded.
    """
    active = model_store.get_active_model_version(conn)
    if active is None:
        raise ValueError("there is no active model yet: train one first")
    try:
        version = load_version(conn, models_dir, active["directory"])
    except VersionError as error:
        raise ValueError(str(error)) from None
    extractor = get_extractor(version.extractor)
    rows = crop_scores.crops_to_score(conn, active["id"])
    report = progress or (lambda fraction, message: None)
    scored = 0
    for start in range(0, len(rows), BATCH):
        report(start / max(1, len(rows)), f"{start} of {len(rows)} crops scored")
        batch = rows[start : start + BATCH]
        if extractor.cached_as:  # described once, kept for training them later too

            def describing(fraction: float, message: str, start: int = start) -> None:
                done = start + fraction * BATCH
                report(done / len(rows), f"describing the faces: {message}")

            images, _, ids = load_crop_descriptors(conn, crops_dir, batch, describing)
        else:
            images, _, ids = load_crop_images(crops_dir, batch, extractor.reads, version.face_size)
        if images:
            percents = look_alike_percents(version.pipeline, images)
            crop_scores.save_crop_scores(
                conn, active["id"], zip(ids, (float(p) for p in percents), strict=True)
            )
        scored += len(images)
    report(1.0, f"{scored} crops scored")
    return {
        "version_id": active["id"],
        "scored": scored,
        "missing_files": len(rows) - scored,
        **crop_scores.score_coverage(conn),
    }
