"""Background jobs: long work (training, extraction, describing faces) in a process of its own.

:func:`start_job` records the job. How it runs is the JOB_RUNNER setting. ``process``: it
launches ``python -m webapp.jobs JOB_ID`` (:mod:`webapp.jobs.__main__`), which forks once
more and exits, so the process belongs to no web worker: it survives the request ending and
the web worker being restarted, and no web process is left holding a zombie. ``worker``:
nothing is launched; the job waits in the store until a worker (:mod:`webapp.jobs.worker`,
``flask --app webapp worker``) on any host takes it. Either way the process running the job
is handed the settings as ``LOOKALIKE_*`` variables and loads them as the app did; it
reports progress in the store, beats every few seconds (:mod:`webapp.jobs.heartbeat`),
checks for a cancel request at each report, and records the result or the error. The store
allows one unfinished job per kind, and a job whose process died is marked failed when
next looked at. No Flask here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.settings import Settings
from webapp.store import jobs as job_store
from webapp.store import workers as worker_store
from webapp.store.db import Connection, connect, this_host

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
    """Record a job and, with the ``process`` runner, launch its process; return the job id.

    :raise ValueError: unknown kind.
    :raise webapp.store.jobs.JobAlreadyRunning: one of this kind is queued or running.
    :raise OSError: its process could not be launched (the job is marked failed).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; one of: {', '.join(KINDS)}")
    launch = settings.job_runner == "process"
    conn = connect(settings.database)
    try:
        job_store.fail_dead_jobs(conn, settings.job_heartbeat_timeout)  # may free the kind
        host = this_host() if launch else None
        job_id = job_store.create_job(conn, kind, params or {}, created_by, host=host)
        if launch:
            _launch(conn, settings, job_id)
    finally:
        conn.close()
    return job_id


def job_process(settings: Settings, job_id: int, *options: str) -> subprocess.Popen:
    """Start ``python -m webapp.jobs [OPTIONS] JOB_ID`` with the settings, what it prints
    appended to the job's log, in a session of its own (a Ctrl-C in the starter's terminal
    reaches the starter only, which ends the job itself and says why).

    :raise OSError: it could not be started, or the log not opened.
    """
    log = log_path(settings, job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.jobs", *options, str(job_id)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **settings.environment()},
            start_new_session=True,
        )


def _launch(conn: Connection, settings: Settings, job_id: int) -> None:
    try:
        launcher = job_process(settings, job_id)
        launcher.wait(timeout=60)  # it forks the job's process and returns at once
    except (OSError, subprocess.TimeoutExpired) as error:
        job_store.fail_job(conn, job_id, f"the worker could not be started: {error}")
        raise


@dataclass(frozen=True)
class Workers:
    """The workers heard from lately (for the pages and the commands that wait)."""

    running: int  # workers heard from within the heartbeat timeout
    busy: int  # of those, the ones running a job
    last_seen: dict[str, Any] | None  # the worker heard from last, however long ago

    @property
    def none_running(self) -> str:
        """What to do when none is running (and when the last one was heard from)."""
        text = "No worker is running: start `.venv/bin/flask --app webapp worker` on a host."
        if self.last_seen:
            stamp = self.last_seen["seen_at"].replace("T", " ")[:19]
            text += f" The last one, on {self.last_seen['host']}, was heard from at {stamp} UTC."
        return text

    @property
    def waiting(self) -> str:
        """What a job queued for a worker waits for."""
        if self.running == 0:
            return f"{self.none_running} The job waits until one takes it."
        workers = "1 worker" if self.running == 1 else f"{self.running} workers"
        return f"Waiting for a worker to take it ({workers} running, {self.busy} busy)."


def workers(conn: Connection, settings: Settings) -> Workers:
    """The workers heard from within the heartbeat timeout."""
    seen = worker_store.workers_seen(conn, settings.job_heartbeat_timeout)
    return Workers(
        running=len(seen),
        busy=sum(1 for worker in seen if worker["job_id"] is not None),
        last_seen=seen[0] if seen else worker_store.last_worker(conn),
    )


def worker_wait(conn: Connection, settings: Settings, job: dict[str, Any]) -> Workers | None:
    """The workers, if the job waits for one: it is queued for any worker (None
    otherwise: it is not queued, or the app launched a process for it)."""
    if job["status"] != "queued" or job.get("worker_host") is not None:
        return None
    return workers(conn, settings)


def wait_for_job(
    settings: Settings,
    job_id: int,
    timeout: float = 300,
    notice: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Poll until the job is finished (for commands and tests); returns the job.

    A job waiting for a worker while none is running is not waited for silently: that is
    said once through ``notice`` (and again if a worker comes and goes), and in the
    TimeoutError.

    :raise TimeoutError: still unfinished after ``timeout`` seconds.
    """
    conn = connect(settings.database)
    said = None
    try:
        deadline = time.monotonic() + timeout
        while True:
            job_store.fail_dead_jobs(conn, settings.job_heartbeat_timeout)
            job = job_store.get_job(conn, job_id)
            if job is None or job["status"] not in job_store.UNFINISHED:
                return job
            wait = worker_wait(conn, settings, job)
            nobody = wait.waiting if wait and wait.running == 0 else None
            if notice and nobody and said is None:
                notice(f"job {job_id}: {nobody}")
            said = nobody
            if time.monotonic() > deadline:
                because = f": {wait.waiting}" if wait else ""
                raise TimeoutError(
                    f"job {job_id} is still {job['status']} after {timeout} s{because}"
                )
            time.sleep(0.2)
    finally:
        conn.close()
