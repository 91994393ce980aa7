"""What each kind of job runs, and running one job in this process (the work of the process
launched for a job, or of the one a worker starts)."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from webapp.jobs.heartbeat import Heartbeat
from webapp.settings import EXTRACTION, Settings
from webapp.store import jobs as job_store
from webapp.store.db import connect

PROGRESS_INTERVAL = 0.5  # seconds between progress writes (each is a transaction)


class JobCancelled(Exception):
    """Raised inside a job's work when an admin asked it to stop."""


def _reporter(conn: Any, job_id: int) -> Callable[[float, str], None]:
    last = 0.0

    def report(fraction: float, message: str) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_INTERVAL and fraction < 1.0:
            return
        last = time.monotonic()
        if job_store.report_progress(conn, job_id, fraction, message):
            raise JobCancelled()

    return report


def _run_train(conn: Any, settings: Settings, params: dict[str, Any], report: Callable) -> dict:
    from webapp.learn.features import default_extractor
    from webapp.learn.preprocess import DEFAULT_PRESET
    from webapp.operations.training import train_from_store

    # The dashboard's form sends both; a job queued without them gets the defaults.
    result = train_from_store(
        conn,
        settings.crops_dir,
        settings.models_dir,
        preset=params.get("preset") or DEFAULT_PRESET,
        extractor=params.get("extractor") or default_extractor(settings.extractor),
        face_size=settings.face_size,
        crop_margin=settings.crop_margin,
        progress=report,
        describe_workers=settings.describe_workers,
        activate=params.get("activate") or "if-better",
    )
    return result.as_dict()


def _run_extract(conn: Any, settings: Settings, params: dict[str, Any], report: Callable) -> dict:
    from webapp.operations.extraction import extract_faces
    from webapp.vision.faces import DetectorSettings, FaceDetector
    from webapp.vision.video import ReadStats, Sampling

    options = {**asdict(EXTRACTION), "size": settings.face_size, **params}
    sampling = Sampling(
        offset=int(options["offset"]),
        every=int(options["every"]),
        cap=int(options["cap"]),
        seed=int(options["seed"]),
    )

    def progress(total: int, stats: ReadStats) -> None:
        report(stats.frames_read / max(1, total), f"{stats.frames_read} of {total} frames read")

    summary = extract_faces(
        conn,
        settings.crops_dir,
        options["video"],
        sampling,
        size=int(options["size"]),
        margin=settings.crop_margin,
        detector=FaceDetector(DetectorSettings(min_face=float(options["min_face"]))),
        progress=progress,
        name=options.get("name"),
    )
    return summary.as_dict()


def _run_score(conn: Any, settings: Settings, params: dict[str, Any], report: Callable) -> dict:
    from webapp.operations.crop_scores import score_unlabelled_crops

    return score_unlabelled_crops(conn, settings.crops_dir, settings.models_dir, progress=report)


def _run_describe(conn: Any, settings: Settings, params: dict[str, Any], report: Callable) -> dict:
    from webapp.operations.describing import describe_crops

    return describe_crops(
        conn, settings.crops_dir, progress=report, workers=settings.describe_workers
    )


RUNNERS = {
    "train": _run_train,
    "extract": _run_extract,
    "score": _run_score,
    "describe": _run_describe,
}


def _user_errors() -> tuple[type[Exception], ...]:
    from webapp.learn.features.embeddings import EmbeddingsUnavailable
    from webapp.operations.training import TrainingRefused
    from webapp.vision.video import VideoError

    return (TrainingRefused, VideoError, EmbeddingsUnavailable, ValueError, FileNotFoundError)


def run_job(settings: Settings, job_id: int) -> str:
    """Claim a queued job and run it in this process, which beats for it (the ``process``
    runner); return its final status."""
    conn = connect(settings.database)
    try:
        job = job_store.claim_job(conn, job_id, os.getpid())
        if job is None:
            return "not queued"
        with Heartbeat(settings.database, settings.job_heartbeat_seconds, job_id=job_id):
            return _run(conn, settings, job)
    finally:
        conn.close()


def run_claimed_job(settings: Settings, job_id: int) -> str:
    """Run a job a worker has claimed, in this process started by that worker (which beats
    for it); return its final status."""
    conn = connect(settings.database)
    try:
        job = job_store.get_job(conn, job_id)
        if job is None or job["status"] != "running":
            return "not running"
        return _run(conn, settings, job)
    finally:
        conn.close()


def _run(conn: Any, settings: Settings, job: dict[str, Any]) -> str:
    """Run a claimed job and record its result or error; return its final status (as
    stored: a job failed meanwhile by someone who took its process for dead stays so)."""
    job_id = job["id"]
    report = _reporter(conn, job_id)
    try:
        result = RUNNERS[job["kind"]](conn, settings, job["params"], report)
    except JobCancelled:
        job_store.mark_cancelled(conn, job_id)
    except _user_errors() as error:
        job_store.fail_job(conn, job_id, str(error))
    except BaseException as error:
        traceback.print_exc()
        job_store.fail_job(conn, job_id, f"unexpected error: {error!r} (see the job log)")
    else:
        job_store.finish_job(conn, job_id, result, message="done")
    return job_store.get_job(conn, job_id)["status"]
