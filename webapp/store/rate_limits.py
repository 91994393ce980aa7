"""Counting requests per client in fixed time windows, across every web worker."""

from __future__ import annotations

import time
from dataclasses import dataclass

from webapp.store.db import Connection, transaction


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    hits: int  # in the current window, this request included
    retry_after: int  # seconds until the window ends


def hit(
    conn: Connection, client: str, *, limit: int, window: int, at: float | None = None
) -> RateDecision:
    """Count one request of ``client``; allowed while the window holds at most ``limit``.

    Windows that have ended are deleted on the way, so the table stays small.
    """
    at = time.time() if at is None else at
    start = int(at // window * window)
    with transaction(conn):
        conn.execute("DELETE FROM rate_limits WHERE window_start < ?", (start - window,))
        hits = conn.execute(
            "INSERT INTO rate_limits (client, window_start, hits) VALUES (?, ?, 1)"
            " ON CONFLICT (client, window_start) DO UPDATE SET hits = rate_limits.hits + 1"
            " RETURNING hits",
            (client, start),
        ).fetchone()[0]
    return RateDecision(hits <= limit, hits, max(1, start + window - int(at)))
