"""Retrain in a real browser: headless Debian chromium driven by Playwright.

Logs in, presses Retrain on the dashboard, and waits on the job's page, without
reloading it, for the report to appear, then checks the mean face and the eigenfaces
have loaded. Takes the README's screenshot docs/training.png on the way (generated faces
only: scikit-image's astronaut and its lfw_subset).
"""

from __future__ import annotations

import pytest

from tests.browser import (
    live_server,
    log_in_through_the_page,
    needs_chromium,
    save_screenshot,
    wait_until,
)
from tests.conftest import create_admin
from tests.learn_data import fill_store
from webapp.context import get_db
from webapp.store import models as model_store
from webapp.store.settings import set_target_name

PASSWORD = "correct horse battery staple"

pytestmark = needs_chromium


@pytest.fixture
def server(make_app):
    """The real app (CSRF on) with generated labelled crops, on a free local port."""
    app = make_app(FACE_SIZE=48)
    create_admin(app, "alice", PASSWORD)
    with app.app_context():
        fill_store(get_db(), app.config["CROPS_DIR"], 16, 48, n_not_face=4, size=48)
        set_target_name(get_db(), "Eileen Collins")
    with live_server(app) as base:
        yield app, base


@pytest.mark.timeout(180)
def test_retrain_shows_progress_then_the_report_with_eigenfaces(server, page, tmp_path):
    app, base = server
    log_in_through_the_page(page, base, "/admin/dashboard", "alice", PASSWORD)
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
    wait_until(
        page,
        "[...document.querySelectorAll('#report img.eigenface, #report img.mean-face')]"
        ".every((img) => img.complete && img.naturalWidth > 0)",
    )
    eigenfaces = page.locator("#report img.eigenface")
    assert eigenfaces.count() == 8
    wait_until(page, "[...document.querySelectorAll('#report img')].every((img) => img.complete)")

    with app.app_context():
        active = model_store.get_active_model_version(get_db())
    assert active is not None and active["preset"] == "seed"
    assert page.get_attribute("#report", "data-version-id") == str(active["id"])
    assert page.inner_text("#report-accuracy") == f"{100 * active['metrics']['accuracy']:.1f}%"
    save_screenshot(page, "training.png", tmp_path)

    page.goto(f"{base}/admin/models/")
    assert page.locator("#versions tbody tr").count() == 1
    assert "active" in page.inner_text(f"#version-{active['id']}")
