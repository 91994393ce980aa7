"""Every error page and template filter of the app, registered in one place."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable

from webapp.context import get_db, get_settings
from webapp.store.db import DatabaseError
from webapp.web.helpers import home_page

log = logging.getLogger(__name__)


def http_error(error: HTTPException):
    """Errors as JSON under /api/, as a page elsewhere; never a stack trace."""
    if request.path.startswith("/api/"):
        return {"error": error.description}, error.code
    return render_template("error.html", error=error), error.code


def too_large(error: RequestEntityTooLarge):
    """The request body is over MAX_CONTENT_LENGTH: say the photo limit, in words."""
    from webapp.vision.images import limit_in_words  # loads OpenCV: only on this error

    body, most = request.content_length, current_app.config["MAX_CONTENT_LENGTH"]
    if body is not None and most is not None and body <= most:  # many parts, not many bytes
        message = "The form has too many fields or parts: send the photo alone."
    else:
        limit = limit_in_words(get_settings().max_photo_bytes)
        message = f"The photo is too large: the limit is {limit}."
    if request.path.startswith("/api/"):
        return {"error": message}, 413
    if request.endpoint == "public.score_page":
        return home_page(get_db(), message, 413)
    return render_template("error.html", error=error), 413


def store_unavailable(error: DatabaseError):
    """The store cannot be read or written (a full disk, a missing or locked file): a
    clear 503, never a stack trace; the details go to the log."""
    log.error("the store failed on %s %s: %s", request.method, request.path, error)
    message = "The service cannot reach its data right now. Please try again in a while."
    if request.path.startswith("/api/"):
        return {"error": message}, 503
    return render_template("error.html", error=ServiceUnavailable(message)), 503


def percent_filter(value: float | None, digits: int = 1) -> str:
    """A 0..1 score as a percentage for a page ("n/a" when there is none)."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def score_filter(value: float | None) -> str:
    """A 0..1 score with three decimals ("n/a" when there is none)."""
    return "n/a" if value is None else f"{value:.3f}"


def init_app(app: Flask) -> None:
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DatabaseError, store_unavailable)
    app.add_template_filter(percent_filter, "percent")
    app.add_template_filter(score_filter, "score")
