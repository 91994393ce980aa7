"""Describe crops once and keep the descriptors: the operation behind the ``describe`` job,
and what training and scoring the unlabelled crops call for extractors that keep their
features (``Extractor.cached_as``). The target crops' variants (mirrored and jittered
copies, ``Extractor.variants_cached_as``) are described at training and kept the same way.

Store + core, no Flask. Each batch commits on its own: a run that stops half-way keeps
what it described, and the next one describes only the rest.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from webapp.learn.features import embeddings
from webapp.learn.model import Progress
from webapp.operations.crop_files import face_in_crop, labels_of
from webapp.operations.processes import die_with_parent
from webapp.store import descriptors as descriptor_store
from webapp.store.db import Connection

# The store key of the descriptors: the extractor's, so training and scoring find them.
DESCRIPTOR_MODEL = embeddings.EXTRACTOR.cached_as
VARIANTS_MODEL = embeddings.EXTRACTOR.variants_cached_as
BATCH = 64  # crops per commit (and per progress report)
PART = 8  # crops a process reads, aligns and describes at a time: keeps every process busy


def _describe_part(crops_dir: str, rows: list[dict[str, Any]]) -> list[np.ndarray | None]:
    """Read, align and describe some crops (in this process or a forked one); None for a
    crop whose file is gone."""
    faces = [face_in_crop(Path(crops_dir), row) for row in rows]
    found = [face for face in faces if face is not None]
    vectors = iter(embeddings.describe_faces(found))
    return [None if face is None else next(vectors) for face in faces]


def _variants_part(crops_dir: str, rows: list[dict[str, Any]]) -> list[np.ndarray | None]:
    """Read, align and describe the variants of some crops: one (variants, 128) array per
    crop, None for a crop whose file is gone."""
    faces = [face_in_crop(Path(crops_dir), row) for row in rows]
    found = [face for face in faces if face is not None]
    vectors = iter(embeddings.describe_variants(found))
    return [None if face is None else next(vectors) for face in faces]


PARTS = {DESCRIPTOR_MODEL: _describe_part, VARIANTS_MODEL: _variants_part}


@contextmanager
def _processes(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """Processes forked once the models are loaded here (none for one worker): no process
    loads them again, and each runs its own one-thread ResNet."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent) as pool:
        yield pool


def describe_crops(
    conn: Connection,
    crops_dir: str | Path,
    crop_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Compute and keep the descriptor of every crop (or of those in ``crop_ids``) that has
    none yet, in ``workers`` processes (default: one per core). Crops whose image file is
    missing are counted and skipped.

    :raise EmbeddingsUnavailable: dlib or its model files are missing.
    """
    embeddings.load_models()  # fail before any work, with the message saying what to add
    started = time.perf_counter()
    model = DESCRIPTOR_MODEL
    described, missing = _describe_and_keep(conn, crops_dir, model, crop_ids, progress, workers)
    coverage = descriptor_store.descriptor_coverage(conn, model)
    return {
        "model": model,
        "described": described,  # by this run
        "missing_files": missing,
        "seconds": round(time.perf_counter() - started, 3),
        "crops": coverage["crops"],
        "crops_described": coverage["described"],  # in all, this run's included
    }


def _describe_and_keep(
    conn: Connection,
    crops_dir: str | Path,
    model: str,
    crop_ids: Iterable[int] | None,
    progress: Progress | None,
    workers: int | None,
) -> tuple[int, int]:
    """Describe (:data:`PARTS`) and keep under ``model`` every crop of ``crop_ids`` (or
    all) that has nothing kept under it yet. Returns (described, missing files)."""
    rows = [dict(row) for row in descriptor_store.crops_without_descriptor(conn, model, crop_ids)]
    report = progress or (lambda fraction, message: None)
    workers = min(workers or os.cpu_count() or 1, max(1, len(rows) // PART))
    describe_part = PARTS[model]
    described = missing = 0
    with _processes(workers) as pool:
        for start in range(0, len(rows), BATCH):
            report(start / max(1, len(rows)), f"{start} of {len(rows)} crops described")
            batch = rows[start : start + BATCH]
            parts = [batch[i : i + PART] for i in range(0, len(batch), PART)]
            runs = pool.map(describe_part, repeat(str(crops_dir)), parts) if pool else (
                describe_part(str(crops_dir), part) for part in parts
            )  # fmt: skip
            vectors = [vector for run in runs for vector in run]
            kept = [(row["id"], v) for row, v in zip(batch, vectors, strict=True) if v is not None]
            missing += len(batch) - len(kept)
            descriptor_store.save_descriptors(
                conn, model, ((crop_id, v.astype("<f4").tobytes()) for crop_id, v in kept)
            )
            described += len(kept)
    report(1.0, f"{described} crops described")
    return described, missing


def _kept_vectors(
    conn: Connection,
    crops_dir: str | Path,
    model: str,
    crop_ids: list[int],
    progress: Progress | None,
    workers: int | None,
) -> dict[int, bytes]:
    """What is kept under ``model`` for ``crop_ids``, by crop id, the crops with nothing
    kept described first (crops whose image file is missing are left out).

    :raise EmbeddingsUnavailable: some must be described, and dlib or its model files are
        missing.
    """
    if descriptor_store.crops_without_descriptor(conn, model, crop_ids):
        embeddings.load_models()  # fail before any work, with the message saying what to add
        _describe_and_keep(conn, crops_dir, model, crop_ids, progress, workers)
    return descriptor_store.load_descriptors(conn, model, crop_ids)


def crop_descriptors(
    conn: Connection,
    crops_dir: str | Path,
    crop_ids: list[int],
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[int, np.ndarray]:
    """The descriptors of ``crop_ids`` by crop id, computing (and keeping) missing ones
    first. Crops whose image file is missing are left out."""
    kept = _kept_vectors(conn, crops_dir, DESCRIPTOR_MODEL, crop_ids, progress, workers)
    return {crop_id: np.frombuffer(vector, dtype="<f4").copy() for crop_id, vector in kept.items()}


def load_crop_descriptors(
    conn: Connection,
    crops_dir: str | Path,
    rows: list[Any],
    progress: Progress,
    workers: int | None = None,
) -> tuple[list[np.ndarray], list[int], list[int]]:
    """Like :func:`~webapp.operations.crop_files.load_crop_images`, with the crops' kept
    descriptors (described first where missing, with progress); crops whose files are
    missing are left out."""
    kept = crop_descriptors(conn, crops_dir, [row["id"] for row in rows], progress, workers)
    chosen = [row for row in rows if row["id"] in kept]
    labels = labels_of(chosen)
    return [kept[row["id"]] for row in chosen], labels, [row["id"] for row in chosen]


def crop_variants(
    conn: Connection,
    crops_dir: str | Path,
    crop_ids: list[int],
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[int, np.ndarray]:
    """The variants of ``crop_ids`` (mirrored and jittered copies: an array of shape
    ``(variants, 128)`` per crop) by crop id, describing and keeping missing ones first.
    Crops whose image file is missing are left out.

    :raise EmbeddingsUnavailable: dlib or its model files are missing.
    """
    kept = _kept_vectors(conn, crops_dir, VARIANTS_MODEL, crop_ids, progress, workers)
    return {
        crop_id: np.frombuffer(vector, dtype="<f4").reshape(-1, embeddings.SIZE).copy()
        for crop_id, vector in kept.items()
    }
