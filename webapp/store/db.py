"""The SQLite connection and the schema's migrations.

Migrations are the numbered ``migrations/NNNN_name.sql`` files; ``PRAGMA user_version``
holds the number of the last one applied. They only ever add: nothing here drops data.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite's integers are signed 64-bit: a larger Python int cannot even be asked about.
MAX_INTEGER = 2**63 - 1


class StoreError(Exception):
    """The store cannot be used as asked (newer schema, unreadable file...)."""


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this machine: a run or job whose process is
    gone will never finish, and is marked so."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def now() -> str:
    """The current time as the store writes it: ISO-8601 UTC, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the store with foreign keys on, WAL journal and rows addressable by name.

    Autocommit mode (``isolation_level=None``): every write states its own transaction
    with :func:`transaction`, so nothing is left half-committed by accident.
    """
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal" and str(path) != ":memory:":
        raise StoreError(f"could not switch {path} to WAL journal mode (got {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block in one write transaction; roll back on any exception.

    ``BEGIN IMMEDIATE`` takes the write lock at the start, so two writers queue instead
    of failing half-way with "database is locked".
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrations() -> list[tuple[int, str, str]]:
    """All migration files as (number, name, sql), in order; numbers must run 1, 2, 3..."""
    found = []
    for entry in resources.files("webapp.store").joinpath("migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (number, name, _) in enumerate(found, start=1):
        if number != expected:
            raise StoreError(f"migration {name} is out of sequence (expected number {expected})")
    return found


def ping(conn: sqlite3.Connection) -> None:
    """Ask the store something trivial.

    :raise sqlite3.Error: it cannot answer (file gone, unreadable, locked for too long).
    """
    conn.execute("SELECT 1").fetchone()


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations the store has not seen yet; return the names applied.

    Each migration and its version bump commit together, so an interrupted upgrade
    leaves the store at the previous version, never in between. Idempotent.
    """
    available = migrations()
    current = schema_version(conn)
    if current > len(available):
        raise StoreError(
            f"the store is at schema version {current}, newer than this app knows "
            f"({len(available)}); upgrade the app instead"
        )
    applied = []
    for number, name, sql in available[current:]:
        with transaction(conn):
            if schema_version(conn) >= number:  # another process (a gunicorn worker) did it
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number:d}")
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        raise StoreError("a migration ends with an incomplete statement")
    return statements


def open_store(path: str | Path) -> sqlite3.Connection:
    """Connect and bring the schema up to date: what the app and commands call."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    migrate(conn)
    return conn
