"""The numbers on the admin dashboard: videos, crops per label, model versions, jobs."""

from __future__ import annotations

from typing import Any

from webapp.store.db import Connection
from webapp.store.videos import crop_counts


def dashboard_counts(conn: Connection) -> dict[str, Any]:
    """Videos, model versions, and crops: in all, per label, unlabelled, imported."""
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM videos) AS videos,"
        " (SELECT COUNT(*) FROM model_versions) AS model_versions,"
        " (SELECT COUNT(*) FROM crops WHERE source = 'import') AS imported"
    ).fetchone()
    crops = crop_counts(conn)
    return {
        **dict(row),
        "crops": {**crops, "labelled": crops["total"] - crops["unlabelled"]},
    }
