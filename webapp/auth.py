"""Admin login: password hashing, the logged-in admin on ``g``, guards and throttling.

Passwords are hashed with werkzeug's default (scrypt) and never stored, logged or echoed.
After ``LOGIN_MAX_FAILURES`` wrong passwords in a row a name is refused for
``LOGIN_LOCK_SECONDS``, even with the right password. CSRF protection covers every POST
of the app (forms carry ``csrf_token``, ``fetch`` calls send the ``X-CSRFToken`` header).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.store import users
from webapp.store.db import now
from webapp.store.flask_store import get_db

csrf = CSRFProtect()
MIN_PASSWORD_LENGTH = 8
# Checked against when the name is unknown, so that takes as long as a wrong password.
_NOBODY_HASH = generate_password_hash("not a password of anyone")


class LoginRefused(Exception):
    """Wrong name or password, or a locked name; the message is meant for the user."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True)
class Admin:
    id: int
    name: str


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
    if not check_password_hash(user["password_hash"] if user else _NOBODY_HASH, password):
        if user is not None:
            until = users.record_failed_login(
                conn, user["id"], max_failures=max_failures, lock_seconds=lock_seconds
            )
            if until:
                raise LoginRefused(_lock_message(until), locked=True)
        raise LoginRefused("Wrong name or password.")
    users.record_login(conn, user["id"])
    return Admin(user["id"], user["name"])


def log_in(admin: Admin) -> None:
    """Start a fresh session for the admin (a new session, so none can be planted)."""
    session.clear()
    session["user_id"] = admin.id


def log_out() -> None:
    session.clear()


def current_admin() -> Admin | None:
    return g.get("admin")


def _load_admin() -> None:
    g.admin = None
    if request.endpoint == "static":
        return  # no store connection just to serve a stylesheet
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        user = users.get_user(get_db(), user_id)
        if user is not None:
            g.admin = Admin(user["id"], user["name"])


def _refusal() -> Any:
    """What a visitor who is not logged in gets: 401 JSON from the API, else the login page."""
    if request.path.startswith("/api/"):
        return {"error": "log in as an admin first"}, 401
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


def login_required(view: Callable) -> Callable:
    """Only for a logged-in admin; others get the login page (or 401 JSON under /api/)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_admin() is None:
            return _refusal()
        return view(*args, **kwargs)

    wrapped.login_required = True
    return wrapped


def require_login(bp: Blueprint, *, except_endpoints: tuple[str, ...] = ()) -> None:
    """Guard every view of a blueprint, so a new admin page cannot be left open by mistake."""

    @bp.before_request
    def guard() -> Any:
        if request.endpoint in except_endpoints:
            return None
        if current_admin() is None:
            return _refusal()
        return None


def safe_next(target: str | None) -> str | None:
    """A redirect target from the query string, only if it stays on this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def init_app(app: Flask) -> None:
    app.config.setdefault("LOGIN_MAX_FAILURES", 5)
    app.config.setdefault("LOGIN_LOCK_SECONDS", 300)
    # A labelling page stays open for hours: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_load_admin)
