"""Background jobs: one row each, written by the web app (create, cancel) and by the
worker process that runs it (claim, progress, finish, fail)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.store.db import Connection, Row, now, process_alive, transaction

UNFINISHED = ("queued", "running")
# A queued job whose worker never claimed it, or a running one silent for this long, is
# dead (its process was killed with the machine, or never started).
QUEUED_TIMEOUT = timedelta(minutes=2)
HEARTBEAT_TIMEOUT = timedelta(minutes=10)


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


def _fail_dead_jobs(conn: Connection) -> None:
    for row in conn.execute(
        "SELECT id, status, worker_pid, created_at, heartbeat_at FROM jobs"
        " WHERE status IN ('queued', 'running')"
    ).fetchall():
        if row["status"] == "queued":
            reason = (
                "its worker never started"
                if _older_than(row["created_at"], QUEUED_TIMEOUT)
                else None
            )
        elif not process_alive(row["worker_pid"]):
            reason = "its worker process ended without finishing it"
        elif _older_than(row["heartbeat_at"], HEARTBEAT_TIMEOUT):
            reason = "its worker stopped reporting progress"
        else:
            reason = None
        if reason:
            conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                (reason, now(), row["id"]),
            )


def fail_dead_jobs(conn: Connection) -> None:
    """Mark as failed the unfinished jobs whose worker is gone."""
    with transaction(conn):
        _fail_dead_jobs(conn)


def create_job(
    conn: Connection,
    kind: str,
    params: dict[str, Any] | None = None,
    created_by: int | None = None,
) -> int:
    """Queue a job; return its id.

    :raise JobAlreadyRunning: a job of this kind is queued or running (and alive).
    """
    with transaction(conn):
        _fail_dead_jobs(conn)
        running = conn.execute(
            "SELECT * FROM jobs WHERE kind = ? AND status IN ('queued', 'running')", (kind,)
        ).fetchone()
        if running:
            raise JobAlreadyRunning(_decoded(running))
        cursor = conn.execute(
            "INSERT INTO jobs (kind, status, params, created_by, created_at)"
            " VALUES (?, 'queued', ?, ?, ?) RETURNING id",
            (kind, json.dumps(params or {}, sort_keys=True), created_by, now()),
        )
        job_id = cursor.fetchone()[0]
    return job_id


def claim_job(conn: Connection, job_id: int, pid: int) -> dict[str, Any] | None:
    """The worker takes a queued job (now running); None if it is no longer queued."""
    stamp = now()
    with transaction(conn):
        updated = conn.execute(
            "UPDATE jobs SET status = 'running', worker_pid = ?, started_at = ?,"
            " heartbeat_at = ? WHERE id = ? AND status = 'queued'",
            (pid, stamp, stamp, job_id),
        )
    return get_job(conn, job_id) if updated.rowcount == 1 else None


def report_progress(
    conn: Connection, job_id: int, progress: float, message: str | None = None
) -> bool:
    """Record progress (0..1) and a heartbeat; return True if cancelling was asked for."""
    with transaction(conn):
        conn.execute(
            "UPDATE jobs SET progress = ?, message = COALESCE(?, message), heartbeat_at = ?"
            " WHERE id = ? AND status = 'running'",
            (min(1.0, max(0.0, progress)), message, now(), job_id),
        )
        row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return bool(row and row["cancel_requested"])


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
        row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["status"] not in UNFINISHED:
            return False
        if row["status"] == "queued":
            conn.execute(
                "UPDATE jobs SET status = 'cancelled', message = 'cancelled', finished_at = ?"
                " WHERE id = ?",
                (now(), job_id),
            )
        else:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
    return True


def get_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """A job as a dict, params and result decoded."""
    return _decoded(conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())


def recent_jobs(conn: Connection, limit: int = 10, kind: str | None = None) -> list[dict[str, Any]]:
    """The latest jobs, newest first; dead workers' jobs are shown as failed."""
    fail_dead_jobs(conn)
    if kind:
        rows = conn.execute(
            "SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit)
        ).fetchall()
    else:
        rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_decoded(row) for row in rows]
