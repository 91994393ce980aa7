"""The target's picture shown to visitors, from the store: every host can show it, with or
without the crops folder.

Which crop shows the target is the store's choice
(:func:`webapp.store.target_picture.target_picture`). Its colour PNG is published in the
store when training records a version, when an admin activates a version or chooses the
picture, and the first time a host that has the crop's file shows it; a host without the
file shows the published bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from webapp.store import models as model_store
from webapp.store import target_picture as picture_store
from webapp.store.db import Connection, DatabaseError, Row

log = logging.getLogger(__name__)


def version_examples(version: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The held-out crops a stored version's report shows (none without a version): what
    :func:`webapp.store.target_picture.target_picture` chooses among."""
    return (version["metrics"] or {}).get("examples", []) if version else []


def active_examples(conn: Connection) -> list[dict[str, Any]]:
    """:func:`version_examples` of the active version."""
    return version_examples(model_store.get_active_model_version(conn))


def _crop_file(crops_dir: str | Path, image_file: str) -> Path | None:
    """The crop's colour picture inside the crops folder, or None when it is not there (or
    its stored name leads out of the folder)."""
    root = Path(crops_dir).resolve()
    path = (root / image_file).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def _read_crop_picture(crops_dir: str | Path, row: Row) -> bytes | None:
    path = _crop_file(crops_dir, row["image_file"])
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def publish_crop_picture(conn: Connection, crops_dir: str | Path, crop_id: int) -> bool:
    """Publish crop ``crop_id``'s colour PNG from this host's crops folder; False when the
    crop or its file is not here."""
    row = picture_store.picture_crop(conn, crop_id)
    picture = None if row is None else _read_crop_picture(crops_dir, row)
    if picture is None:
        return False
    picture_store.publish_picture(conn, crop_id, picture)
    return True


def publish_target_picture(
    conn: Connection, crops_dir: str | Path, examples: list[dict[str, Any]] | None
) -> int | None:
    """Publish the picture of the crop chosen to show the target (among the active
    version's ``examples``) from this host's crops folder; its crop id, or None when no
    crop is chosen or its file is not here."""
    row = picture_store.target_picture(conn, examples)
    if row is None or not publish_crop_picture(conn, crops_dir, row["id"]):
        return None
    return row["id"]


def target_picture_png(
    conn: Connection, crops_dir: str | Path, examples: list[dict[str, Any]] | None
) -> bytes | None:
    """The picture that shows the target: the chosen crop's published PNG, else its file
    (then published for the hosts without it); None when there is neither."""
    row = picture_store.target_picture(conn, examples)
    if row is None:
        return None
    picture = picture_store.published_picture(conn, row["id"])
    if picture is not None:
        return picture
    picture = _read_crop_picture(crops_dir, row)
    if picture is not None:
        try:
            picture_store.publish_picture(conn, row["id"], picture)
        except DatabaseError as error:  # a read-only store: this host shows it all the same
            log.warning("the target's picture could not be published: %s", error)
    return picture


def has_target_picture(
    conn: Connection, crops_dir: str | Path, examples: list[dict[str, Any]] | None
) -> bool:
    """Whether :func:`target_picture_png` has a picture to show (nothing read)."""
    row = picture_store.target_picture(conn, examples)
    if row is None:
        return False
    return picture_store.is_published(conn, row["id"]) or (
        _crop_file(crops_dir, row["image_file"]) is not None
    )
