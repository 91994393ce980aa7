"""Model versions (one row per training run) and the labelled crops training reads."""

from __future__ import annotations

import json
from typing import Any

from webapp.store.db import Connection, Row, now, transaction

TRAINING_LABELS = ("target", "not_target")  # 'not_face' crops never enter training


class ModelVersionNotFound(LookupError):
    pass


def training_crops(conn: Connection) -> list[Row]:
    """id, label, both files, face size and shot (video and frame) of every crop labelled
    target or not_target."""
    return conn.execute(
        "SELECT id, label, image_file, face_file, face_size, video_id, frame_index FROM crops"
        " WHERE label IN ('target', 'not_target') ORDER BY id"
    ).fetchall()


def training_counts(conn: Connection) -> dict[str, int]:
    """Crops per training label (zero for a label nobody used yet)."""
    rows = conn.execute(
        "SELECT label, COUNT(*) AS n FROM crops"
        " WHERE label IN ('target', 'not_target') GROUP BY label"
    ).fetchall()
    counts = dict.fromkeys(TRAINING_LABELS, 0)
    counts.update({row["label"]: row["n"] for row in rows})
    return counts


def add_model_version(
    conn: Connection,
    *,
    directory: str,
    extractor: str,
    preset: str,
    face_size: int,
    params: dict[str, Any],
    metrics: dict[str, Any],
    data_counts: dict[str, Any],
    activate: bool = False,
) -> int:
    """Record a version written to the models folder; with ``activate``, make it the
    active one in the same transaction. Returns its id."""
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO model_versions (directory, extractor, preset, face_size, params,"
            " metrics, data_counts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                directory,
                extractor,
                preset,
                face_size,
                json.dumps(params),
                json.dumps(metrics),
                json.dumps(data_counts),
                now(),
            ),
        )
        version_id = cursor.fetchone()[0]
        if activate:
            _activate(conn, version_id)
    return version_id


def _activate(conn: Connection, version_id: int) -> None:
    conn.execute("UPDATE model_versions SET is_active = 0 WHERE is_active = 1")
    updated = conn.execute(
        "UPDATE model_versions SET is_active = 1, activated_at = ? WHERE id = ?",
        (now(), version_id),
    )
    if updated.rowcount != 1:
        raise ModelVersionNotFound(f"there is no model version {version_id}")


def activate_model_version(conn: Connection, version_id: int) -> None:
    """Make ``version_id`` the one visitors are scored with (also a rollback).

    One transaction: the app never sees no active version or two.

    :raise ModelVersionNotFound: nothing changes.
    """
    with transaction(conn):
        _activate(conn, version_id)


def _decoded(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    version = dict(row)
    for key in ("params", "metrics", "data_counts"):
        version[key] = json.loads(version[key])
    version["is_active"] = bool(version["is_active"])
    return version


def get_model_version(conn: Connection, version_id: int) -> dict[str, Any] | None:
    """A version as a dict, its JSON columns decoded."""
    row = conn.execute("SELECT * FROM model_versions WHERE id = ?", (version_id,)).fetchone()
    return _decoded(row)


def get_active_model_version(conn: Connection) -> dict[str, Any] | None:
    """The version visitors are scored with, or None before the first training."""
    row = conn.execute("SELECT * FROM model_versions WHERE is_active = 1").fetchone()
    return _decoded(row)


def list_model_versions(conn: Connection) -> list[dict[str, Any]]:
    """Every version with its scores, newest first."""
    rows = conn.execute("SELECT * FROM model_versions ORDER BY id DESC").fetchall()
    return [_decoded(row) for row in rows]
