"""Retrain in a real browser: headless Debian chromium driven by Playwright.

Logs in, presses Retrain on the dashboard, and waits on the job's page, without
reloading it, for the report to appear, then checks the mean face and the eigenfaces
have loaded. Saves docs/training.png on the way (generated faces only: scikit-image's
astronaut and its lfw_subset).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import create_admin
from tests.learn_data import fill_store
from webapp import PROJECT_ROOT, create_app
from webapp.store import models as model_store
from webapp.store.flask_store import get_db
from webapp.store.settings import set_target_name

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
SCREENSHOT = PROJECT_ROOT / "docs" / "training.png"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (./test.sh installs it)"
)


@pytest.fixture
def server(tmp_path):
    """The real app (CSRF on) with generated labelled crops, on a free local port."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE": str(tmp_path / "instance"),
            "MODELS_DIR": str(tmp_path / "models"),
            "FACE_SIZE": 48,
        }
    )
    create_admin(app, "alice", PASSWORD)
    with app.app_context():
        fill_store(get_db(), app.config["CROPS_DIR"], 16, 48, n_not_face=4, size=48)
        set_target_name(get_db(), "Eileen Collins")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


@pytest.mark.timeout(180)
def test_retrain_shows_progress_then_the_report_with_eigenfaces(server, page):
    app, base = server
    page.goto(f"{base}/admin/dashboard")
    assert "/admin/login" in page.url
    page.fill("#name", "alice")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{base}/admin/dashboard")
    assert page.inner_text("#count-target") == "16"
    assert "No model yet" in page.inner_text("#active-model")

    page.select_option("#preset", "seed")
    page.click("#retrain-button")
    page.wait_for_url(f"{base}/admin/jobs/*")
    # Anything the page holds survives only if the page is never reloaded.
    page.evaluate("window.notReloaded = true")
    page.wait_for_selector("#report img.eigenface", timeout=120_000)
    assert page.evaluate("window.notReloaded === true")
    assert page.inner_text(".job .job-status") == "done"
    page.wait_for_function(
        "[...document.querySelectorAll('#report img.eigenface, #report img.mean-face')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    eigenfaces = page.locator("#report img.eigenface")
    assert eigenfaces.count() == 8
    page.wait_for_function(
        "[...document.querySelectorAll('#report img')].every((img) => img.complete)"
    )

    with app.app_context():
        active = model_store.get_active_model_version(get_db())
    assert active is not None and active["preset"] == "seed"
    assert page.get_attribute("#report", "data-version-id") == str(active["id"])
    assert page.inner_text("#report-accuracy") == f"{100 * active['metrics']['accuracy']:.1f}%"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.goto(f"{base}/admin/models/")
    assert page.locator("#versions tbody tr").count() == 1
    assert "active" in page.inner_text(f"#version-{active['id']}")
