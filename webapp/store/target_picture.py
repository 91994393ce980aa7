"""Which crop shows the target on the public page, and the pictures published for it.

A published picture is a crop's colour PNG kept in the store, so that a host without the
crops folder can show it too.
"""

from __future__ import annotations

from typing import Any

from webapp.store.db import Connection, Row, now, transaction
from webapp.store.settings import get_setting, set_setting

TARGET_PICTURE = "target_picture_crop_id"


def set_target_picture(conn: Connection, crop_id: int) -> None:
    """An admin's choice of picture for the target."""
    set_setting(conn, TARGET_PICTURE, str(int(crop_id)))


def picture_crop(conn: Connection, crop_id: int) -> Row | None:
    """id and image_file of crop ``crop_id`` (None: no such crop)."""
    return conn.execute("SELECT id, image_file FROM crops WHERE id = ?", (crop_id,)).fetchone()


def target_picture(conn: Connection, examples: list[dict[str, Any]] | None) -> Row | None:
    """The crop to show as the target: the admin's choice, else the held-out target crop
    the active model was most sure of (among its report's ``examples``), else the first
    crop labelled target."""
    candidates: list[int] = []
    chosen = get_setting(conn, TARGET_PICTURE)
    if chosen and chosen.isdigit():
        candidates.append(int(chosen))
    targets = [e for e in examples or [] if e.get("label") == "target"]
    sure = sorted(targets, key=lambda e: -e.get("percent", 0))
    candidates += [int(e["crop_id"]) for e in sure]
    for crop_id in candidates:
        row = picture_crop(conn, crop_id)
        if row is not None:
            return row
    return conn.execute(
        "SELECT id, image_file FROM crops WHERE label = 'target' ORDER BY id LIMIT 1"
    ).fetchone()


def publish_picture(conn: Connection, crop_id: int, content: bytes) -> None:
    """Keep ``content`` as the picture of crop ``crop_id`` shown to visitors (replacing
    one published before; the same bytes again change nothing, not even the date).

    :raise IntegrityError: there is no such crop.
    """
    with transaction(conn, exclusive=False):
        conn.execute(
            "INSERT INTO published_pictures (crop_id, content, published_at) VALUES (?, ?, ?)"
            " ON CONFLICT (crop_id) DO UPDATE SET content = excluded.content,"
            " published_at = excluded.published_at"
            " WHERE published_pictures.content <> excluded.content",
            (crop_id, bytes(content), now()),
        )


def published_picture(conn: Connection, crop_id: int) -> bytes | None:
    """The picture published for crop ``crop_id``, or None."""
    row = conn.execute(
        "SELECT content FROM published_pictures WHERE crop_id = ?", (crop_id,)
    ).fetchone()
    return None if row is None else bytes(row["content"])


def is_published(conn: Connection, crop_id: int) -> bool:
    """Whether crop ``crop_id`` has a published picture (its bytes left unread)."""
    row = conn.execute("SELECT 1 FROM published_pictures WHERE crop_id = ?", (crop_id,))
    return row.fetchone() is not None
