"""Failed admin logins counted per key, across every web worker; too many lock the key.

A key stands for a client address or a name tried from an address; the caller makes it
(a keyed hash, so nothing here says who tried what). A count starts at a key's first
failure and is forgotten ``seconds`` later; the failure that reaches the limit locks the
key for ``seconds`` from then, and the count starts afresh once the lock is over.
"""

from __future__ import annotations

import math
import time

from webapp.store.db import Connection, transaction


def locked_for(conn: Connection, key: str, *, at: float | None = None) -> int:
    """Seconds until the key's lock ends (at least 1); 0 when it is not locked."""
    at = time.time() if at is None else at
    row = conn.execute(
        "SELECT expires_at FROM login_throttle WHERE key = ? AND locked = 1 AND expires_at > ?",
        (key, at),
    ).fetchone()
    return max(1, math.ceil(row[0] - at)) if row else 0


def record_failure(
    conn: Connection, key: str, *, limit: int, seconds: int, at: float | None = None
) -> int:
    """Count one failed login for the key; return how long it is now locked (0: not).

    Ended counts and locks, of every key, are deleted on the way, so the table stays small.
    """
    at = time.time() if at is None else at
    with transaction(conn):
        conn.execute("DELETE FROM login_throttle WHERE expires_at <= ?", (at,))
        failures = conn.execute(
            "INSERT INTO login_throttle (key, failures, expires_at) VALUES (?, 1, ?)"
            " ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1"
            " RETURNING failures",
            (key, math.ceil(at + seconds)),
        ).fetchone()[0]
        if failures < limit:
            return 0
        conn.execute(
            "UPDATE login_throttle SET failures = 0, locked = 1, expires_at = ? WHERE key = ?",
            (math.ceil(at + seconds), key),
        )
    return seconds


def forget(conn: Connection, prefix: str) -> None:
    """Drop the counts and locks of every key that starts with ``prefix``."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM login_throttle WHERE substr(key, 1, length(?)) = ?", (prefix, prefix)
        )
