"""Copying a whole store into another, empty one (a SQLite install moving to PostgreSQL).

Every table is copied row by row with its ids, in an order where each row's references
already exist, in one transaction on the target; then the target's id counters are moved
past the copied ids and the rows of every table are counted on both sides. A target that
already holds data is refused: nothing is merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.store.db import Connection, StoreError, transaction

# Referenced tables before the tables referring to them.
TABLES = (
    "users",
    "settings",
    "videos",
    "extractions",
    "crops",
    "label_history",
    "label_skips",
    "model_versions",
    "model_files",
    "jobs",
    "crop_scores",
    "crop_descriptors",
    "published_pictures",
    "rate_limits",
    "login_throttle",
)
# Rows that describe processes of the old host, not data: never copied.
NOT_COPIED = ("workers",)
BATCH = 500


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]  # per table, counted on the target after the copy

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows per copied table."""
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}


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
    held = {table: n for table, n in count_rows(target).items() if n}
    if held:
        listed = ", ".join(f"{n} {table}" for table, n in held.items())
        raise StoreError(f"the target store is not empty ({listed}): copy into a new database")
    expected = count_rows(source)
    with transaction(target):
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
    return CopyReport(copied)


def _copy_table(source: Connection, target: Connection, table: str) -> None:
    cursor = source.execute(f"SELECT * FROM {table} ORDER BY 1")
    rows = cursor.fetchall()
    if not rows:
        return
    columns = list(rows[0].keys())
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, len(rows), BATCH):
        target.executemany(sql, [tuple(row) for row in rows[start : start + BATCH]])
