"""Admin accounts: password rules and hashing, and checking a login against the store.

Passwords are hashed with werkzeug's default (scrypt) and never stored, logged or echoed.
Failed logins are throttled twice, in the store so every web worker sees the same counts:
a name tried from one client address is locked after ``max_failures`` wrong passwords (so
someone guessing from elsewhere cannot lock the admin out), and an address is refused
after ``address_limit`` failed logins of any names (so a spray of names gets nowhere).
Known and unknown names get the same answers, locks included: a login never tells which
names exist. No Flask here: the login page and ``create-admin`` share it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash

from webapp.settings import Settings
from webapp.store import login_throttle, users
from webapp.store.db import Connection

MIN_PASSWORD_LENGTH = 8


@lru_cache(maxsize=1)
def _nobody_hash() -> str:
    """Checked against when the name is unknown, so that takes as long as a wrong
    password. Made on first use, not at import: hashing is slow on purpose."""
    return generate_password_hash("not a password of anyone")


class LoginRefused(Exception):
    """Wrong name or password, or a locked name or address; the message is for the user."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True)
class Admin:
    id: int
    name: str
    # The admin's sessions are valid while they carry this number (users.end_sessions).
    session_generation: int = 0


def hash_password(password: str) -> str:
    """The password's salted hash, as stored."""
    return generate_password_hash(password)


def check_new_password(password: str) -> None:
    """:raise ValueError: the password is too weak to set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int  # wrong passwords for one name from one address...
    lock_seconds: int  # ...then that pair is locked this long
    address_limit: int  # failed logins from one address, any names (0: no limit)...
    address_window: int  # ...per this many seconds, then the address waits that long

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_max_failures,
            settings.login_lock_seconds,
            settings.login_address_limit,
            settings.login_address_window,
        )


def _digest(secret: str, kind: str, value: str) -> str:
    """A keyed hash: the throttle's keys say nothing about the names or addresses."""
    message = f"{kind}\0{value}".encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _name_prefix(secret: str, name: str) -> str:
    return f"name:{_digest(secret, 'name', name)}:"


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _name_locked(seconds: int) -> LoginRefused:
    return LoginRefused(
        f"Too many failed logins for this name: it is locked for about {_minutes(seconds)}."
        " Try again later.",
        locked=True,
    )


def _address_locked(seconds: int) -> LoginRefused:
    return LoginRefused(
        f"Too many failed logins from your address: wait about {_minutes(seconds)}."
        " Try again later.",
        locked=True,
    )


def authenticate(
    conn: Connection,
    name: str,
    password: str,
    *,
    address: str,
    secret: str,
    limits: LoginLimits,
) -> Admin:
    """The admin with this name and password, tried from the client ``address``.

    ``secret`` keys the hashes the throttle stores instead of names and addresses.

    :raise LoginRefused: wrong name or password (the same message for both), or the
        name is locked for this address, or the address has failed too often. While
        locked, not even the right password is checked.
    """
    address_key = f"address:{_digest(secret, 'address', address)}"
    pair_key = _name_prefix(secret, name) + _digest(secret, "address", address)
    if seconds := login_throttle.locked_for(conn, address_key):
        raise _address_locked(seconds)
    if seconds := login_throttle.locked_for(conn, pair_key):
        raise _name_locked(seconds)
    user = users.find_user(conn, name)
    if not check_password_hash(user["password_hash"] if user else _nobody_hash(), password):
        name_lock = login_throttle.record_failure(
            conn, pair_key, limit=limits.max_failures, seconds=limits.lock_seconds
        )
        address_lock = limits.address_limit and login_throttle.record_failure(
            conn, address_key, limit=limits.address_limit, seconds=limits.address_window
        )
        if name_lock:
            raise _name_locked(name_lock)
        if address_lock:
            raise _address_locked(address_lock)
        raise LoginRefused("Wrong name or password.")
    login_throttle.forget(conn, pair_key)
    users.record_login(conn, user["id"])
    return Admin(user["id"], user["name"], user["session_generation"])


def unlock(conn: Connection, name: str, *, secret: str) -> None:
    """Lift the locks of this name, from every address (a new password was just set)."""
    login_throttle.forget(conn, _name_prefix(secret, name))
