"""Admin accounts: names, password hashes (never passwords), session generations."""

from __future__ import annotations

from webapp.store.db import Connection, IntegrityError, Row, now, transaction


class UserExists(Exception):
    """An admin with this name is already in the store."""


def create_user(conn: Connection, name: str, password_hash: str) -> int:
    """Add an admin; return its id.

    :raise UserExists: the name is taken.
    """
    try:
        with transaction(conn):
            user_id = conn.execute(
                "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
                (name, password_hash, now()),
            ).fetchone()[0]
    except IntegrityError:
        raise UserExists(name) from None
    return user_id


def set_password_hash(conn: Connection, name: str, password_hash: str) -> bool:
    """Replace an admin's password hash and end every session of theirs (whoever knew
    the old password may hold one); False if there is no such admin."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE users SET password_hash = ?, session_generation = session_generation + 1"
            " WHERE name = ?",
            (password_hash, name),
        )
    return cursor.rowcount == 1


def end_sessions(conn: Connection, user_id: int) -> None:
    """End every session of this admin: the ones opened so far no longer match."""
    with transaction(conn):
        conn.execute(
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?",
            (user_id,),
        )


def get_user(conn: Connection, user_id: int) -> Row | None:
    return conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def find_user(conn: Connection, name: str) -> Row | None:
    return conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()


def count_users(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def record_login(conn: Connection, user_id: int) -> None:
    """A successful login: note the time."""
    with transaction(conn):
        conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (now(), user_id))
