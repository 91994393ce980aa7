"""Small settings an admin can change from the app (the target's name...)."""

from __future__ import annotations

from webapp.store.db import Connection, now, transaction

TARGET_NAME = "target_name"


def get_setting(conn: Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else default


def set_setting(conn: Connection, key: str, value: str) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, now()),
        )


def get_target_name(conn: Connection, default: str) -> str:
    """The target's name as an admin set it, else ``default`` (the app's TARGET_NAME)."""
    return get_setting(conn, TARGET_NAME) or default


def set_target_name(conn: Connection, name: str) -> None:
    set_setting(conn, TARGET_NAME, name)
