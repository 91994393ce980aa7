"""Copying the app's whole store into a new one: a SQLite install moving to a PostgreSQL
server (many hosts), or a PostgreSQL store written back into a SQLite file.

The target is brought to this app's schema first, must hold no rows, then receives every
row in one transaction and the counts are compared table by table. Whatever goes wrong,
the target is left as it was, without data (a SQLite file this copy created is removed),
and the one-line reason never shows a password.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from webapp.operations.model_files import publish_model_files
from webapp.operations.target_picture import active_examples, publish_target_picture
from webapp.store.copy import check_empty, copy_store
from webapp.store.db import (
    Connection,
    DatabaseError,
    OperationalError,
    StoreError,
    connect,
    describe,
    is_postgresql,
    migrate,
    migrations,
    remove_file_store,
)


def publish_host_files(
    models_dir: str | Path, crops_dir: str | Path
) -> Callable[[Connection], None]:
    """The step before a copy that puts into the store what only this host's disk holds:
    the files of versions trained before they were kept in the store, and the target's
    picture. Hosts sharing the copy need nothing but the database."""

    def publish(conn: Connection) -> None:
        publish_model_files(conn, models_dir)
        publish_target_picture(conn, crops_dir, active_examples(conn))

    return publish


class CopyRefused(Exception):
    """The copy cannot be made or failed; nothing was copied. The message is for the user."""


@dataclass(frozen=True)
class StoreCopy:
    """What a copy did: the two stores (as they may be printed) and the rows of each
    table on both sides."""

    source: str
    target: str
    migrations_applied: list[str]  # to the target, before the copy
    source_rows: dict[str, int]
    target_rows: dict[str, int]

    @property
    def matched(self) -> bool:
        return self.source_rows == self.target_rows

    @property
    def total(self) -> int:
        return sum(self.target_rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "migrations_applied": self.migrations_applied,
            "tables": {
                table: {"source": n, "target": self.target_rows[table]}
                for table, n in self.source_rows.items()
            },
            "total": self.total,
            "matched": self.matched,
        }


def copy_to(
    source: str | Path,
    target: str,
    *,
    before_copy: Callable[[Connection], None] | None = None,
) -> StoreCopy:
    """Copy the store ``source`` (the app's: a SQLite file or a PostgreSQL URL) into
    ``target``, a ``postgresql://USER:PASSWORD@HOST:PORT/DB`` URL or the path of a SQLite
    file, which must hold no rows (a new database, a new file).

    ``before_copy`` gets the source's connection once the target has been checked, just
    before the copy: the step that puts into the store what a host of a shared store
    cannot find on its own disk. It may raise :class:`CopyRefused`.

    :raise CopyRefused: a target that is not a URL of PostgreSQL nor a file path, is the
        source itself, cannot be reached, is not empty or is at a newer schema; a source
        at another schema than this app's; a copy whose counts differ.
    """
    target = target.strip()
    _check_target(source, target)
    created = not is_postgresql(target) and not Path(target).exists()
    try:
        return _copy(source, target, before_copy)
    except BaseException:
        if created:
            remove_file_store(target)
        raise


def _copy(
    source: str | Path, target: str, before_copy: Callable[[Connection], None] | None
) -> StoreCopy:
    src = _open(source)
    try:
        _check_source_schema(src, source)
        dst = _open(target, new_file=True)
        try:
            with _refusing(target, "cannot copy into"):
                applied = migrate(dst)
                check_empty(dst)
            if before_copy is not None:
                # The one place where what the store must carry for other hosts (model
                # files, the target's picture) is put into it, so the copy takes it along.
                with _refusing(source, "cannot prepare the app's store"):
                    before_copy(src)
            with _refusing(target, "cannot copy into", after="nothing was copied"):
                report = copy_store(src, dst)
        finally:
            dst.close()
    finally:
        src.close()
    return StoreCopy(describe(source), describe(target), applied, report.source_rows, report.rows)


def _check_target(source: str | Path, target: str) -> None:
    if not target:
        raise CopyRefused("say where to copy: --to postgresql://USER:PASSWORD@HOST:PORT/DB")
    if "://" in target and not is_postgresql(target):
        scheme = target.split("://", 1)[0]
        raise CopyRefused(
            f"cannot copy to a {scheme}:// URL: give a postgresql://USER:PASSWORD@HOST:PORT/DB"
            " URL or the path of a SQLite file"
        )
    if is_postgresql(target):
        if _same_server_database(source, target):
            raise CopyRefused(f"{describe(target)} is the app's own store: copy into another one")
        return
    path = Path(target)
    if path.is_dir():
        raise CopyRefused(f"{target} is a folder: give the path of a SQLite file to create")
    if not is_postgresql(source) and path.resolve() == Path(source).resolve():
        raise CopyRefused(f"{target} is the app's own store: copy into another file")


def _same_server_database(source: str | Path, target: str) -> bool:
    if not is_postgresql(source):
        return False
    a, b = urlsplit(str(source)), urlsplit(target)
    try:
        return (a.hostname, a.port or 5432, a.path) == (b.hostname, b.port or 5432, b.path)
    except ValueError:  # a port that is not a number: not the app's, whose URL works
        return False


def _open(database: str | Path, *, new_file: bool = False) -> Connection:
    """A connection of its own (not pooled) to ``database``; ``new_file``: a SQLite file
    that may not exist yet, nor its folder."""
    with _refusing(database, "cannot open"):
        if new_file and not is_postgresql(database):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return connect(database, pooled=False)


def _check_source_schema(conn: Connection, source: str | Path) -> None:
    with _refusing(source, "cannot read the app's store"):
        version, known = conn.schema_version(), len(migrations())
    if version > known:
        raise CopyRefused(
            f"the app's store {describe(source)} is at schema version {version}, newer than"
            f" this app knows ({known}): copy it with the app that wrote it"
        )
    if version < known:
        raise CopyRefused(
            f"the app's store {describe(source)} is at schema version {version}, older than"
            f" this app's ({known}): run `.venv/bin/flask --app webapp init-db` first"
        )


@contextmanager
def _refusing(database: str | Path, context: str, *, after: str = "") -> Iterator[None]:
    """Turn the store's errors in a block into one line of :class:`CopyRefused`:
    ``context``, the database without its password, the reason, then ``after``."""
    try:
        yield
    except (StoreError, DatabaseError, OSError) as error:
        where = describe(database)
        if isinstance(error, OperationalError) and is_postgresql(database):
            context = "cannot connect to"  # the server is down, or refuses the user
        reason = _one_line(_without_password(str(error), str(database)))
        ending = f" ({after})" if after else ""
        raise CopyRefused(f"{context} {where}: {reason}{ending}") from None


def _without_password(text: str, database: str) -> str:
    if not is_postgresql(database):
        return text
    password = urlsplit(database).password
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(secret, "***")
    return text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip() or "unknown error"
