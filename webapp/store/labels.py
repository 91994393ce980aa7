"""Labels on crops: the labelling queue, decisions, undo and the label history.

Every change of a label writes a ``label_history`` row (who, when, old, new) in the same
transaction, so no decision is ever lost, even when two admins label the same crop.
The queue hands each admin an unlabelled crop nobody else holds, and holds it for them
(``claimed_by``/``claimed_until``) for a couple of minutes, chosen and claimed in one write
transaction: two admins at once are rarely shown the same crop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from webapp.store.db import MAX_INTEGER, Connection, Row, now, transaction

LABELS = ("target", "not_target", "not_face")
CLAIM_SECONDS = 120
# "store": the order crops were added in; "uncertain": the active model's least sure first.
QUEUE_ORDERS = ("store", "uncertain")

CROP_WITH_SOURCE = (
    "SELECT c.*, v.name AS video_name, v.path AS video_path, v.fps AS video_fps"
    " FROM crops c LEFT JOIN videos v ON v.id = c.video_id"
)


class CropNotFound(LookupError):
    """No crop has this id."""


@dataclass(frozen=True)
class LabelChange:
    crop_id: int
    old_label: str | None
    new_label: str | None


@dataclass(frozen=True)
class Undone:
    """What an undo did: the crop, the label it has now, and whether it was restored
    (False when another admin relabelled the crop since: their decision is kept)."""

    crop_id: int
    label: str | None
    restored: bool


def _later(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def check_label(label: str | None) -> None:
    if label is not None and label not in LABELS:
        raise ValueError(f"unknown label {label!r}: use one of {', '.join(LABELS)}")


def get_crop(conn: Connection, crop_id: int) -> Row | None:
    """A crop with its video's name, path and frame rate (NULL for imported crops)."""
    return conn.execute(f"{CROP_WITH_SOURCE} WHERE c.id = ?", (crop_id,)).fetchone()


def claim_next_crop(
    conn: Connection,
    user_id: int,
    *,
    exclude: Iterable[int] = (),
    claim_seconds: int = CLAIM_SECONDS,
    order: str = "store",
) -> Row | None:
    """The next unlabelled crop for this admin, claimed for them; None when all are done.

    Order: a crop this admin already holds (e.g. one they just undid), then crops in store
    order, the ones this admin skipped last. With ``order="uncertain"``, the crops the
    active model version scored nearest 50% come first (unscored ones after them, in store
    order). ``exclude``: crops the admin's page already has on screen or preloaded.

    :raise ValueError: an unknown order.
    """
    if order not in QUEUE_ORDERS:
        raise ValueError(f"unknown queue order {order!r}: use one of {', '.join(QUEUE_ORDERS)}")
    uncertain = order == "uncertain"
    # Ids are inlined (as numbers, never text): a list of any length in one statement.
    excluded = ", ".join(str(i) for i in {int(i) for i in exclude} if 0 <= i <= MAX_INTEGER)
    excluded = excluded or "-1"
    with transaction(conn):
        at = now()
        row = conn.execute(
            "SELECT c.id FROM crops c"
            " LEFT JOIN label_skips s ON s.crop_id = c.id AND s.user_id = :user"
            " LEFT JOIN crop_scores cs ON :uncertain AND cs.crop_id = c.id"
            " AND cs.model_version_id = (SELECT id FROM model_versions WHERE is_active = 1)"
            " WHERE c.label IS NULL"
            " AND (c.claimed_by IS NULL OR c.claimed_by = :user OR c.claimed_until < :now)"
            f" AND c.id NOT IN ({excluded})"
            " ORDER BY CASE WHEN c.claimed_by = :user AND c.claimed_until >= :now"
            " THEN 0 ELSE 1 END,"
            " s.skipped_at IS NOT NULL, s.skipped_at,"
            " cs.percent IS NULL, ABS(cs.percent - 50), c.id"
            " LIMIT 1",
            {
                "user": user_id,
                "now": at,
                "uncertain": uncertain,
            },
        ).fetchone()
        if row is None:
            return None
        _claim(conn, [row["id"]], user_id, claim_seconds)
    return get_crop(conn, row["id"])


def claim_crops(
    conn: Connection, user_id: int, count: int, *, claim_seconds: int = CLAIM_SECONDS
) -> list[Row]:
    """Up to ``count`` unlabelled crops nobody else holds, claimed for this admin (the grid)."""
    with transaction(conn):
        ids = [
            row["id"]
            for row in conn.execute(
                "SELECT id FROM crops WHERE label IS NULL"
                " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)"
                " ORDER BY id LIMIT ?",
                (user_id, now(), count),
            )
        ]
        _claim(conn, ids, user_id, claim_seconds)
    return [get_crop(conn, crop_id) for crop_id in ids]


def _claim(conn: Connection, ids: list[int], user_id: int, seconds: int) -> None:
    until = _later(seconds)
    conn.executemany(
        "UPDATE crops SET claimed_by = ?, claimed_until = ? WHERE id = ?",
        [(user_id, until, crop_id) for crop_id in ids],
    )


def _change_label(
    conn: Connection,
    crop_id: int,
    user_id: int | None,
    label: str | None,
    at: str,
    undoes: int | None = None,
) -> LabelChange:
    """Inside a transaction: set the label, release the claim, write the history row."""
    row = conn.execute("SELECT label FROM crops WHERE id = ?", (crop_id,)).fetchone()
    if row is None:
        raise CropNotFound(crop_id)
    conn.execute(
        "UPDATE crops SET label = ?, labelled_by = ?, labelled_at = ?,"
        " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
        (label, user_id if label else None, at if label else None, crop_id),
    )
    conn.execute(
        "INSERT INTO label_history (crop_id, user_id, old_label, new_label, changed_at, undoes)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (crop_id, user_id, row["label"], label, at, undoes),
    )
    return LabelChange(crop_id, row["label"], label)


def set_label(conn: Connection, crop_id: int, user_id: int, label: str) -> LabelChange:
    """Record an admin's decision on one crop (kept in the history even if unchanged).

    :raise CropNotFound: no such crop.
    :raise ValueError: not one of :data:`LABELS`.
    """
    check_label(label)
    with transaction(conn):
        return _change_label(conn, crop_id, user_id, label, now())


def set_labels(conn: Connection, user_id: int, labels: Mapping[int, str]) -> list[LabelChange]:
    """Record many decisions at once (the grid): all of them, or none if one is invalid.

    :raise CropNotFound: one of the crops does not exist (nothing is saved).
    :raise ValueError: an unknown label (nothing is saved).
    """
    for label in labels.values():
        check_label(label)
    with transaction(conn):
        at = now()
        return [_change_label(conn, crop_id, user_id, lab, at) for crop_id, lab in labels.items()]


def skip_crop(conn: Connection, crop_id: int, user_id: int) -> None:
    """Put a crop at the back of this admin's queue and let others have it.

    :raise CropNotFound: no such crop.
    """
    with transaction(conn):
        if conn.execute("SELECT 1 FROM crops WHERE id = ?", (crop_id,)).fetchone() is None:
            raise CropNotFound(crop_id)
        conn.execute(
            "INSERT INTO label_skips (user_id, crop_id, skipped_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, crop_id) DO UPDATE SET skipped_at = excluded.skipped_at",
            (user_id, crop_id, now()),
        )
        conn.execute(
            "UPDATE crops SET claimed_by = NULL, claimed_until = NULL"
            " WHERE id = ? AND claimed_by = ?",
            (crop_id, user_id),
        )


def undo_last(
    conn: Connection, user_id: int, *, claim_seconds: int = CLAIM_SECONDS
) -> Undone | None:
    """Take back this admin's latest decision not yet undone; None if there is none.

    Each call walks one decision further back. The previous label comes back unless
    another admin changed the crop since (their decision wins); either way the undo is
    written to the history, and the crop is claimed so it is shown to this admin next.
    """
    with transaction(conn):
        last = conn.execute(
            "SELECT h.* FROM label_history h WHERE h.user_id = ? AND h.undoes IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM label_history u WHERE u.undoes = h.id)"
            " ORDER BY h.id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
        if last is None:
            return None
        current = conn.execute(
            "SELECT label FROM crops WHERE id = ?", (last["crop_id"],)
        ).fetchone()["label"]
        restored = current == last["new_label"]
        label = last["old_label"] if restored else current
        if restored:
            _change_label(conn, last["crop_id"], user_id, label, now(), undoes=last["id"])
        else:
            conn.execute(
                "INSERT INTO label_history"
                " (crop_id, user_id, old_label, new_label, changed_at, undoes)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (last["crop_id"], user_id, current, current, now(), last["id"]),
            )
        if label is None:
            _claim(conn, [last["crop_id"]], user_id, claim_seconds)
    return Undone(last["crop_id"], label, restored)


def label_history(conn: Connection, crop_id: int) -> list[Row]:
    """Every change of a crop's label, newest first, with the admin's name."""
    return conn.execute(
        "SELECT h.*, u.name AS user_name FROM label_history h"
        " LEFT JOIN users u ON u.id = h.user_id WHERE h.crop_id = ? ORDER BY h.id DESC",
        (crop_id,),
    ).fetchall()


def _filter(label: str | None, video_id: int | None) -> tuple[str, list]:
    """WHERE clause for browsing: label ('unlabelled' or a label) and video, both optional."""
    clauses, params = [], []
    if label == "unlabelled":
        clauses.append("c.label IS NULL")
    elif label:
        check_label(label)
        clauses.append("c.label = ?")
        params.append(label)
    if video_id is not None:
        clauses.append("c.video_id = ?")
        params.append(video_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def find_crops(
    conn: Connection,
    *,
    label: str | None = None,
    video_id: int | None = None,
    limit: int = 60,
    offset: int = 0,
) -> list[Row]:
    """Crops for the browse view, in store order."""
    where, params = _filter(label, video_id)
    return conn.execute(
        f"{CROP_WITH_SOURCE}{where} ORDER BY c.id LIMIT ? OFFSET ?", (*params, limit, offset)
    ).fetchall()


def count_crops(conn: Connection, *, label: str | None = None, video_id: int | None = None) -> int:
    where, params = _filter(label, video_id)
    return conn.execute(f"SELECT COUNT(*) FROM crops c{where}", params).fetchone()[0]
