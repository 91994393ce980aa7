"""axe-core in a real browser on every page: no serious or critical accessibility
violation on the public pages (home, coming soon, result, shared result, errors) nor on
any admin page (login, admin home, dashboard, label, grid, browse, crop, models, a
model's report, extract, a job). And the models page's Activate button is in view on a
1280 px screen, without scrolling sideways."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser import (
    axe_problems,
    browser_page,
    live_server,
    needs_axe,
    needs_chromium,
    sideways_scroll,
)
from tests.conftest import app_on
from tests.test_public import jpeg, two_faces_rgb
from webapp.context import get_db
from webapp.store import jobs as job_store
from webapp.store import models as model_store
from webapp.store.settings import set_target_name

pytestmark = [needs_chromium, needs_axe]

PASSWORD = "correct horse battery"  # alice's, in the trained instance


@pytest.fixture
def server(tmp_path, trained_instance):
    """A trained instance (CSRF on) with a finished training job, on a free local port."""
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db = get_db()
        set_target_name(db, "Eileen Collins")
        active = model_store.get_active_model_version(db)
        job_id = job_store.create_job(db, "train", {"preset": "seed", "extractor": "eigenfaces"})
        job_store.claim_job(db, job_id, 1)
        job_store.finish_job(
            db,
            job_id,
            {"version_id": active["id"], "activated": True, **active["metrics"]},
            "done",
        )
        crop_id = db.execute("SELECT MIN(id) FROM crops").fetchone()[0]
        versions = {v["is_active"]: v["id"] for v in model_store.list_model_versions(db)}
    with live_server(app) as base:
        yield {
            "base": base,
            "job": job_id,
            "crop": crop_id,
            "active": versions[1],
            "inactive": versions[0],
        }


def assert_accessible(page, name: str) -> None:
    problems = axe_problems(page)
    assert problems == [], f"{name}:\n" + "\n".join(problems)


def test_public_pages_have_no_serious_accessibility_problem(server, tmp_path, astronaut_rgb):
    base = server["base"]
    wall = jpeg(np.full((480, 640, 3), 128, np.uint8))  # no face in it
    for width, height, phone in ((1280, 900, False), (390, 844, True)):
        with browser_page(width, height, phone=phone) as page:
            page.goto(base + "/")
            assert_accessible(page, f"home at {width}")
            with page.expect_navigation():
                page.set_input_files(
                    "#choose-photo",
                    files=[{"name": "me.jpg", "mimeType": "image/jpeg",
                            "buffer": jpeg(two_faces_rgb(astronaut_rgb))}],
                )  # fmt: skip
            page.wait_for_selector("#look-alike-percent")
            assert_accessible(page, f"result at {width}")
            page.goto(page.get_attribute("#share-link", "href"))
            assert_accessible(page, f"shared result at {width}")
            page.goto(base + "/r/forged.link")
            assert_accessible(page, f"a refused share link (404) at {width}")
            page.goto(base + "/no-such-page")
            assert_accessible(page, f"404 at {width}")
            page.goto(base + "/")
            with page.expect_navigation():
                page.set_input_files(
                    "#choose-photo",
                    files=[{"name": "wall.jpg", "mimeType": "image/jpeg", "buffer": wall}],
                )
            assert page.is_visible("#error")  # no face: the home page with the message
            assert_accessible(page, f"home with an error at {width}")

    empty = app_on(tmp_path / "empty", None)
    with live_server(empty) as coming_soon, browser_page(390, 844, phone=True) as page:
        page.goto(coming_soon + "/")
        assert "Coming soon." in page.inner_text("main")
        assert_accessible(page, "coming soon")


def test_admin_pages_have_no_serious_accessibility_problem(server):
    base = server["base"]
    with browser_page(1280, 900) as page:
        page.goto(base + "/admin/login")
        assert_accessible(page, "login")
        page.fill("#name", "alice")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(base + "/admin/")
        pages = {
            "admin home": "/admin/",
            "dashboard": "/admin/dashboard",
            "label": "/admin/label",
            "grid": "/admin/grid",
            "browse": "/admin/browse",
            "crop": f"/admin/crops/{server['crop']}",
            "models": "/admin/models/",
            "a model's report": f"/admin/models/{server['active']}",
            "an inactive model's report": f"/admin/models/{server['inactive']}",
            "extract": "/admin/extract",
            "a job": f"/admin/jobs/{server['job']}",
        }
        for name, path in pages.items():
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert_accessible(page, name)


def test_the_activate_button_is_in_view_on_a_1280_px_screen(server):
    base = server["base"]
    with browser_page(1280, 800) as page:
        page.goto(base + "/admin/login?next=/admin/models/")
        page.fill("#name", "alice")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(base + "/admin/models/")
        button = page.locator(f"#activate-{server['inactive']}")
        box = button.bounding_box()
        scroller = page.locator(".table-scroll").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= scroller["x"] + scroller["width"]
        assert box["x"] + box["width"] <= 1280 and sideways_scroll(page) <= 0
        assert page.evaluate(
            "(() => { const s = document.querySelector('.table-scroll');"
            " return s.scrollWidth <= s.clientWidth; })()"
        ), "the versions table scrolls sideways"
        with page.expect_navigation():
            button.click()
        assert "is now active" in page.inner_text(".flash")
