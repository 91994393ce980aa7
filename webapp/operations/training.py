"""Train a model version from the labelled crops: the operation behind ``flask train``
and the admin page's Retrain job.

Store + core, no Flask. The new version is written to the models folder first and only
then recorded with its files and activated, in one transaction: a run that fails or is
cancelled at any point leaves the active version as it was (at worst an unreferenced
directory on disk).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.learn.features import DEFAULT_EXTRACTOR, EXTRACTORS, Extractor, get_extractor
from webapp.learn.model import TARGET, Progress, SearchSpace, TrainingError, train
from webapp.learn.preprocess import DEFAULT_PRESET, get_preset
from webapp.learn.versions import save_version
from webapp.operations.activation import POLICIES, Policy, decide
from webapp.operations.crop_files import load_crop_images
from webapp.operations.describing import crop_variants, load_crop_descriptors
from webapp.operations.model_files import folder_files
from webapp.operations.target_picture import active_examples, publish_target_picture
from webapp.settings import Settings
from webapp.store import models as model_store
from webapp.store.db import Connection, now

# Eigenfaces need enough crops of each class for a held-out quarter with at least two of
# them and a cross-validation of the rest; face embeddings train from one of each
# (Extractor.min_per_class).
MIN_CROPS_PER_CLASS = 8
EXAMPLES_SHOWN = 4


class TrainingRefused(Exception):
    """Training cannot start or finish as asked; the message is for the user."""


@dataclass
class TrainingResult:
    version_id: int
    directory: str
    report: dict[str, Any]

    @property
    def activated(self) -> bool:
        return self.report["activation"]["activated"]

    def as_dict(self) -> dict[str, Any]:
        activation = self.report["activation"]
        return {
            "version_id": self.version_id,
            "directory": self.directory,
            "activated": activation["activated"],
            "activation_reason": activation["reason"],
            **self.report,
        }


def check_enough_crops(counts: dict[str, int], extractor: Extractor) -> None:
    """:raise TrainingRefused: a class has fewer crops than the extractor needs."""
    minimum = extractor.min_per_class
    if min(counts["target"], counts["not_target"]) < minimum:
        fewer = [e.name for e in EXTRACTORS.values() if e.min_per_class < minimum]
        hint = f"; {fewer[0]} trains from fewer" if fewer else ""
        raise TrainingRefused(
            f"not enough labelled crops to train: {counts['target']} target and"
            f" {counts['not_target']} not target; label at least {minimum} of each"
            f" for {extractor.name} ('not a face' crops are never used){hint}"
        )


def _frames(rows: list[Any]) -> dict[int, tuple[Any, ...]]:
    """Each crop's shot: its video and frame (an imported photo is a shot of its own)."""
    return {
        row["id"]: (row["video_id"], row["frame_index"]) if row["video_id"] else ("crop", row["id"])
        for row in rows
    }


def _examples(
    ids: list[int], labels: list[int], outcome: Any, frames: dict[int, tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """The held-out crops the model was most sure of and most wrong about, with their
    percents, one per frame (faces of one shot teach nothing more)."""
    scored = []
    for position, percent in zip(outcome.test_indices, outcome.test_percents, strict=True):
        truth = labels[position]
        confidence = percent if truth == TARGET else 100 - percent
        scored.append(
            {
                "crop_id": ids[position],
                "label": "target" if truth == TARGET else "not_target",
                "percent": round(float(percent), 2),
                "correct": bool((percent >= 50) == (truth == TARGET)),
                "confidence": float(confidence),
            }
        )
    scored.sort(key=lambda item: item["confidence"], reverse=True)
    best = _one_per_frame(scored, frames)
    worst = _one_per_frame(scored[::-1], frames, skip={item["crop_id"] for item in best})
    for item in scored:
        del item["confidence"]
    return [
        *(dict(item, kind="best") for item in best),
        *(dict(item, kind="worst") for item in worst),
    ]


def _other_faces(labels: list[int], outcome: Any) -> dict[str, Any]:
    """The look-alike percents of the validated not-target crops, sorted: the faces a
    visitor's score is placed among ("more like the target than 93% of the other faces in
    the movie"). Validated crops only: the model never trained on them, so they score as
    a stranger's face would, not lower."""
    percents = sorted(
        round(float(percent), 2)
        for position, percent in zip(outcome.test_indices, outcome.test_percents, strict=True)
        if labels[position] != TARGET
    )
    return {"percents": percents, "count": len(percents)}


def _one_per_frame(
    ordered: list[dict[str, Any]], frames: dict[int, tuple[Any, ...]], skip: set[int] = frozenset()
) -> list[dict[str, Any]]:
    chosen, seen = [], set()
    for item in ordered:
        frame = frames.get(item["crop_id"], ("crop", item["crop_id"]))
        if item["crop_id"] in skip or frame in seen:
            continue
        seen.add(frame)
        chosen.append(item)
        if len(chosen) == EXAMPLES_SHOWN:
            break
    return chosen


def _target_variants(
    conn: Connection,
    crops_dir: str | Path,
    ids: list[int],
    labels: list[int],
    report_progress: Progress,
    workers: int | None,
) -> list[Any]:
    """Per crop, the kept variants of a target crop (described first where missing), None
    for the others: only the target has too few faces to learn from."""

    def progress(fraction: float, message: str) -> None:
        report_progress(0.4 + 0.1 * fraction, f"mirrored and moved target faces: {message}")

    targets = [crop_id for crop_id, label in zip(ids, labels, strict=True) if label == TARGET]
    kept = crop_variants(conn, crops_dir, targets, progress, workers)
    return [
        kept.get(crop_id) if label == TARGET else None
        for crop_id, label in zip(ids, labels, strict=True)
    ]


def train_from_store(
    conn: Connection,
    crops_dir: str | Path,
    models_dir: str | Path,
    *,
    preset: str = DEFAULT_PRESET,
    extractor: str = DEFAULT_EXTRACTOR,
    face_size: int = Settings.face_size,
    crop_margin: float = Settings.crop_margin,
    space: SearchSpace | None = None,
    progress: Progress | None = None,
    describe_workers: int | None = None,
    activate: Policy = "if-better",
) -> TrainingResult:
    """Train on every target / not-target crop, save and record the version, and make it
    the active one if ``activate`` says so (:mod:`webapp.operations.activation`: by
    default only when it is at least as good as the active one on the same held-out crops).
    The app's default extractor, the best available, is chosen by its callers.

    :raise TrainingRefused: too few labelled crops, unknown or unavailable extractor,
        unknown preset or activation policy.
    """
    if activate not in POLICIES:
        raise TrainingRefused(f"activate must be one of {', '.join(POLICIES)}, not {activate!r}")
    started_at, started = now(), time.perf_counter()
    try:
        chosen = get_extractor(extractor)
        if chosen.uses_preset:
            get_preset(preset)
    except ValueError as error:
        raise TrainingRefused(str(error)) from None
    problem = chosen.problem()
    if problem is not None:
        raise TrainingRefused(problem)
    check_enough_crops(model_store.training_counts(conn), chosen)
    report_progress = progress or (lambda fraction, message: None)
    report_progress(0.0, "reading the labelled crops")
    rows = model_store.training_crops(conn)
    search_from = 0.1
    variants = None
    if chosen.cached_as:
        search_from = 0.5

        def describe_progress(fraction: float, message: str) -> None:
            report_progress(0.4 * fraction, f"describing the faces: {message}")

        images, labels, ids = load_crop_descriptors(
            conn, crops_dir, rows, describe_progress, describe_workers
        )
        if chosen.variants_cached_as:
            variants = _target_variants(
                conn, crops_dir, ids, labels, report_progress, describe_workers
            )
    else:
        images, labels, ids = load_crop_images(crops_dir, rows, chosen.reads, face_size)
    counts = {"target": labels.count(TARGET), "not_target": labels.count(0)}
    if len(images) < len(rows):
        message = f"{len(rows) - len(images)} crop files are missing; left out"
        report_progress(search_from, message)
    check_enough_crops(counts, chosen)

    def search_progress(fraction: float, message: str) -> None:
        report_progress(search_from + (0.9 - search_from) * fraction, message)

    try:
        outcome = train(
            images,
            labels,
            extractor=extractor,
            preset=preset,
            space=space,
            progress=search_progress,
            variants=variants,
        )
    except TrainingError as error:
        raise TrainingRefused(str(error)) from None
    report = outcome.report
    report["examples"] = _examples(ids, labels, outcome, _frames(rows))
    report["other_faces"] = _other_faces(labels, outcome)
    report_progress(0.9, "comparing with the active version")
    held_out = {
        ids[position]: (labels[position], float(percent))
        for position, percent in zip(outcome.test_indices, outcome.test_percents, strict=True)
    }
    decision = decide(conn, crops_dir, models_dir, policy=activate, held_out=held_out)
    report["activation"] = decision.as_dict()
    report["data_counts"]["missing_files"] = len(rows) - len(images)
    report["seconds"] = round(time.perf_counter() - started, 3)
    report_progress(0.92, "saving the model version")
    recorded_preset = preset if chosen.uses_preset else None
    directory, _ = save_version(
        models_dir,
        outcome.pipeline,
        extractor=extractor,
        preset=recorded_preset,
        face_size=face_size,
        report=report,
        started_at=started_at,
        crop_margin=crop_margin,
    )
    version_id = model_store.add_model_version(
        conn,
        directory=directory,
        extractor=extractor,
        preset=recorded_preset or "-",
        face_size=face_size,
        params=report["best_params"],
        metrics=report,
        data_counts=report["data_counts"],
        files=folder_files(models_dir, directory),
        activate=decision.activate,
    )
    # Hosts without the crops folder show the target's picture from the store.
    publish_target_picture(conn, crops_dir, active_examples(conn))
    report_progress(1.0, "done")
    return TrainingResult(version_id, directory, report)
