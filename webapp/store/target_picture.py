"""Which crop shows the target on the public page."""

from __future__ import annotations

from typing import Any

from webapp.store.db import Connection, Row
from webapp.store.settings import get_setting, set_setting

TARGET_PICTURE = "target_picture_crop_id"


def set_target_picture(conn: Connection, crop_id: int) -> None:
    """An admin's choice of picture for the target."""
    set_setting(conn, TARGET_PICTURE, str(int(crop_id)))


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
        row = conn.execute("SELECT id, image_file FROM crops WHERE id = ?", (crop_id,)).fetchone()
        if row is not None:
            return row
    return conn.execute(
        "SELECT id, image_file FROM crops WHERE label = 'target' ORDER BY id LIMIT 1"
    ).fetchone()
