"""Describe crops once and keep the descriptors: the operation behind the ``describe`` job,
and what training and scoring the unlabelled crops call for extractors that keep their
features (``Extractor.cached_as``).

Store + core, no Flask. Each batch commits on its own: a run that stops half-way keeps
what it described, and the next one describes only the rest.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from webapp.learn import embeddings
from webapp.learn.features import FaceInImage
from webapp.store import descriptors as descriptor_store
from webapp.vision import cv2

BATCH = 32  # crops per commit (and per progress report): ~2.5 s of work
Progress = Callable[[float, str], None]


def describe_workers() -> int:
    """Processes the ResNet runs in: ``$LOOKALIKE_DESCRIBE_WORKERS``, else one per core
    (measured: 2000 crops in 147 s with one process, 85 s with two, on 2 cores)."""
    return max(1, int(os.environ.get("LOOKALIKE_DESCRIBE_WORKERS") or os.cpu_count() or 1))


def _face_in_crop(crops_dir: Path, row: Any) -> FaceInImage | None:
    image = cv2.imread(str(crops_dir / row["image_file"]), cv2.IMREAD_COLOR)
    if image is None:
        return None
    # The face box inside the stored crop: exact even where the crop was clipped at the
    # frame's edge (its margin is then smaller on that side).
    x, y = row["face_x"] - row["crop_x"], row["face_y"] - row["crop_y"]
    height, width = image.shape[:2]
    if (width, height) != (row["crop_w"], row["crop_h"]):  # an image stored at another size
        sx, sy = width / row["crop_w"], height / row["crop_h"]
        box = (round(x * sx), round(y * sy), round(row["face_w"] * sx), round(row["face_h"] * sy))
    else:
        box = (x, y, row["face_w"], row["face_h"])
    return FaceInImage(image, box)


def describe_crops(
    conn: sqlite3.Connection,
    crops_dir: str | Path,
    crop_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Compute and keep the descriptor of every crop (or of those in ``crop_ids``) that has
    none yet. Crops whose image file is missing are counted and skipped.

    :raise EmbeddingsUnavailable: dlib or its model files are missing.
    """
    embeddings.load_models()  # fail before any work, with the message saying what to add
    started = time.perf_counter()
    model = embeddings.DESCRIPTOR_MODEL
    rows = descriptor_store.crops_without_descriptor(conn, model, crop_ids)
    report = progress or (lambda fraction, message: None)
    folder = Path(crops_dir)
    workers = workers or describe_workers()
    described = missing = 0
    with embeddings.describer_pool(min(workers, len(rows))) as pool:
        for start in range(0, len(rows), BATCH):
            report(start / max(1, len(rows)), f"{start} of {len(rows)} crops described")
            faces, ids = [], []
            for row in rows[start : start + BATCH]:
                face = _face_in_crop(folder, row)
                if face is None:
                    missing += 1
                    continue
                faces.append(face)
                ids.append(row["id"])
            vectors = embeddings.describe_faces(faces, pool=pool)
            descriptor_store.save_descriptors(
                conn, model, zip(ids, (v.astype("<f4").tobytes() for v in vectors), strict=True)
            )
            described += len(ids)
    report(1.0, f"{described} crops described")
    coverage = descriptor_store.descriptor_coverage(conn, model)
    return {
        "model": model,
        "described": described,  # by this run
        "missing_files": missing,
        "seconds": round(time.perf_counter() - started, 3),
        "crops": coverage["crops"],
        "crops_described": coverage["described"],  # in all, this run's included
    }


def crop_descriptors(
    conn: sqlite3.Connection,
    crops_dir: str | Path,
    crop_ids: list[int],
    progress: Progress | None = None,
) -> dict[int, np.ndarray]:
    """The descriptors of ``crop_ids`` by crop id, computing (and keeping) missing ones
    first. Crops whose image file is missing are left out."""
    model = embeddings.DESCRIPTOR_MODEL
    if descriptor_store.crops_without_descriptor(conn, model, crop_ids):
        describe_crops(conn, crops_dir, crop_ids, progress)
    kept = descriptor_store.load_descriptors(conn, model, crop_ids)
    return {crop_id: np.frombuffer(vector, dtype="<f4").copy() for crop_id, vector in kept.items()}
