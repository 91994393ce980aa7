"""Background jobs: long work (training, extraction, describing faces) in a process of its own.

:func:`start_job` records the job and launches ``python -m webapp.jobs JOB_ID``
(:mod:`webapp.jobs.__main__`), which forks once more and exits, so the worker belongs to
no web worker: it survives the request ending and the web worker being restarted, and no
web process is left holding a zombie. The worker is handed the app's settings as
``LOOKALIKE_*`` variables and loads them as the app did; it claims the job, reports
progress (and a heartbeat) in the store, checks for a cancel request at each report, and
records the result or the error. The store allows one unfinished job per kind, and a job
whose worker died is marked failed when next looked at. No Flask here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from webapp.settings import Settings
from webapp.store import jobs as job_store
from webapp.store.db import connect

# Every kind of job, with the name the pages show.
KIND_NAMES = {
    "train": "Training",
    "extract": "Extraction",
    "score": "Scoring unlabelled crops",
    "describe": "Describing faces",
}
KINDS = tuple(KIND_NAMES)


def log_path(settings: Settings, job_id: int) -> Path:
    """Where a job's worker writes what it prints (the log an unexpected error points to)."""
    return Path(settings.instance) / "jobs" / f"job-{job_id}.log"


def start_job(
    settings: Settings,
    kind: str,
    params: dict[str, Any] | None = None,
    created_by: int | None = None,
) -> int:
    """Record a job and launch its worker; return the job id.

    :raise ValueError: unknown kind.
    :raise webapp.store.jobs.JobAlreadyRunning: one of this kind is queued or running.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; one of: {', '.join(KINDS)}")
    conn = connect(settings.database)
    try:
        job_id = job_store.create_job(conn, kind, params or {}, created_by)
        log = log_path(settings, job_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log, "ab") as out:
                launcher = subprocess.Popen(
                    [sys.executable, "-m", "webapp.jobs", str(job_id)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **settings.environment()},
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
    conn = connect(database)
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
