"""Look-alike percents of unlabelled crops under a model version: the labelling queue's
"least sure first" order reads them (crops nearest 50% first)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webapp.store.db import Connection, Row, now, transaction


def crops_to_score(conn: Connection, version_id: int) -> list[Row]:
    """Unlabelled crops that ``version_id`` has not scored yet (id, files, face size)."""
    return conn.execute(
        "SELECT c.id, c.label, c.image_file, c.face_file, c.face_size FROM crops c"
        " LEFT JOIN crop_scores s ON s.crop_id = c.id AND s.model_version_id = ?"
        " WHERE c.label IS NULL AND s.crop_id IS NULL ORDER BY c.id",
        (version_id,),
    ).fetchall()


def save_crop_scores(
    conn: Connection, version_id: int, scores: Iterable[tuple[int, float]]
) -> None:
    """Record (crop id, percent) pairs from ``version_id``, replacing older scores."""
    at = now()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO crop_scores (crop_id, model_version_id, percent, scored_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (crop_id) DO UPDATE SET"
            " model_version_id = excluded.model_version_id, percent = excluded.percent,"
            " scored_at = excluded.scored_at",
            [(crop_id, version_id, min(100.0, max(0.0, p)), at) for crop_id, p in scores],
        )


def score_coverage(conn: Connection) -> dict[str, Any]:
    """How many unlabelled crops the active model version has scored.

    ``{"version_id": id or None, "unlabelled": n, "scored": n}``.
    """
    row = conn.execute(
        "SELECT (SELECT id FROM model_versions WHERE is_active = 1) AS version_id,"
        " COUNT(*) AS unlabelled,"
        " COUNT(s.crop_id) AS scored"
        " FROM crops c LEFT JOIN crop_scores s ON s.crop_id = c.id"
        " AND s.model_version_id = (SELECT id FROM model_versions WHERE is_active = 1)"
        " WHERE c.label IS NULL"
    ).fetchone()
    return dict(row)
