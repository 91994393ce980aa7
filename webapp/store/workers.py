"""The job workers (``flask --app webapp worker``): a row per worker, host and process id,
that its heartbeat keeps fresh, so the pages can tell the admins when none is running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.store.db import Connection, now, transaction

# A worker silent this long is forgotten when another one starts (the pages stop naming it).
FORGET_AFTER = timedelta(days=7)


def _since(seconds: float | timedelta) -> str:
    age = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
    return (datetime.now(UTC) - age).isoformat(timespec="seconds")


def register_worker(conn: Connection, host: str, pid: int) -> None:
    """A worker starts (a row left by an earlier process with the same id is taken over)."""
    stamp = now()
    with transaction(conn):
        conn.execute("DELETE FROM workers WHERE seen_at < ?", (_since(FORGET_AFTER),))
        conn.execute(
            "INSERT INTO workers (host, pid, started_at, seen_at, job_id) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT (host, pid) DO UPDATE SET started_at = excluded.started_at,"
            " seen_at = excluded.seen_at, job_id = NULL",
            (host, pid, stamp, stamp),
        )


def touch_worker(conn: Connection, host: str, pid: int, job_id: int | None) -> None:
    """The worker is alive and runs ``job_id`` (None: it waits for one)."""
    stamp = now()
    with transaction(conn, exclusive=False):  # one statement: atomic on its own
        conn.execute(
            "INSERT INTO workers (host, pid, started_at, seen_at, job_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (host, pid) DO UPDATE SET seen_at = excluded.seen_at,"
            " job_id = excluded.job_id",
            (host, pid, stamp, stamp, job_id),
        )


def remove_worker(conn: Connection, host: str, pid: int) -> None:
    """The worker stops."""
    with transaction(conn, exclusive=False):
        conn.execute("DELETE FROM workers WHERE host = ? AND pid = ?", (host, pid))


def workers_seen(conn: Connection, within: float) -> list[dict[str, Any]]:
    """The workers heard from in the last ``within`` seconds, the latest first."""
    rows = conn.execute(
        "SELECT * FROM workers WHERE seen_at >= ? ORDER BY seen_at DESC, host, pid",
        (_since(within),),
    ).fetchall()
    return [dict(row) for row in rows]


def last_worker(conn: Connection) -> dict[str, Any] | None:
    """The worker heard from last, however long ago (None: none ever, or long forgotten)."""
    row = conn.execute("SELECT * FROM workers ORDER BY seen_at DESC LIMIT 1").fetchone()
    return dict(row) if row else None
