"""Admin accounts: password rules and hashing, and checking a login against the store.

Passwords are hashed with werkzeug's default (scrypt) and never stored, logged or echoed.
After ``max_failures`` wrong passwords in a row a name is refused for ``lock_seconds``,
even with the right password. No Flask here: the login page and ``create-admin`` share it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash

from webapp.store import users
from webapp.store.db import now

MIN_PASSWORD_LENGTH = 8


@lru_cache(maxsize=1)
def _nobody_hash() -> str:
    """Checked against when the name is unknown, so that takes as long as a wrong
    password. Made on first use, not at import: hashing is slow on purpose."""
    return generate_password_hash("not a password of anyone")


class LoginRefused(Exception):
    """Wrong name or password, or a locked name; the message is meant for the user."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True)
class Admin:
    id: int
    name: str
    # The admin's sessions are valid while they carry this number (see end_sessions).
    session_generation: int = 0


def hash_password(password: str) -> str:
    """The password's salted hash, as stored."""
    return generate_password_hash(password)


def check_new_password(password: str) -> None:
    """:raise ValueError: the password is too weak to set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _lock_message(until: str) -> str:
    minutes = max(
        1, round((datetime.fromisoformat(until) - datetime.now(UTC)).total_seconds() / 60)
    )
    return (
        "Too many failed logins for this name: it is locked for about"
        f" {minutes} minute{'s' if minutes != 1 else ''}. Try again later."
    )


def authenticate(
    conn: sqlite3.Connection, name: str, password: str, *, max_failures: int, lock_seconds: int
) -> Admin:
    """The admin with this name and password.

    :raise LoginRefused: wrong name or password (the same message for both), or the name
        is locked after too many failures.
    """
    user = users.find_user(conn, name)
    if user is not None and user["locked_until"] and user["locked_until"] > now():
        raise LoginRefused(_lock_message(user["locked_until"]), locked=True)
    if not check_password_hash(user["password_hash"] if user else _nobody_hash(), password):
        if user is not None:
            until = users.record_failed_login(
                conn, user["id"], max_failures=max_failures, lock_seconds=lock_seconds
            )
            if until:
                raise LoginRefused(_lock_message(until), locked=True)
        raise LoginRefused("Wrong name or password.")
    users.record_login(conn, user["id"])
    return Admin(user["id"], user["name"], user["session_generation"])
