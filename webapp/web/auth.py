"""Admin sessions: the logged-in admin on ``g``, the guards of the admin pages, CSRF.

Checking a password is :mod:`webapp.operations.admins`' job. CSRF protection covers every
POST of the app (forms carry ``csrf_token``, ``fetch`` calls send the ``X-CSRFToken``
header).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from webapp.context import get_db
from webapp.operations.admins import Admin
from webapp.store import users

csrf = CSRFProtect()


def log_in(admin: Admin) -> None:
    """Start a fresh session for the admin (a new session, so none can be planted)."""
    session.clear()
    session["user_id"] = admin.id
    session["generation"] = admin.session_generation


def log_out() -> None:
    """End the session, and every other of this admin: the cookie is only signed, so a
    copy of it would otherwise stay valid; the store's generation makes it stale."""
    admin = current_admin()
    if admin is not None:
        users.end_sessions(get_db(), admin.id)
    session.clear()


def current_admin() -> Admin | None:
    return g.get("admin")


def _load_admin() -> None:
    g.admin = None
    if request.endpoint == "static":
        return  # no store connection just to serve a stylesheet
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return
    user = users.get_user(get_db(), user_id)
    if user is None or session.get("generation") != user["session_generation"]:
        session.clear()  # logged out elsewhere, password reset, or admin removed
        return
    g.admin = Admin(user["id"], user["name"], user["session_generation"])


def _refusal() -> Any:
    """What a visitor who is not logged in gets: 401 JSON from the API, else the login page."""
    if request.path.startswith("/api/"):
        return {"error": "log in as an admin first"}, 401
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


def require_login(bp: Blueprint, *, except_endpoints: tuple[str, ...] = ()) -> None:
    """Guard every view of a blueprint, so a new admin page cannot be left open by mistake."""

    @bp.before_request
    def guard() -> Any:
        if request.endpoint in except_endpoints:
            return None
        if current_admin() is None:
            return _refusal()
        return None


# What browsers drop from a URL before parsing it (WHATWG URL standard): C0 controls and
# spaces at either end, tabs and newlines anywhere. "/\t/evil.example" is "//evil.example"
# to a browser, so a target is judged the way the browser will read it.
_URL_EDGES = "".join(map(chr, range(0x21)))
_URL_DROPPED = {ord("\t"): None, ord("\n"): None, ord("\r"): None}
# Characters a path and query keep as they are; anything else is percent-encoded, so the
# Location header never carries a control character or a raw non-ASCII one.
_URL_SAFE = "/?&=%#;:@+,$!~*'()[]-._"


def safe_next(target: str | None) -> str | None:
    """A redirect target from the query string or a form, only if it is a path on this
    site (``/...``, never ``//host`` or ``/\\host``); None otherwise. Never raises."""
    if not isinstance(target, str):
        return None
    path = target.strip(_URL_EDGES).translate(_URL_DROPPED)
    if not path.startswith("/") or path[1:2] == "/" or "\\" in path:
        return None
    try:
        parts = urlsplit(path)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return quote(path, safe=_URL_SAFE, errors="replace")


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.before_request(_load_admin)
