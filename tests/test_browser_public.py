"""The selfie page in a real browser: choose a photo, see the percentage and the face."""

from __future__ import annotations

import io
import threading

import pytest
from werkzeug.serving import make_server

from tests.test_browser_labelling import CHROMIUM, page  # noqa: F401 - the page fixture
from tests.test_public import app_on, jpeg, two_faces_rgb
from webapp import PROJECT_ROOT

SCREENSHOT = PROJECT_ROOT / "docs" / "result.png"


@pytest.fixture
def server(tmp_path, trained_instance):
    """The real app (CSRF on) on a free local port, with a trained model."""
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)


def test_choose_a_photo_and_see_the_percentage_and_the_faces(server, page, astronaut_rgb):  # noqa: F811
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

    page.set_viewport_size({"width": 412, "height": 915})  # a phone
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
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
