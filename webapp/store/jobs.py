"""Background jobs: one row each, written by the web app (create, cancel), by the process
that runs it (claim, progress, heartbeat, finish, fail) and by whoever notices that process
is gone (fail).

A job is queued either for a process the app launches on its own host (``worker_host`` is
set when it is queued: the ``process`` runner) or for any worker (``worker_host`` stays
empty until a ``worker`` claims it, see :func:`claim_next_job`). A running job's process
writes ``heartbeat_at`` every few seconds; the timeout after which silence means death is
the caller's (a setting), passed to :func:`fail_dead_jobs`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.store.db import (
    Connection,
    Row,
    now,
    placeholders,
    process_alive,
    this_host,
    transaction,
)

UNFINISHED = ("queued", "running")
# A job whose process the app launched but which was never claimed: that process never
# started (a worker may take hours to come; a launched process takes seconds).
QUEUED_TIMEOUT = timedelta(minutes=2)
PROCESS_ENDED = "its worker process ended without finishing it"
STOPPED_REPORTING = "its worker stopped reporting: the host or process died"


class JobAlreadyRunning(Exception):
    """A job of the same kind is queued or running; the message says which."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(
            f"a {job['kind']} job (job {job['id']}) is already {job['status']}:"
            " wait for it to finish or cancel it"
        )
        self.job = job


def _decoded(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    job = dict(row)
    job["params"] = json.loads(job["params"] or "{}")
    job["result"] = json.loads(job["result"]) if job["result"] else None
    job["cancel_requested"] = bool(job.get("cancel_requested"))
    return job


def _older_than(stamp: str | None, age: timedelta) -> bool:
    return stamp is None or datetime.fromisoformat(stamp) < datetime.now(UTC) - age


def _why_dead(row: Row, heartbeat_timeout: float) -> str | None:
    """Why an unfinished job will never finish, or None while it may."""
    if row["status"] == "queued":
        # Queued for any worker: it waits, however long, until one takes it.
        launched = row["worker_host"] is not None
        if launched and _older_than(row["created_at"], QUEUED_TIMEOUT):
            return "its worker never started"
        return None
    if not process_alive(row["worker_pid"], row["worker_host"]):  # on this host: at once
        return PROCESS_ENDED
    if _older_than(row["heartbeat_at"], timedelta(seconds=heartbeat_timeout)):
        return STOPPED_REPORTING
    return None


def _fail_dead_jobs(conn: Connection, heartbeat_timeout: float) -> None:
    for row in conn.execute(
        "SELECT id, status, worker_pid, worker_host, created_at, heartbeat_at FROM jobs"
        " WHERE status IN ('queued', 'running')"
    ).fetchall():
        reason = _why_dead(row, heartbeat_timeout)
        if reason:
            # Only the row as it was read: a claim or a heartbeat that came in between
            # (neither waits for this transaction on PostgreSQL) keeps the job alive.
            conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ?"
                " WHERE id = ? AND status = ? AND COALESCE(heartbeat_at, '') = ?",
                (reason, now(), row["id"], row["status"], row["heartbeat_at"] or ""),
            )


def fail_dead_jobs(conn: Connection, heartbeat_timeout: float) -> None:
    """Mark as failed the unfinished jobs whose process is gone: on this host, a process
    that no longer exists; on any host, a running job silent for ``heartbeat_timeout``
    seconds; a launched process that never claimed its job."""
    with transaction(conn):
        _fail_dead_jobs(conn, heartbeat_timeout)


def create_job(
    conn: Connection,
    kind: str,
    params: dict[str, Any] | None = None,
    created_by: int | None = None,
    *,
    host: str | None = None,
) -> int:
    """Queue a job; return its id. ``host``: the host whose launched process will run it;
    None: the first worker to ask takes it.

    :raise JobAlreadyRunning: a job of this kind is queued or running.
    """
    with transaction(conn):
        running = conn.execute(
            "SELECT * FROM jobs WHERE kind = ? AND status IN ('queued', 'running')", (kind,)
        ).fetchone()
        if running:
            raise JobAlreadyRunning(_decoded(running))
        cursor = conn.execute(
            "INSERT INTO jobs (kind, status, params, created_by, created_at, worker_host)"
            " VALUES (?, 'queued', ?, ?, ?, ?) RETURNING id",
            (kind, json.dumps(params or {}, sort_keys=True), created_by, now(), host),
        )
        job_id = cursor.fetchone()[0]
    return job_id


def claim_job(
    conn: Connection, job_id: int, pid: int, host: str | None = None
) -> dict[str, Any] | None:
    """The process launched for a job takes it (now running); None if it is no longer
    queued. ``host``: where that process runs (default: this one)."""
    with transaction(conn):
        taken = _take(conn, job_id, host or this_host(), pid)
    return get_job(conn, job_id) if taken else None


def _take(conn: Connection, job_id: int, host: str, pid: int) -> bool:
    """Turn a queued job running in ``host``'s process ``pid``; False if it is no longer
    queued (inside the caller's transaction)."""
    stamp = now()
    updated = conn.execute(
        "UPDATE jobs SET status = 'running', worker_pid = ?, worker_host = ?,"
        " started_at = ?, heartbeat_at = ? WHERE id = ? AND status = 'queued'",
        (pid, host, stamp, stamp, job_id),
    )
    return updated.rowcount == 1


def claim_next_job(
    conn: Connection, host: str, pid: int, kinds: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """A worker takes the oldest job queued for any worker (of ``kinds``, if given), now
    running on ``host`` in process ``pid``; None if there is none.

    Workers on many hosts ask at once: on PostgreSQL the row is locked with ``FOR UPDATE
    SKIP LOCKED``, so each worker takes a different job without waiting for the others'
    claims or for any other write; SQLite's one write lock makes the claims take turns.
    """
    kind_filter = f" AND kind IN ({placeholders(kinds)})" if kinds else ""
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    with transaction(conn, exclusive=False):
        row = conn.execute(
            "SELECT id FROM jobs WHERE status = 'queued' AND worker_host IS NULL"
            f"{kind_filter} ORDER BY id LIMIT 1{lock}",
            tuple(kinds),
        ).fetchone()
        if row is None:
            return None
        taken = _take(conn, row["id"], host, pid)
    return get_job(conn, row["id"]) if taken else None


def beat(conn: Connection, job_id: int) -> bool:
    """The job's process is alive; False if the job is no longer running."""
    with transaction(conn, exclusive=False):  # one statement: atomic on its own
        updated = conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
            (now(), job_id),
        )
    return updated.rowcount == 1


def report_progress(
    conn: Connection, job_id: int, progress: float, message: str | None = None
) -> bool:
    """Record progress (0..1) and a heartbeat; return True if the job must stop: cancelling
    was asked for, or it is no longer running (failed by someone who took its process for
    dead: its result would not be recorded)."""
    with transaction(conn):
        conn.execute(
            "UPDATE jobs SET progress = ?, message = COALESCE(?, message), heartbeat_at = ?"
            " WHERE id = ? AND status = 'running'",
            (min(1.0, max(0.0, progress)), message, now(), job_id),
        )
        row = conn.execute(
            "SELECT status, cancel_requested FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
    return row is None or bool(row["cancel_requested"]) or row["status"] != "running"


def _close(conn: Connection, job_id: int, status: str, **values: Any) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, message = COALESCE(?, message),"
            " progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END, finished_at = ?"
            " WHERE id = ? AND status IN ('queued', 'running')",
            (
                status,
                json.dumps(values["result"]) if values.get("result") is not None else None,
                values.get("error"),
                values.get("message"),
                status,
                now(),
                job_id,
            ),
        )


def finish_job(
    conn: Connection, job_id: int, result: dict[str, Any], message: str | None = None
) -> None:
    _close(conn, job_id, "done", result=result, message=message)


def fail_job(conn: Connection, job_id: int, error: str) -> None:
    _close(conn, job_id, "failed", error=error)


def mark_cancelled(conn: Connection, job_id: int) -> None:
    """The worker stopped on request (or the job was cancelled before it started)."""
    _close(conn, job_id, "cancelled", message="cancelled")


def cancel_job(conn: Connection, job_id: int) -> bool:
    """Ask a job to stop: a queued one is cancelled at once, a running one at its next
    progress report. Returns False if the job is already finished (or unknown)."""
    with transaction(conn):
        # Each statement says which state it changes: a worker's claim does not wait for
        # this transaction on PostgreSQL, and may turn the queued job running in between.
        cancelled = conn.execute(
            "UPDATE jobs SET status = 'cancelled', message = 'cancelled', finished_at = ?"
            " WHERE id = ? AND status = 'queued'",
            (now(), job_id),
        )
        if cancelled.rowcount == 1:
            return True
        asked = conn.execute(
            "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'",
            (job_id,),
        )
    return asked.rowcount == 1


def get_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """A job as a dict, params and result decoded."""
    return _decoded(conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())


def recent_jobs(conn: Connection, limit: int = 10, kind: str | None = None) -> list[dict[str, Any]]:
    """The latest jobs, newest first (call :func:`fail_dead_jobs` first to show dead
    workers' jobs as failed)."""
    if kind:
        rows = conn.execute(
            "SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit)
        ).fetchall()
    else:
        rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_decoded(row) for row in rows]
