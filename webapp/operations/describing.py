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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from webapp.learn.features import embeddings
from webapp.learn.model import Progress
from webapp.operations.crop_files import face_in_crop, labels_of
from webapp.store import descriptors as descriptor_store

# The store key of the descriptors: the extractor's, so training and scoring find them.
DESCRIPTOR_MODEL = embeddings.EXTRACTOR.cached_as
BATCH = 32  # crops per commit (and per progress report)


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
    model = DESCRIPTOR_MODEL
    rows = descriptor_store.crops_without_descriptor(conn, model, crop_ids)
    report = progress or (lambda fraction, message: None)
    folder = Path(crops_dir)
    workers = workers or os.cpu_count() or 1
    described = missing = 0
    with embeddings.describer_pool(min(workers, len(rows))) as pool:
        for start in range(0, len(rows), BATCH):
            report(start / max(1, len(rows)), f"{start} of {len(rows)} crops described")
            faces, ids = [], []
            for row in rows[start : start + BATCH]:
                face = face_in_crop(folder, row)
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
    model = DESCRIPTOR_MODEL
    if descriptor_store.crops_without_descriptor(conn, model, crop_ids):
        describe_crops(conn, crops_dir, crop_ids, progress)
    kept = descriptor_store.load_descriptors(conn, model, crop_ids)
    return {crop_id: np.frombuffer(vector, dtype="<f4").copy() for crop_id, vector in kept.items()}


def load_crop_descriptors(
    conn: sqlite3.Connection, crops_dir: str | Path, rows: list[Any], progress: Progress
) -> tuple[list[np.ndarray], list[int], list[int]]:
    """Like :func:`~webapp.operations.crop_files.load_crop_images`, with the crops' kept
    descriptors (described first where missing, with progress); crops whose files are
    missing are left out."""
    kept = crop_descriptors(conn, crops_dir, [row["id"] for row in rows], progress)
    chosen = [row for row in rows if row["id"] in kept]
    labels = labels_of(chosen)
    return [kept[row["id"]] for row in chosen], labels, [row["id"] for row in chosen]
