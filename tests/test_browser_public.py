"""The public pages in a real browser: a photo chosen or dropped is shown at once, made
smaller in the browser and scored; the result is shared as a signed link; every public
page fits a phone. Takes the README's screenshots of them on the way (scikit-image's
astronaut and generated faces only)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from werkzeug import Request

from tests.browser import (
    PHONE_WIDTHS,
    browser_page,
    live_server,
    needs_chromium,
    save_screenshot,
    sideways_scroll,
    small_tap_targets,
    wait_until,
)
from tests.conftest import app_on
from tests.test_public import jpeg, two_faces_rgb
from webapp.context import get_db
from webapp.store.settings import set_target_name
from webapp.vision import cv2

pytestmark = needs_chromium

NAME = "Eileen Collins"


@pytest.fixture
def server(tmp_path, trained_instance):
    """The real app (CSRF on) on a free local port, with a trained model."""
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)
    with app.app_context():
        set_target_name(get_db(), NAME)
    with live_server(app) as base:
        yield app, base


@pytest.fixture
def phone():
    with browser_page(412, 915, phone=True) as page:
        yield page


@pytest.fixture
def desktop():
    with browser_page(1280, 800) as page:
        yield page


def phone_photo(astronaut_rgb: np.ndarray, sideways: bool = False) -> bytes:
    """A 12-megapixel phone photo (4000x3000) of the astronaut with a camera's grain;
    ``sideways``: stored on its side with the EXIF orientation that turns it upright, as
    phones store portrait shots."""
    rng = np.random.default_rng(3)
    canvas = np.full((3000, 4000, 3), 140, np.uint8)
    face = cv2.resize(astronaut_rgb, (2800, 2800), interpolation=cv2.INTER_CUBIC)
    canvas[100:2900, 600:3400] = face
    grain = rng.normal(0, 6, canvas.shape)
    canvas = np.clip(canvas + grain, 0, 255).astype(np.uint8)
    options = {}
    if sideways:
        canvas = np.ascontiguousarray(np.rot90(canvas, 1))  # stored 3000 wide, 4000 high
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 clockwise to view"
        options["exif"] = exif.tobytes()
    return jpeg(canvas, **options)


class PostedPhotos:
    """The photos the page posts to / , read from the requests the browser sends (through
    Playwright's request interception: a request event leaves out bodies with files)."""

    def __init__(self, page, base: str) -> None:
        self.photos: list[bytes] = []
        self.bodies: list[int] = []

        def seen(route) -> None:
            request = route.request
            if request.method == "POST":
                body = request.post_data_buffer or b""
                self.bodies.append(len(body))
                parsed = Request.from_values(
                    input_stream=io.BytesIO(body),
                    content_length=len(body),
                    content_type=request.headers["content-type"],
                    method="POST",
                )
                self.photos += [f.read() for f in parsed.files.getlist("photo") if f.filename]
            route.continue_()

        page.route(f"{base}/", seen)


def shown_percent(page) -> int:
    return int(page.inner_text("#look-alike-percent").rstrip("%"))


def test_choose_a_photo_and_see_the_percentage_and_the_faces(
    server, phone, astronaut_rgb, tmp_path
):
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

    phone.goto(base + "/")
    assert phone.get_attribute("#choose-photo", "accept").startswith("image/jpeg")
    assert phone.is_visible("#take-selfie-label") and phone.is_visible("#choose-photo-label")
    assert not phone.is_visible("#drop-hint")  # no dragging on a phone
    assert phone.get_attribute("#take-selfie", "capture") == "user"
    assert phone.get_attribute("#choose-photo", "capture") is None
    save_screenshot(phone, "home-phone.png", tmp_path)

    with phone.expect_navigation():  # the photo is sent as soon as it is chosen
        phone.set_input_files(
            "#choose-photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
    phone.wait_for_selector("#look-alike-percent")
    assert shown_percent(phone) == round(expected["look_alike_percent"])
    for selector in (".scored-face", ".target-face", ".boxed-photo"):
        loaded = phone.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")
        assert loaded, f"{selector} did not load"
    assert phone.locator(".face-list li").count() == 2
    assert "does not verify" in phone.inner_text(".honest")
    assert "other faces in the movie" in phone.inner_text("#standing")


def test_a_12_megapixel_photo_is_shown_at_once_and_sent_small_and_upright(
    server, phone, astronaut_rgb, tmp_path
):
    app, base = server
    photo = phone_photo(astronaut_rgb, sideways=True)
    assert len(photo) > 1_500_000
    posted = PostedPhotos(phone, base)
    phone.goto(base + "/")
    # Hold the form's submission until the preview has been seen.
    phone.evaluate(
        "() => { const form = document.getElementById('selfie-form');"
        " window.sendNow = form.submit.bind(form);"
        " form.submit = () => { window.readyToSend = true; }; }"
    )
    phone.set_input_files(
        "#take-selfie", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    phone.wait_for_selector("#preview", state="visible")  # shown before it is sent
    # Drawn upright (the EXIF orientation applied): landscape, as the photo was taken.
    assert phone.eval_on_selector("#preview", "c => [c.width, c.height]") == [1280, 960]
    wait_until(phone, "window.readyToSend === true")
    assert not phone.is_visible("#pickers")  # one photo at a time
    with phone.expect_navigation():
        phone.evaluate("window.sendNow()")
    phone.wait_for_selector("#look-alike-percent")

    assert len(posted.photos) == 1
    sent = posted.photos[0]
    assert len(sent) < 400_000, f"{len(sent)} bytes sent"  # about 200 KB, not 2 MB
    assert posted.bodies[0] < 420_000
    picture = Image.open(io.BytesIO(sent))
    assert picture.format == "JPEG"
    assert picture.size == (1280, 960)  # upright (EXIF applied): landscape, longest side 1280
    assert picture.getexif().get(0x0112) in (None, 1)  # nothing left to rotate on the server
    assert shown_percent(phone) >= 50  # the astronaut, found and scored as the target


def test_a_photo_dropped_on_the_page_is_scored(server, desktop, astronaut_rgb, tmp_path):
    app, base = server
    posted = PostedPhotos(desktop, base)
    desktop.goto(base + "/")
    assert desktop.is_visible("#drop-hint") and desktop.is_visible("#choose-photo-label")
    assert not desktop.is_visible("#take-selfie-label")  # a desktop browser has no selfie camera
    save_screenshot(desktop, "home.png", tmp_path)

    photo = phone_photo(astronaut_rgb)
    transfer = desktop.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            const file = new File([new Uint8Array(bytes)], "dropped.jpg", {type: "image/jpeg"});
            transfer.items.add(file);
            return transfer;
        }""",
        list(photo),
    )
    desktop.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    assert "dragging" in desktop.get_attribute("#drop-zone", "class")
    with desktop.expect_navigation():
        desktop.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    desktop.wait_for_selector("#look-alike-percent")
    assert len(posted.photos) == 1
    assert Image.open(io.BytesIO(posted.photos[0])).size == (1280, 960)
    assert shown_percent(desktop) >= 50
    save_screenshot(desktop, "result-desktop.png", tmp_path)


def test_share_a_result_and_a_forged_link_is_refused(server, astronaut_rgb, tmp_path):
    app, base = server
    # A browser with the Web Share API (a phone): the share sheet gets the link.
    with browser_page(412, 915, phone=True) as page:
        page.add_init_script(
            "navigator.share = async (data) => { window.sharedData = data; };"
            " navigator.canShare = () => true;"
        )
        page.goto(base + "/")
        with page.expect_navigation():
            page.set_input_files(
                "#choose-photo",
                files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(astronaut_rgb)}],
            )
        page.wait_for_selector("#share-button")
        percent = shown_percent(page)
        assert not page.is_visible("#share-link")  # the button replaces the plain link
        save_screenshot(page, "result.png", tmp_path)
        page.click("#share-button")
        wait_until(page, "window.sharedData !== undefined")
        shared = page.evaluate("window.sharedData")
        assert shared["url"].startswith(f"{base}/r/")
        assert shared["title"] == f"{percent}% {NAME}"
        assert "data:" not in shared["url"]

        page.goto(shared["url"])
        assert page.inner_text("#shared-percent") == f"{percent}%"
        assert page.locator("img.scored-face").count() == 0
        assert page.get_attribute('meta[property="og:image"]', "content") == (
            f"{base}/target-picture"
        )
        assert page.get_attribute('meta[property="og:title"]', "content") == f"{percent}% {NAME}"
        save_screenshot(page, "shared-phone.png", tmp_path)

        token = shared["url"].rsplit("/", 1)[1]
        payload, signature = token.rsplit(".", 1)
        edited = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
        response = page.goto(f"{base}/r/{edited}")
        assert response.status == 404
        assert "not valid" in page.inner_text("main")

    # A desktop browser without it: the link is copied.
    with browser_page(1280, 800, permissions=["clipboard-read", "clipboard-write"]) as page:
        page.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
        page.goto(base + "/")
        with page.expect_navigation():
            page.set_input_files(
                "#choose-photo",
                files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(astronaut_rgb)}],
            )
        page.click("#share-button")
        page.wait_for_selector("#share-status:has-text('Link copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert re.fullmatch(rf"{re.escape(base)}/r/[\w.-]+", copied)
        assert page.goto(copied).status == 200


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_public_pages_fit_a_phone(server, tmp_path, trained_instance, astronaut_rgb, width):
    app, base = server
    with browser_page(width, 800, phone=True) as page:
        page.goto(base + "/")
        checked = []

        def check(name: str) -> None:
            assert sideways_scroll(page) <= 0, f"{name} scrolls sideways at {width} px"
            assert small_tap_targets(page) == [], f"{name} at {width} px"
            checked.append(name)

        check("home")
        with page.expect_navigation():
            page.set_input_files(
                "#choose-photo",
                files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg(
                    two_faces_rgb(astronaut_rgb))}],
            )  # fmt: skip
        page.wait_for_selector("#look-alike-percent")
        check("result")
        # Readable without zooming: the page is laid out for the phone's width, with text
        # no smaller than the phone's default.
        assert page.evaluate("window.visualViewport.scale") == 1
        for selector in (".result-caption", "#standing", "#verdict", ".honest"):
            size = page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 16, f"{selector} is {size}px"
        page.goto(page.get_attribute("#share-link", "href"))
        check("shared result")
        page.goto(base + "/r/forged")
        check("error")

        empty = app_on(tmp_path / "empty", None)
        with empty.app_context():
            set_target_name(get_db(), NAME)
        with live_server(empty) as coming_soon:
            page.goto(coming_soon + "/")
            assert "Coming soon." in page.inner_text("main")
            check("coming soon")
    assert checked == ["home", "result", "shared result", "error", "coming soon"]
