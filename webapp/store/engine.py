"""What every engine's connection provides and raises (see :mod:`webapp.store.db`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


class StoreError(Exception):
    """The store cannot be used as asked (newer schema, unreadable file...)."""


class DatabaseError(Exception):
    """The database refused or failed a statement (the driver's error, either engine)."""


class IntegrityError(DatabaseError):
    """A constraint refused a write (a unique name taken, a missing row referenced)."""


class OperationalError(DatabaseError):
    """The database cannot be used right now: unreachable, restarting, a full disk, a
    read-only or locked file. Requests answer 503 and the next one tries again."""


class Row(Protocol):
    """A result row: ``row["name"]``, ``row[0]``, ``dict(row)``, ``row.keys()``."""

    def __getitem__(self, key: int | str) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


Params = Sequence[Any] | Mapping[str, Any]


class Connection(Protocol):
    """One connection to the store, whichever engine holds it."""

    dialect: str  # "sqlite" or "postgresql"

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, seq: Sequence[Params]) -> Cursor: ...

    def begin(self, exclusive: bool) -> None: ...

    def begin_snapshot(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def schema_version(self) -> int: ...

    def set_schema_version(self, number: int) -> None: ...

    def migration_statements(self, sql: str) -> list[str]: ...

    def tables(self) -> list[str]:
        """The names of the store's tables (the schema version's own included)."""
        ...

    def reset_ids(self, table: str) -> None: ...


def is_postgresql(database: str | Path) -> bool:
    """Whether a store setting names a PostgreSQL server rather than a SQLite file."""
    return str(database).startswith(POSTGRESQL_SCHEMES)


def describe(database: str | Path) -> str:
    """A store setting as it may be printed or logged: a URL without its password."""
    text = str(database)
    if not is_postgresql(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
