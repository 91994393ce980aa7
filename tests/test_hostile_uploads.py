"""The hostile corpus (tests/hostile_uploads.py) against the decoder: every upload ends in a
usable picture or in a refusal the visitor can read, never in another exception (a 500).

Part 1: ``decode_upload`` as the selfie page and ``POST /api/score`` call it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.hostile_uploads import hostile_uploads
from webapp.vision.images import DecodedImage, ImageError, ImageLimits, decode_upload

CORPUS = hostile_uploads()
SELFIE_WIDTH = 640
REFUSAL_STATUSES = {400, 413, 415, 422}


def outcome(data: bytes) -> DecodedImage | ImageError:
    try:
        return decode_upload(data, ImageLimits(), max_width=SELFIE_WIDTH)
    except ImageError as error:
        return error


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 300
    groups = {name.split("/")[0] for name, _ in CORPUS}
    assert {"truncated", "bitflip", "bomb", "shape", "format", "exif", "mode", "animated"} <= groups


@pytest.mark.parametrize("name, data", CORPUS, ids=[name for name, _ in CORPUS])
def test_every_upload_gives_a_picture_or_a_clear_refusal(name, data):
    result = outcome(data)
    if isinstance(result, ImageError):
        assert result.status in REFUSAL_STATUSES
        assert str(result).strip() and str(result)[-1] in ".!", str(result)
        return
    bgr = result.bgr
    assert bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3
    assert bgr.shape[0] > 0 and 0 < bgr.shape[1] <= SELFIE_WIDTH
    assert result.width >= bgr.shape[1] and result.height >= 1


def by_group(*prefixes: str) -> list[tuple[str, bytes]]:
    return [(name, data) for name, data in CORPUS if name.startswith(prefixes)]


@pytest.mark.parametrize(
    "name, data",
    by_group("valid/", "mode/", "animated/png-3", "animated/webp", "exif/"),
)
def test_valid_pictures_in_any_mode_and_with_any_metadata_decode(name, data):
    result = outcome(data)
    assert isinstance(result, DecodedImage), f"{name}: {result}"
    if name != "mode/png-bilevel-trns":  # black is its transparent colour: all white
        assert result.bgr.std() > 2  # a picture, not a flat field


@pytest.mark.parametrize("name, data", by_group("format/", "other/"))
def test_other_formats_and_non_images_are_refused(name, data):
    result = outcome(data)
    if name in ("format/mpo", "other/jpeg-then-zip"):  # JPEGs, with something after them
        assert isinstance(result, DecodedImage)
        return
    assert isinstance(result, ImageError), name
    assert result.status in (400, 415)


# --- Part 2: the same corpus against both endpoints of a real app ---


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, trained_instance):
    import shutil

    from tests.conftest import new_app

    root = tmp_path_factory.mktemp("hostile") / "root"
    shutil.copytree(trained_instance, root)
    app = new_app(root, SCORE_RATE_LIMIT=0, WTF_CSRF_ENABLED=False)
    return app, root


def _files_under(*folders) -> set[str]:
    import os

    found = set()
    for folder in folders:
        for parent, _, names in os.walk(folder):
            found.update(os.path.join(parent, name) for name in names)
    return {name for name in found if not name.endswith(("-wal", "-shm"))}


def test_no_upload_breaks_either_endpoint_or_writes_anything(hostile_app, monkeypatch):
    import io
    import tempfile

    app, root = hostile_app
    spool = tempfile.mkdtemp(prefix="hostile-spool-")
    monkeypatch.setattr(tempfile, "tempdir", spool)  # where a spooled upload would land
    client = app.test_client()
    before = _files_under(root)
    crops = _count_crops(app)
    failures = []
    for name, data in CORPUS:
        for url in ("/api/score", "/"):
            response = client.post(
                url,
                data={"photo": (io.BytesIO(data), "photo.bin")},
                content_type="multipart/form-data",
            )
            status = response.status_code
            if status >= 500 or status not in {200, *REFUSAL_STATUSES}:
                failures.append(f"{url} {name}: {status}")
            if url == "/api/score" and not response.is_json:
                failures.append(f"{url} {name}: not JSON")
            if url == "/api/score" and status != 200 and not response.get_json().get("error"):
                failures.append(f"{url} {name}: no error message")
    assert failures == []
    assert _files_under(root) == before  # no photo, crop or temporary file was kept
    assert _files_under(spool) == set()  # and none went through a spooled temporary file
    assert _count_crops(app) == crops


def _count_crops(app) -> int:
    import sqlite3

    conn = sqlite3.connect(app.config["DATABASE"])
    try:
        return conn.execute("SELECT COUNT(*) FROM crops").fetchone()[0]
    finally:
        conn.close()


BROKEN_BODIES = {
    "no boundary": ("multipart/form-data", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
    "cut off": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n\xff\xd8',
    ),
    "wrong boundary": ("multipart/form-data; boundary=y", b"--x\r\n\r\n--x--\r\n"),
    "not multipart": ("application/json", b'{"photo": "aGVsbG8="}'),
    "form fields": ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 1500)),
    "empty": ("multipart/form-data; boundary=x", b""),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_BODIES))
def test_broken_bodies_get_a_clear_answer(hostile_app, kind):
    app, _ = hostile_app
    content_type, body = BROKEN_BODIES[kind]
    client = app.test_client()
    api = client.post("/api/score", data=body, content_type=content_type)
    assert api.status_code in REFUSAL_STATUSES and api.get_json()["error"]
    page = client.post("/", data=body, content_type=content_type)
    assert page.status_code in REFUSAL_STATUSES
    if kind == "form fields":  # too many fields is not "the photo is too large"
        assert "too large" not in api.get_json()["error"]
