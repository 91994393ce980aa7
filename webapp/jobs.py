"""Background jobs: long work (training, extraction, describing faces) in a process of its own.

:func:`start_job` records the job and launches ``python -m webapp.jobs``, which forks
once more and exits, so the worker belongs to no web worker: it survives the request
ending and the web worker being restarted, and no web process is left holding a zombie.
The worker claims the job, reports progress (and a heartbeat) in the store, checks for a
cancel request at each report, and records the result or the error. The store allows one
unfinished job per kind, and a job whose worker died is marked failed when next looked at.
No Flask here: the web app and the commands pass the paths in.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.store import jobs as job_store
from webapp.store.db import open_store

PROGRESS_INTERVAL = 0.5  # seconds between progress writes (each is a transaction)
KINDS = ("train", "extract", "score", "describe")


class JobCancelled(Exception):
    """Raised inside a job's work when an admin asked it to stop."""


@dataclass(frozen=True)
class JobPaths:
    """Where a job's worker finds the store, the crops and the model versions."""

    database: str
    crops_dir: str
    models_dir: str
    face_size: int = 224
    crop_margin: float = 0.25
    extractor: str | None = None  # the app's EXTRACTOR: None, the best available

    def args(self) -> list[str]:
        return [
            "--database", self.database, "--crops", self.crops_dir, "--models", self.models_dir,
            "--face-size", str(self.face_size), "--margin", str(self.crop_margin),
            *(["--extractor", self.extractor] if self.extractor else []),
        ]  # fmt: skip


def log_path(paths: JobPaths, job_id: int) -> Path:
    return Path(paths.database).parent / "jobs" / f"job-{job_id}.log"


def start_job(
    paths: JobPaths, kind: str, params: dict[str, Any] | None = None, created_by: int | None = None
) -> int:
    """Record a job and launch its worker; return the job id.

    :raise ValueError: unknown kind.
    :raise webapp.store.jobs.JobAlreadyRunning: one of this kind is queued or running.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; one of: {', '.join(KINDS)}")
    conn = open_store(paths.database)
    try:
        job_id = job_store.create_job(conn, kind, params or {}, created_by)
        log = log_path(paths, job_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LOOKALIKE_MODELS": paths.models_dir}
        env.setdefault("LOOKALIKE_INSTANCE", str(Path(paths.database).parent))
        try:
            with open(log, "ab") as out:
                launcher = subprocess.Popen(
                    [sys.executable, "-m", "webapp.jobs", *paths.args(), str(job_id)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            launcher.wait(timeout=60)  # it forks the worker and returns at once
        except (OSError, subprocess.TimeoutExpired) as error:
            job_store.fail_job(conn, job_id, f"the worker could not be started: {error}")
            raise
    finally:
        conn.close()
    return job_id


def wait_for_job(database: str, job_id: int, timeout: float = 300) -> dict[str, Any]:
    """Poll until the job is finished (for commands and tests); returns the job."""
    conn = open_store(database)
    try:
        deadline = time.monotonic() + timeout
        while True:
            job = job_store.get_job(conn, job_id)
            if job is None or job["status"] not in job_store.UNFINISHED:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout} s")
            job_store.fail_dead_jobs(conn)
            time.sleep(0.2)
    finally:
        conn.close()


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


def _run_train(conn: Any, paths: JobPaths, params: dict[str, Any], report: Callable) -> dict:
    from webapp.learn.features import default_extractor
    from webapp.learn.preprocess import DEFAULT_PRESET
    from webapp.training import train_from_store

    result = train_from_store(
        conn,
        paths.crops_dir,
        paths.models_dir,
        preset=params.get("preset") or DEFAULT_PRESET,
        extractor=params.get("extractor") or default_extractor(paths.extractor),
        face_size=int(params.get("face_size") or paths.face_size),
        crop_margin=paths.crop_margin,
        progress=report,
    )
    return result.as_dict()


def _run_extract(conn: Any, paths: JobPaths, params: dict[str, Any], report: Callable) -> dict:
    from webapp.extraction import extract_faces
    from webapp.vision.faces import DetectorSettings, FaceDetector
    from webapp.vision.video import ReadStats, Sampling

    sampling = Sampling(
        offset=int(params.get("offset", 0)),
        every=int(params.get("every", 25)),
        cap=int(params.get("cap", 500)),
        seed=int(params["seed"]),
    )

    def progress(total: int, stats: ReadStats) -> None:
        report(stats.frames_read / max(1, total), f"{stats.frames_read} of {total} frames read")

    summary = extract_faces(
        conn,
        paths.crops_dir,
        params["video"],
        sampling,
        size=int(params.get("size") or paths.face_size),
        margin=float(params.get("margin", paths.crop_margin)),
        detector=FaceDetector(DetectorSettings(min_face=float(params.get("min_face", 0.12)))),
        progress=progress,
    )
    return summary.as_dict()


def _run_score(conn: Any, paths: JobPaths, params: dict[str, Any], report: Callable) -> dict:
    from webapp.uncertainty import score_unlabelled_crops

    return score_unlabelled_crops(conn, paths.crops_dir, paths.models_dir, progress=report)


def _run_describe(conn: Any, paths: JobPaths, params: dict[str, Any], report: Callable) -> dict:
    from webapp.describing import describe_crops

    return describe_crops(conn, paths.crops_dir, progress=report)


RUNNERS = {
    "train": _run_train,
    "extract": _run_extract,
    "score": _run_score,
    "describe": _run_describe,
}


def _user_errors() -> tuple[type[Exception], ...]:
    from webapp.learn.embeddings import EmbeddingsUnavailable
    from webapp.training import TrainingRefused
    from webapp.vision.video import VideoError

    return (TrainingRefused, VideoError, EmbeddingsUnavailable, ValueError, FileNotFoundError)


def run_job(paths: JobPaths, job_id: int) -> str:
    """Claim and run one queued job in this process; return its final status."""
    conn = open_store(paths.database)
    try:
        job = job_store.claim_job(conn, job_id, os.getpid())
        if job is None:
            return "not queued"
        report = _reporter(conn, job_id)
        try:
            result = RUNNERS[job["kind"]](conn, paths, job["params"], report)
        except JobCancelled:
            job_store.mark_cancelled(conn, job_id)
            return "cancelled"
        except _user_errors() as error:
            job_store.fail_job(conn, job_id, str(error))
            return "failed"
        except BaseException as error:
            traceback.print_exc()
            job_store.fail_job(conn, job_id, f"unexpected error: {error!r} (see the job log)")
            return "failed"
        job_store.finish_job(conn, job_id, result, message="done")
        return "done"
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.jobs", description=run_job.__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--crops", required=True)
    parser.add_argument("--models", required=True)
    parser.add_argument("--face-size", type=int, default=224)
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--extractor", default=None)
    parser.add_argument("--foreground", action="store_true", help="do not fork (debugging)")
    parser.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    paths = JobPaths(
        args.database, args.crops, args.models, args.face_size, args.margin, args.extractor
    )
    if not args.foreground and os.fork() > 0:
        os._exit(0)  # the launcher returns; the worker is adopted by init, never a zombie
    status = run_job(paths, args.job_id)
    print(f"job {args.job_id}: {status}", flush=True)


if __name__ == "__main__":
    main()
