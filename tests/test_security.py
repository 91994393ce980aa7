"""Hardening the app as a whole: numbers too large for the store, security headers, no
inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HUGE = "9" * 20  # past SQLite's 64-bit integers
BIGGEST = str(2**63 - 1)  # the largest the store holds: a number like any other


def int_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route with an ``<int:...>`` part."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if "<int:" in rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def filled(rule: str, number: str) -> str:
    return re.sub(r"<int:\w+>", number, rule)


def test_every_route_with_a_number_is_probed(labelling_app):
    rules = {rule for _, rule in int_routes(labelling_app)}
    assert "/admin/crops/<int:crop_id>/image.png" in rules
    assert "/admin/models/<int:version_id>/eigenfaces/<int:number>.png" in rules
    assert len(rules) >= 13


@pytest.mark.parametrize("number", [HUGE, BIGGEST, "1" + "0" * 400])
def test_numbers_too_large_for_the_store_are_404_in_every_route(
    labelling_app, admin_client, number
):
    for method, rule in int_routes(labelling_app):
        url = filled(rule, number)
        response = admin_client.open(url, method=method, json={"label": "target"})
        assert response.status_code == 404, (method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.get_json()["error"]
        else:
            assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    ("method", "url", "form", "status"),
    [
        ("get", f"/admin/browse?page={HUGE}", None, 400),
        ("get", f"/admin/browse?page={BIGGEST}", None, 400),
        ("get", f"/admin/browse?video={HUGE}", None, 400),
        ("get", f"/admin/browse?video={BIGGEST}", None, 200),
        ("get", f"/admin/label?crop={HUGE}", None, 404),
        ("get", f"/admin/label?crop={BIGGEST}", None, 404),
        ("get", f"/admin/grid?size={HUGE}", None, 400),
        ("get", f"/api/admin/crops/next?exclude=1,{HUGE}", None, 200),
        ("post", "/admin/label", {"decision": "target", "crop_id": HUGE}, 400),
        ("post", "/admin/label", {"decision": "skip", "crop_id": BIGGEST}, 404),
        ("post", "/admin/grid", {f"label-{HUGE}": "target"}, 400),
        ("post", "/admin/grid", {"label-\u00b2": "target"}, 400),
        ("post", "/admin/grid", {f"label-{BIGGEST}": "target"}, 404),
        ("post", "/admin/grid", {"label-1": "target", "size": HUGE}, 302),
    ],
)
def test_numbers_too_large_for_the_store_in_queries_and_forms(
    admin_client, method, url, form, status
):
    response = getattr(admin_client, method)(url, data=form)
    assert response.status_code == status
    if url.startswith("/api/"):
        assert response.is_json
    assert b"Traceback" not in response.data


# --- Security headers ---


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    parts = [part.strip().split(None, 1) for part in policy.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_security_headers(response, camera: str = "()") -> None:
    csp = directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["img-src"] == "'self' data:"
    assert csp["default-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert f"camera={camera}" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP, cookie not secure


def test_security_headers_on_every_kind_of_response(labelling_app, admin_client):
    visitor = labelling_app.test_client()
    public = visitor.get("/")
    assert public.status_code == 200
    assert_security_headers(public, camera="(self)")
    admin_page = admin_client.get("/admin/")
    assert admin_page.status_code == 200
    assert_security_headers(admin_page)
    api_error = visitor.get("/api/admin/progress")
    assert api_error.status_code == 401 and api_error.is_json
    assert_security_headers(api_error)
    missing = visitor.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.is_json
    assert_security_headers(missing)
    static = visitor.get("/static/style.css")
    assert static.status_code == 200
    assert_security_headers(static)
    login = visitor.get("/admin/login")
    assert_security_headers(login)


def test_the_camera_is_allowed_on_the_public_page_only(labelling_app, admin_client):
    visitor = labelling_app.test_client()
    assert "camera=(self)" in visitor.get("/").headers["Permissions-Policy"]
    posted = visitor.post("/", data={})  # the selfie form's answer page (an error here)
    assert "camera=(self)" in posted.headers["Permissions-Policy"]
    for url in ("/admin/login", "/healthz", "/static/label.js", "/no-such-page"):
        assert "camera=()" in visitor.get(url).headers["Permissions-Policy"], url
    assert "camera=()" in admin_client.get("/admin/label").headers["Permissions-Policy"]


def test_hsts_over_https_or_with_a_secure_cookie(make_app, tmp_path):
    app = make_app(root=tmp_path / "plain")
    plain = app.test_client().get("/")
    assert "Strict-Transport-Security" not in plain.headers
    https = app.test_client().get("/", base_url="https://lookalike.example")
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")
    # Behind a proxy that terminates HTTPS, the request the app sees may be plain HTTP.
    secure_app = make_app(root=tmp_path / "secure", SESSION_COOKIE_SECURE=True)
    behind_proxy = secure_app.test_client().get("/static/style.css")
    assert int(behind_proxy.headers["Strict-Transport-Security"].split("=")[1]) >= 31536000


TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE_CODE = [
    # A <script> without src, unless it only holds data (type="application/json").
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # event handler attributes
    re.compile(r"\sstyle\s*=", re.I),  # style attributes
    re.compile(r"<style", re.I),
    re.compile(r"javascript:", re.I),
]


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_has_inline_script_or_style(template):
    source = template.read_text()
    for pattern in INLINE_CODE:
        assert not pattern.search(source), f"{pattern.pattern} in {template.name}"


def test_rendered_pages_have_no_inline_script(labelling_app, admin_client):
    pages = [labelling_app.test_client().get("/admin/login")]
    pages += [admin_client.get(url) for url in ("/admin/", "/admin/label", "/admin/grid")]
    pages += [admin_client.get(url) for url in ("/admin/browse", "/admin/crops/1")]
    pages += [admin_client.get("/admin/dashboard"), admin_client.get("/admin/extract")]
    for page in pages:
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for pattern in INLINE_CODE:
            assert not pattern.search(html), (page.request.path, pattern.pattern)
