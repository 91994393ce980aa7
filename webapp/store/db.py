"""The store's connection, on SQLite or PostgreSQL, and the schema's migrations.

What the rest of the app holds is a :class:`Connection`: ``execute`` and ``executemany``
with ``?`` (or ``:name``) placeholders, rows addressable by name and by position,
:func:`transaction` blocks, and this module's errors. Which database is behind it is
decided here, once, by :func:`connect`'s argument: a ``postgresql://`` URL, else the path
of a SQLite file. The SQL of the store's modules is written once, in what both engines
read the same way; the few words they spell differently are translated by the dialect
modules (:mod:`webapp.store.sqlite`, :mod:`webapp.store.postgresql`), never in the callers.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, one history for both
engines. They only ever add: nothing here drops data.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from webapp.store.engine import (  # the store's one entry point re-exports them
    Connection,
    Cursor,
    DatabaseError,
    IntegrityError,
    OperationalError,
    Params,
    Row,
    StoreError,
    describe,
    is_postgresql,
)

__all__ = [
    "Connection",
    "Cursor",
    "DatabaseError",
    "IntegrityError",
    "OperationalError",
    "Params",
    "Row",
    "StoreError",
    "describe",
    "is_postgresql",
]

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Both engines' integers are signed 64-bit: a larger Python int cannot even be asked about.
MAX_INTEGER = 2**63 - 1


def placeholders(values: Sequence[Any]) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (...)``."""
    return ", ".join("?" * len(values))


_pool_size: int | None = None  # set by configure(), from the settings


def connect(database: str | Path, *, pooled: bool = True) -> Connection:
    """A connection to the store: from this process's pool on PostgreSQL (or one of its
    own, not ``pooled``), a new one on a SQLite file. ``close()`` it (a pooled one goes
    back to the pool).

    :raise OperationalError: the database cannot be reached or opened.
    """
    if is_postgresql(database):
        from webapp.store import postgresql

        if _pool_size is not None:
            postgresql.POOL_SIZE = _pool_size
        return postgresql.connect(str(database), pooled=pooled)
    from webapp.store import sqlite

    return sqlite.connect(database)


def configure(*, pool_size: int) -> None:
    """How many connections each process keeps to a PostgreSQL server at most (gunicorn's
    threads per worker, plus one for the model check); nothing to do for SQLite. Kept
    here until the first PostgreSQL connection: psycopg loads only when one is made."""
    global _pool_size
    _pool_size = max(1, int(pool_size))


def process_alive(pid: int | None, host: str | None = None) -> bool:
    """Whether a process with this id runs: a run or job whose process is gone will never
    finish, and is marked so. A process on another host cannot be looked at from here:
    taken as alive (jobs have their heartbeat for that)."""
    if not pid:
        return False
    if host is not None and host != this_host():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def this_host() -> str:
    """The name rows give the machine a process runs on (jobs, extractions)."""
    return socket.gethostname()


def now() -> str:
    """The current time as the store writes it: ISO-8601 UTC, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def transaction(conn: Connection, *, exclusive: bool = True) -> Iterator[Connection]:
    """Run a block in one write transaction; roll back on any exception.

    ``exclusive`` (the default) makes write transactions take turns, on both engines:
    SQLite's ``BEGIN IMMEDIATE`` takes the write lock at the start, PostgreSQL takes one
    transaction-scoped advisory lock. Every read-then-write in the store is then as safe
    on a server shared by many hosts as on one file. A block that is atomic on its own
    (one upsert, a claim with ``FOR UPDATE SKIP LOCKED``) passes ``exclusive=False`` and
    runs beside the others.
    """
    conn.begin(exclusive)
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Read a block's rows as they all were at its start, while others go on writing (a
    copy of the whole store). Read only: nothing is written in it, so nothing to commit."""
    conn.begin_snapshot()
    try:
        yield conn
    finally:
        conn.rollback()


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


def ping(conn: Connection) -> None:
    """Ask the store something trivial.

    :raise DatabaseError: it cannot answer (server down, file gone, locked for too long).
    """
    conn.execute("SELECT 1").fetchone()


def schema_version(conn: Connection) -> int:
    return conn.schema_version()


def migrate(conn: Connection) -> list[str]:
    """Apply the migrations the store has not seen yet; return the names applied.

    Each migration and its version bump commit together, so an interrupted upgrade
    leaves the store at the previous version, never in between. Idempotent, and safe
    when several processes (gunicorn workers, hosts) start at once.
    """
    available = migrations()
    current = conn.schema_version()
    if current > len(available):
        raise StoreError(
            f"the store is at schema version {current}, newer than this app knows "
            f"({len(available)}); upgrade the app instead"
        )
    applied = []
    for number, name, sql in available[current:]:
        with transaction(conn):
            if conn.schema_version() >= number:  # another process did it
                continue
            for statement in conn.migration_statements(sql):
                conn.execute(statement)
            conn.set_schema_version(number)
        applied.append(name)
    return applied


def open_store(database: str | Path) -> Connection:
    """Connect and bring the schema up to date: what the app and commands call.

    On PostgreSQL the connection is one of its own, outside the pool: a gunicorn master
    that loads the app before forking its workers must hold no pool they would share.
    """
    if not is_postgresql(database):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(database, pooled=False)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def remove_file_store(path: str | Path) -> None:
    """Delete a SQLite store's file and its journal's (a store just made and not wanted:
    a copy into it that failed). Its connections must be closed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


_kept: dict[str, Connection] = {}


def prepare(database: str | Path) -> None:
    """Bring the store up to date once for this process and keep what it needs kept.

    On SQLite one connection stays open, never queried, for the process's life: SQLite
    deletes its WAL and shared-memory files when the last connection closes, and could not
    create them again on a full disk; while they stay, requests can still read (and
    score). A PostgreSQL server keeps nothing on this host's disk.

    :raise DatabaseError: the store cannot be opened.
    """
    conn = open_store(database)
    if is_postgresql(database):
        conn.close()
    else:
        _kept[str(database)] = conn
