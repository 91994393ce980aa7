"""The pages under the Content-Security-Policy the app is to send: scripts only from
static/, styles only from style.css, pictures only from the app or data: URLs, no
framing. Whatever a visitor or an admin does here, the browser reports no violation: no
inline script, no style attribute, no blob: picture."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, live_server, needs_chromium
from tests.conftest import app_on
from tests.test_browser_public import phone_photo
from tests.test_public import jpeg, two_faces_rgb

pytestmark = needs_chromium

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'"
)
# Recorded from the first moment of every page (an init script comes through the
# DevTools protocol, which the policy does not restrict).
WATCH = (
    "window.cspViolations = [];"
    " document.addEventListener('securitypolicyviolation', (e) =>"
    " window.cspViolations.push("
    " `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"
)


@pytest.fixture
def server(tmp_path, trained_instance):
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)

    @app.after_request
    def policy(response):
        response.headers["Content-Security-Policy"] = POLICY
        return response

    with live_server(app) as base:
        yield base


def violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def test_no_page_breaks_the_policy(server, astronaut_rgb):
    base = server
    with browser_page(412, 915, phone=True, permissions=["clipboard-write"]) as page:
        page.add_init_script(WATCH)
        page.goto(base + "/")
        assert page.evaluate(
            "document.getElementById('selfie-form').classList.contains('enhanced')"
        )
        with page.expect_navigation():
            page.set_input_files(
                "#take-selfie",
                files=[{"name": "IMG.jpg", "mimeType": "image/jpeg",
                        "buffer": phone_photo(astronaut_rgb, sideways=True)}],
            )  # fmt: skip
        page.wait_for_selector("#look-alike-percent")
        assert violations(page) == []
        page.goto(base + "/")
        with page.expect_navigation():
            page.set_input_files(
                "#choose-photo",
                files=[{"name": "two.jpg", "mimeType": "image/jpeg",
                        "buffer": jpeg(two_faces_rgb(astronaut_rgb))}],
            )  # fmt: skip
        page.wait_for_selector(".boxed-photo")  # data: pictures of the faces
        assert page.is_visible("#share-button")
        assert violations(page) == []
        page.goto(page.get_attribute("#share-link", "href"))
        assert violations(page) == []

    with browser_page(1280, 800) as page:
        page.add_init_script(WATCH)
        page.goto(base + "/admin/login?next=/admin/label")
        page.fill("#name", "alice")
        page.fill("#password", "correct horse battery")
        page.click("#submit")
        page.wait_for_url(base + "/admin/label")
        for key in ("1", "f", "f", "0", "Backspace"):
            page.keyboard.press(key)
        page.wait_for_load_state("networkidle")
        assert violations(page) == []
        for path in ("/admin/dashboard", "/admin/grid", "/admin/models/", "/admin/extract"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert violations(page) == [], path
