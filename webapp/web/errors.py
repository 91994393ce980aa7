"""Every error page and template filter of the app, registered in one place."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from webapp.context import get_db, get_settings
from webapp.web.helpers import home_page


def http_error(error: HTTPException):
    """Errors as JSON under /api/, as a page elsewhere; never a stack trace."""
    if request.path.startswith("/api/"):
        return {"error": error.description}, error.code
    return render_template("error.html", error=error), error.code


def too_large(error: RequestEntityTooLarge):
    """The request body is over MAX_CONTENT_LENGTH: say the photo limit, in words."""
    limit_mb = get_settings().max_photo_bytes / 1e6
    message = f"The photo is too large: the limit is {limit_mb:.0f} MB."
    if request.path.startswith("/api/"):
        return {"error": message}, 413
    if request.endpoint == "public.score_page":
        return home_page(get_db(), message, 413)
    return render_template("error.html", error=error), 413


def percent_filter(value: float | None, digits: int = 1) -> str:
    """A 0..1 score as a percentage for a page ("n/a" when there is none)."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def score_filter(value: float | None) -> str:
    """A 0..1 score with three decimals ("n/a" when there is none)."""
    return "n/a" if value is None else f"{value:.3f}"


def init_app(app: Flask) -> None:
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(HTTPException, http_error)
    app.add_template_filter(percent_filter, "percent")
    app.add_template_filter(score_filter, "score")
