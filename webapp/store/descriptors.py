"""Face descriptors kept per crop and descriptor model, so that retraining (and scoring the
unlabelled crops) never computes one twice. Vectors are float32 bytes, little-endian."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webapp.store.db import Connection, Row, now, transaction


def crops_without_descriptor(
    conn: Connection, model: str, crop_ids: Iterable[int] | None = None
) -> list[Row]:
    """Crops with no ``model`` descriptor yet (all, or those in ``crop_ids``), with their
    image file and boxes (the face box and the crop box, in the source picture). Crops
    marked "not a face" are never described: they are never trained on or scored."""
    rows = conn.execute(
        "SELECT c.id, c.image_file, c.face_x, c.face_y, c.face_w, c.face_h,"
        " c.crop_x, c.crop_y, c.crop_w, c.crop_h FROM crops c"
        " LEFT JOIN crop_descriptors d ON d.crop_id = c.id AND d.model = ?"
        " WHERE d.crop_id IS NULL AND (c.label IS NULL OR c.label != 'not_face')"
        " ORDER BY c.id",
        (model,),
    ).fetchall()
    if crop_ids is None:
        return rows
    wanted = set(crop_ids)
    return [row for row in rows if row["id"] in wanted]


def save_descriptors(conn: Connection, model: str, vectors: Iterable[tuple[int, bytes]]) -> None:
    """Keep (crop id, vector bytes) pairs; a crop described again keeps its newer vector."""
    at = now()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO crop_descriptors (crop_id, model, vector, computed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (crop_id, model) DO UPDATE SET"
            " vector = excluded.vector, computed_at = excluded.computed_at",
            [(crop_id, model, vector, at) for crop_id, vector in vectors],
        )


def load_descriptors(conn: Connection, model: str, crop_ids: Iterable[int]) -> dict[int, bytes]:
    """The kept vectors of the given crops that have one, by crop id."""
    wanted = set(crop_ids)
    rows = conn.execute(
        "SELECT crop_id, vector FROM crop_descriptors WHERE model = ?", (model,)
    ).fetchall()
    return {row["crop_id"]: row["vector"] for row in rows if row["crop_id"] in wanted}


def descriptor_coverage(conn: Connection, model: str) -> dict[str, Any]:
    """``{"crops": n, "described": n, "labelled": n, "labelled_described": n}``; crops
    marked "not a face" are left out (they are never trained on)."""
    row = conn.execute(
        "SELECT COUNT(*) AS crops, COUNT(d.crop_id) AS described,"
        " COUNT(CASE WHEN c.label IN ('target', 'not_target') THEN 1 END) AS labelled,"
        " COUNT(CASE WHEN c.label IN ('target', 'not_target') AND d.crop_id IS NOT NULL"
        " THEN 1 END) AS labelled_described"
        " FROM crops c LEFT JOIN crop_descriptors d ON d.crop_id = c.id AND d.model = ?"
        " WHERE c.label IS NULL OR c.label != 'not_face'",
        (model,),
    ).fetchone()
    return {key: int(value or 0) for key, value in dict(row).items()}
