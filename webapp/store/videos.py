"""Videos, extraction runs and the crops they add."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webapp.store.db import Connection, Row, now, process_alive, this_host, transaction


@dataclass(frozen=True)
class NewVideoCrop:
    """A face found in a video frame, its files already written under the crops folder."""

    frame_index: int
    time_ms: int
    face_box: tuple[int, int, int, int]
    crop_box: tuple[int, int, int, int]
    image_file: str
    face_file: str
    face_size: int


def save_video(
    conn: Connection,
    *,
    path: str,
    name: str,
    size_bytes: int,
    fingerprint: str,
    frame_count: int,
    fps: float,
    width: int,
    height: int,
) -> int:
    """Record a video (or, for a known fingerprint, where it now lives); return its id.

    A known video keeps the name it was first recorded under: the same movie extracted
    from an upload and from the command line is shown under one name, whichever ran last.
    """
    with transaction(conn):
        conn.execute(
            "INSERT INTO videos (path, name, size_bytes, fingerprint, frame_count, fps,"
            " width, height, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (fingerprint) DO UPDATE SET path = excluded.path",
            (path, name, size_bytes, fingerprint, frame_count, fps, width, height, now()),
        )
        row = conn.execute("SELECT id FROM videos WHERE fingerprint = ?", (fingerprint,)).fetchone()
    return row["id"]


def get_video(conn: Connection, video_id: int) -> Row | None:
    return conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()


def list_videos(conn: Connection) -> list[Row]:
    """Every video with its number of crops, newest first."""
    return conn.execute(
        "SELECT v.*, (SELECT COUNT(*) FROM crops c WHERE c.video_id = v.id) AS crop_count"
        " FROM videos v ORDER BY v.id DESC"
    ).fetchall()


def start_extraction(conn: Connection, video_id: int, params: dict[str, Any]) -> int:
    """Open an extraction run; runs left 'running' by a dead process become 'interrupted'."""
    with transaction(conn):
        _close_abandoned_extractions(conn)
        cursor = conn.execute(
            "INSERT INTO extractions (video_id, params, status, started_at, pid, host)"
            " VALUES (?, ?, 'running', ?, ?, ?) RETURNING id",
            (video_id, json.dumps(params, sort_keys=True), now(), os.getpid(), this_host()),
        )
        extraction_id = cursor.fetchone()[0]
    return extraction_id


def _close_abandoned_extractions(conn: Connection) -> None:
    for row in conn.execute(
        "SELECT id, pid, host FROM extractions WHERE status = 'running'"
    ).fetchall():
        if not process_alive(row["pid"], row["host"]):
            # A killed run never wrote its counts: the crops that point to it say them.
            conn.execute(
                "UPDATE extractions SET status = 'interrupted', finished_at = ?,"
                " error = 'the process running it ended',"
                " crops_added = (SELECT COUNT(*) FROM crops WHERE extraction_id = ?)"
                " WHERE id = ?",
                (now(), row["id"], row["id"]),
            )


def finish_extraction(
    conn: Connection,
    extraction_id: int,
    *,
    status: str,
    frames_read: int,
    frames_kept: int,
    faces_found: int,
    crops_added: int,
    seconds: float,
    error: str | None = None,
) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE extractions SET status = ?, frames_read = ?, frames_kept = ?,"
            " faces_found = ?, crops_added = ?, seconds = ?, error = ?, finished_at = ?"
            " WHERE id = ?",
            (
                status,
                frames_read,
                frames_kept,
                faces_found,
                crops_added,
                seconds,
                error,
                now(),
                extraction_id,
            ),
        )


def stored_face_boxes(conn: Connection, video_id: int) -> set[tuple[int, ...]]:
    """(frame, x, y, w, h) of every crop already stored for a video: what a rerun skips."""
    rows = conn.execute(
        "SELECT frame_index, face_x, face_y, face_w, face_h FROM crops WHERE video_id = ?",
        (video_id,),
    )
    return {tuple(row) for row in rows}


def add_video_crops(
    conn: Connection, video_id: int, extraction_id: int, crops: Iterable[NewVideoCrop]
) -> int:
    """Store crops found in one frame, in one transaction; return how many were new."""
    added = 0
    created = now()
    with transaction(conn):
        for crop in crops:
            cursor = conn.execute(
                "INSERT INTO crops (source, video_id, extraction_id, frame_index,"
                " time_ms, face_x, face_y, face_w, face_h, crop_x, crop_y, crop_w, crop_h,"
                " image_file, face_file, face_size, created_at)"
                " VALUES ('video', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    video_id,
                    extraction_id,
                    crop.frame_index,
                    crop.time_ms,
                    *crop.face_box,
                    *crop.crop_box,
                    crop.image_file,
                    crop.face_file,
                    crop.face_size,
                    created,
                ),
            )
            added += cursor.rowcount
    return added


def remove_extraction_crops(conn: Connection, extraction_id: int) -> list[str]:
    """Delete the (never labelled) crops a failed run added; return their files to remove."""
    with transaction(conn):
        rows = conn.execute(
            "SELECT id, image_file, face_file FROM crops"
            " WHERE extraction_id = ? AND label IS NULL"
            " AND id NOT IN (SELECT crop_id FROM label_history)",
            (extraction_id,),
        ).fetchall()
        conn.executemany("DELETE FROM crops WHERE id = ?", [(row["id"],) for row in rows])
    return [name for row in rows for name in (row["image_file"], row["face_file"])]


def crop_counts(conn: Connection) -> dict[str, int]:
    """Crops in the store: in all, unlabelled, and per label."""
    row = conn.execute(
        "SELECT COUNT(*) AS total,"
        " COUNT(CASE WHEN label IS NULL THEN 1 END) AS unlabelled,"
        " COUNT(CASE WHEN label = 'target' THEN 1 END) AS target,"
        " COUNT(CASE WHEN label = 'not_target' THEN 1 END) AS not_target,"
        " COUNT(CASE WHEN label = 'not_face' THEN 1 END) AS not_face"
        " FROM crops"
    ).fetchone()
    return {key: value or 0 for key, value in dict(row).items()}
