"""The store on a SQLite file: WAL journal, foreign keys on, ``PRAGMA user_version`` as
the schema version. The store's SQL is SQLite's own; only errors are translated."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from webapp.store.engine import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    Params,
    StoreError,
)


@contextmanager
def translated_errors() -> Iterator[None]:
    """sqlite3's errors as the store's own (the rest of the app never imports sqlite3)."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        raise IntegrityError(str(error)) from error
    except sqlite3.OperationalError as error:
        raise OperationalError(str(error)) from error
    except sqlite3.Error as error:
        raise DatabaseError(str(error)) from error


class SQLiteCursor:
    """sqlite3's cursor, its errors translated (rows are read as they are fetched)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Cursor) -> None:
        self._raw = raw

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    def fetchone(self) -> sqlite3.Row | None:
        with translated_errors():
            return self._raw.fetchone()

    def fetchall(self) -> list[sqlite3.Row]:
        with translated_errors():
            return self._raw.fetchall()

    def __iter__(self) -> Iterator[sqlite3.Row]:
        return iter(self.fetchall())


class SQLiteConnection:
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> SQLiteCursor:
        with translated_errors():
            return SQLiteCursor(self.raw.execute(sql, params))

    def executemany(self, sql: str, seq: Sequence[Params]) -> SQLiteCursor:
        with translated_errors():
            return SQLiteCursor(self.raw.executemany(sql, seq))

    def begin(self, exclusive: bool) -> None:
        # Every write takes the one write lock at its start, so two writers queue instead
        # of failing half-way with "database is locked" (``exclusive`` changes nothing).
        self.execute("BEGIN IMMEDIATE")

    def begin_snapshot(self) -> None:
        # A deferred transaction: in WAL mode its first read fixes what every later read
        # sees, while writers go on (they never block a reader, nor a reader them).
        self.execute("BEGIN")
        self.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()

    def schema_version(self) -> int:
        return self.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, number: int) -> None:
        self.execute(f"PRAGMA user_version = {int(number):d}")

    def tables(self) -> list[str]:
        rows = self.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [row[0] for row in rows]

    def reset_ids(self, table: str) -> None:
        """Nothing to do: SQLite's next id is always past the largest one stored."""

    def migration_statements(self, sql: str) -> list[str]:
        return split_statements(sql)


def split_statements(sql: str) -> list[str]:
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


def connect(path: str | Path) -> SQLiteConnection:
    """Open the store with foreign keys on, WAL journal and rows addressable by name.

    Autocommit mode (``isolation_level=None``): every write states its own transaction,
    so nothing is left half-committed by accident.
    """
    with translated_errors():
        raw = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    conn = SQLiteConnection(raw)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and str(path) != ":memory:":
            raise StoreError(f"could not switch {path} to WAL journal mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        raw.close()
        raise
    return conn
