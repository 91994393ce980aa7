"""Security headers on every response: pages, the API, static files and error pages.

The pages run no inline script and no inline style (their scripts are files in
``static/``), so the Content-Security-Policy allows only this site's own files; a
selfie's result pictures are ``data:`` URLs. Only the public page may use the camera
(its file input offers to take the photo).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
CAMERA_PAGES = {"public.home", "public.score_page"}
HSTS = "max-age=31536000"  # a year, as browsers' preload rules expect


def add_security_headers(response: Response) -> Response:
    """Set each header unless the view chose its own."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # for browsers without frame-ancestors
    headers.setdefault("Referrer-Policy", "same-origin")
    camera = "(self)" if request.endpoint in CAMERA_PAGES else "()"
    headers.setdefault("Permissions-Policy", f"camera={camera}, microphone=(), geolocation=()")
    # Behind a proxy that terminates HTTPS the request itself may be plain HTTP: a secure
    # session cookie says the site is served over HTTPS all the same.
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
