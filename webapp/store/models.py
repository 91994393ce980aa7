"""Model versions (one row per training run), their files, and the labelled crops
training reads.

A version's files (what its folder in the models folder holds) are kept in the store
beside its row, each with its SHA-256, so that a host whose models folder lacks them can
write them out (:mod:`webapp.operations.model_files`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
    files: Mapping[str, bytes] | None = None,
    activate: bool = False,
) -> int:
    """Record a version written to the models folder, with its ``files`` (name: content);
    with ``activate``, make it the active one. One transaction: no host ever sees the
    version without its files. Returns its id."""
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
        _add_files(conn, version_id, files or {})
        if activate:
            _activate(conn, version_id)
    return version_id


def _add_files(conn: Connection, version_id: int, files: Mapping[str, bytes]) -> None:
    conn.executemany(
        "INSERT INTO model_files (model_version_id, name, content, sha256) VALUES (?, ?, ?, ?)",
        [
            (version_id, name, bytes(content), hashlib.sha256(content).hexdigest())
            for name, content in files.items()
        ],
    )


def add_model_files(conn: Connection, version_id: int, files: Mapping[str, bytes]) -> bool:
    """Keep the files of a version recorded without them (trained before the store kept
    files); False, and nothing changes, when it has files already."""
    with transaction(conn):
        held = conn.execute(
            "SELECT 1 FROM model_files WHERE model_version_id = ? LIMIT 1", (version_id,)
        ).fetchone()
        if held is not None:
            return False
        _add_files(conn, version_id, files)
    return True


def model_files(conn: Connection, directory: str) -> list[Row]:
    """name, content and sha256 of each file the store keeps of the version whose folder
    is ``directory`` (none for an unknown version or one trained before files were kept)."""
    return conn.execute(
        "SELECT f.name, f.content, f.sha256 FROM model_files f"
        " JOIN model_versions v ON v.id = f.model_version_id"
        " WHERE v.directory = ? ORDER BY f.name",
        (directory,),
    ).fetchall()


def versions_without_files(conn: Connection) -> list[Row]:
    """id and directory of every version the store keeps no file of, oldest first."""
    return conn.execute(
        "SELECT id, directory FROM model_versions v WHERE NOT EXISTS"
        " (SELECT 1 FROM model_files f WHERE f.model_version_id = v.id) ORDER BY id"
    ).fetchall()


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
