"""The labelling pages in a real browser: headless Debian chromium driven by Playwright.

Logs in, labels by mouse and by keyboard, undoes one, opens the frame, uses the grid,
then checks the store holds exactly those labels. Takes the README's screenshot
docs/labelling.png on the way (made from the astronaut test video only).
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
from webapp.context import get_db
from webapp.store.settings import set_target_name

PASSWORD = "correct horse battery staple"

pytestmark = needs_chromium


@pytest.fixture
def server(new_labelling_app):
    """The real app (CSRF on) served on a free local port."""
    app = new_labelling_app(WTF_CSRF_ENABLED=True)
    with live_server(app) as base:
        yield app, base


def shown_crop(page) -> int:
    return int(page.get_attribute("#labelling", "data-crop-id"))


def next_crop(page, before: int) -> int:
    """Wait until the page shows a crop other than ``before``; return its id."""
    wait_until(
        page,
        f"(() => {{ const id = document.querySelector('#labelling').dataset.cropId;"
        f" return id !== '' && id !== '{before}'; }})()",
    )
    return shown_crop(page)


def stored_labels(app) -> dict[int, str]:
    with app.app_context():
        rows = get_db().execute("SELECT id, label FROM crops WHERE label IS NOT NULL")
        return {row["id"]: row["label"] for row in rows}


def test_label_by_mouse_and_keyboard_undo_and_grid(server, page, tmp_path):
    app, base = server
    with app.app_context():
        set_target_name(get_db(), "Eileen Collins")
    expected: dict[int, str] = {}

    log_in_through_the_page(page, base, "/admin/label", "alice", PASSWORD)

    first = shown_crop(page)
    wait_until(page, "document.querySelector('#crop-image').naturalWidth > 0")
    page.click("#decide-target")  # by mouse
    expected[first] = "target"
    second = next_crop(page, first)
    page.keyboard.press("0")
    expected[second] = "not_target"
    third = next_crop(page, second)
    page.keyboard.press("x")
    expected[third] = "not_face"
    fourth = next_crop(page, third)
    page.keyboard.press("1")
    fifth = next_crop(page, fourth)

    page.keyboard.press("Backspace")  # undo "target" on the fourth crop: it comes back
    wait_until(page, f"document.querySelector('#labelling').dataset.cropId === '{fourth}'")
    page.wait_for_selector("#status:has-text('is unlabelled again')")
    page.keyboard.press("0")
    expected[fourth] = "not_target"
    assert next_crop(page, fourth) == fifth  # the preloaded crop is still next

    page.keyboard.press(" ")  # skip: stays unlabelled
    next_crop(page, fifth)
    page.wait_for_selector("#status:has-text('skipped')")
    assert page.inner_text("#progress-labelled") == "4"
    assert page.inner_text("h1") == "Is this Eileen Collins?"

    page.keyboard.press("f")  # the whole frame, on demand
    wait_until(page, "document.querySelector('#frame-image').naturalWidth > 0")
    page.keyboard.press("f")
    save_screenshot(page, "labelling.png", tmp_path)
    assert stored_labels(app) == expected

    page.goto(f"{base}/admin/grid?default=not_target&size=24")
    tiles = page.locator("#grid .tile")
    grid_ids = [int(tiles.nth(i).get_attribute("data-crop-id")) for i in range(tiles.count())]
    assert grid_ids and not set(grid_ids) & set(expected)
    assert fifth in grid_ids  # skipped by the queue, still unlabelled
    expected.update({crop_id: "not_target" for crop_id in grid_ids})
    tiles.nth(0).locator("img").click()
    expected[grid_ids[0]] = "target"
    tiles.nth(1).locator("img").click()
    tiles.nth(1).locator("img").click()
    expected[grid_ids[1]] = "not_face"
    assert "target" in tiles.nth(0).get_attribute("class").split()
    page.click("#grid-save")
    page.wait_for_selector(f".flash:has-text('Saved {len(grid_ids)} labels')")

    assert stored_labels(app) == expected
    with app.app_context():
        undo_rows = (
            get_db()
            .execute(
                "SELECT crop_id, old_label, new_label FROM label_history WHERE undoes IS NOT NULL"
            )
            .fetchall()
        )
    assert [tuple(row) for row in undo_rows] == [(fourth, "target", None)]
