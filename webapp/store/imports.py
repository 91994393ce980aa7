"""Crops that come from image files (``import-folders``) and labelled crops going out."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.store.db import Connection, Row, now, placeholders, transaction
from webapp.store.labels import check_label


@dataclass(frozen=True)
class NewImportedCrop:
    """An image file's face, its files already written under the crops folder."""

    content_hash: str
    source_name: str
    face_box: tuple[int, int, int, int]
    crop_box: tuple[int, int, int, int]
    image_file: str
    face_file: str
    face_size: int


def is_imported(conn: Connection, content_hash: str) -> bool:
    """Whether a file with this sha256 was imported before."""
    row = conn.execute(
        "SELECT 1 FROM crops WHERE source = 'import' AND content_hash = ?", (content_hash,)
    ).fetchone()
    return row is not None


def add_imported_crop(conn: Connection, crop: NewImportedCrop, label: str) -> bool:
    """Store an imported crop with its label (history: no admin); False if a file with the
    same content is already stored (nothing changes then)."""
    check_label(label)
    at = now()
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO crops (source, source_name, content_hash, face_x, face_y,"
            " face_w, face_h, crop_x, crop_y, crop_w, crop_h, image_file, face_file, face_size,"
            " label, labelled_at, created_at)"
            " VALUES ('import', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (
                crop.source_name,
                crop.content_hash,
                *crop.face_box,
                *crop.crop_box,
                crop.image_file,
                crop.face_file,
                crop.face_size,
                label,
                at,
                at,
            ),
        )
        row = cursor.fetchone()
        if row is None:
            return False
        conn.execute(
            "INSERT INTO label_history (crop_id, user_id, old_label, new_label, changed_at)"
            " VALUES (?, NULL, NULL, ?, ?)",
            (row[0], label, at),
        )
    return True


def labelled_crops(conn: Connection, labels: tuple[str, ...]) -> list[Row]:
    """id, label and colour image file of every crop with one of ``labels``, by id."""
    for label in labels:
        check_label(label)
    return conn.execute(
        f"SELECT id, label, image_file FROM crops WHERE label IN ({placeholders(labels)})"
        " ORDER BY id",
        tuple(labels),
    ).fetchall()
