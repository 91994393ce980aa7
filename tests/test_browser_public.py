"""The selfie page in a real browser: choose a photo, see the percentage and the face."""

from __future__ import annotations

import io

import pytest

from tests.browser import browser_page, live_server, needs_chromium, save_screenshot
from tests.test_public import app_on, jpeg, two_faces_rgb

pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path, trained_instance):
    """The real app (CSRF on) on a free local port, with a trained model."""
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)
    with live_server(app) as base:
        yield app, base


@pytest.fixture
def page():
    with browser_page(412, 915) as page:  # a phone
        yield page


def test_choose_a_photo_and_see_the_percentage_and_the_faces(server, page, astronaut_rgb, tmp_path):
    app, base = server
    photo = jpeg(two_faces_rgb(astronaut_rgb))
    expected = (
        app.test_client()
        .post(
            "/api/score",
            data={"photo": (io.BytesIO(photo), "me.jpg")},
            content_type="multipart/form-data",
        )
        .get_json()
    )

    page.goto(base + "/")
    assert page.get_attribute("input[name=photo]", "accept").startswith("image/jpeg")
    page.set_input_files(
        "input[name=photo]", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    page.click("button[type=submit]")
    page.wait_for_selector("#look-alike-percent")

    shown = page.inner_text("#look-alike-percent")
    assert shown == f"{expected['look_alike_percent']:.0f}%"
    for selector in (".scored-face", ".target-face", ".boxed-photo"):
        loaded = page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")
        assert loaded, f"{selector} did not load"
    assert page.locator(".face-list li").count() == 2
    assert "does not verify" in page.inner_text(".honest")
    save_screenshot(page, "result.png", tmp_path)
