"""Copying a whole store into another, empty one (a SQLite install moving to PostgreSQL,
or back into a SQLite file).

Every table is copied row by row with its ids, in an order where each row's references
already exist, in one transaction on the target; then the target's id counters are moved
past the copied ids and the rows of every table are counted on both sides. The source is
read in one snapshot, so rows written to it meanwhile cannot tear the copy (they are not
in it either). A target that already holds data is refused: nothing is merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.store.db import Connection, StoreError, placeholders, snapshot, transaction

# Referenced tables before the tables referring to them, each with its primary key: rows
# are read in pages in that order, so no row is read twice or missed.
TABLES = {
    "users": "id",
    "settings": "key",
    "videos": "id",
    "extractions": "id",
    "crops": "id",
    "label_history": "id",
    "label_skips": "user_id, crop_id",
    "model_versions": "id",
    "model_files": "model_version_id, name",
    "jobs": "id",
    "crop_scores": "crop_id",
    "crop_descriptors": "crop_id, model",
    "published_pictures": "crop_id",
    "rate_limits": "client, window_start",
    "login_throttle": "key",
}
# Rows that describe processes of the old host, not data: never copied.
NOT_COPIED = ("workers",)
BATCH = 500  # rows read and written at a time
# A model version's file can weigh tens of megabytes: those are read a few at a time.
SMALL_BATCHES = {"model_files": 2, "published_pictures": 50}


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]  # per table, counted on the target after the copy
    source_rows: dict[str, int]  # per table, counted in the source's snapshot

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows per copied table."""
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}


def check_empty(target: Connection) -> None:
    """:raise StoreError: the target store holds rows (naming how many, of which tables)."""
    held = {table: n for table, n in count_rows(target).items() if n}
    if held:
        listed = ", ".join(f"{n} {table}" for table, n in held.items())
        raise StoreError(f"the target store is not empty ({listed}): copy into a new database")


def copy_store(source: Connection, target: Connection) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (both migrated to the same schema
    version; the target empty) and check the counts.

    :raise StoreError: different schema versions, a target holding data, or counts that
        differ after the copy (the copy is rolled back then).
    """
    if source.schema_version() != target.schema_version():
        raise StoreError(
            f"the stores are at schema versions {source.schema_version()} and"
            f" {target.schema_version()}: upgrade both with the same app first"
        )
    check_empty(target)
    with snapshot(source), transaction(target):
        expected = count_rows(source)
        for table in TABLES:
            _copy_table(source, target, table)
            target.reset_ids(table)
        copied = count_rows(target)
        if copied != expected:
            differ = ", ".join(
                f"{table}: {expected[table]} -> {copied[table]}"
                for table in TABLES
                if copied[table] != expected[table]
            )
            raise StoreError(f"the copy does not match its source ({differ}); nothing was kept")
    return CopyReport(copied, expected)


def _copy_table(source: Connection, target: Connection, table: str) -> None:
    batch = SMALL_BATCHES.get(table, BATCH)
    offset = 0
    while True:
        rows = source.execute(
            f"SELECT * FROM {table} ORDER BY {TABLES[table]} LIMIT ? OFFSET ?", (batch, offset)
        ).fetchall()
        if not rows:
            return
        columns = list(rows[0].keys())
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(columns)})"
        target.executemany(sql, [tuple(row) for row in rows])
        offset += len(rows)
