"""The public selfie page and the JSON API, with a model trained on generated faces."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import app_on
from tests.servers import free_port
from webapp.store import models as model_store
from webapp.store.db import open_store
from webapp.store.target_picture import set_target_picture
from webapp.vision import cv2
from webapp.vision.faces import Box

# The store and API on both engines: SQLite, and a real PostgreSQL server.
pytestmark = pytest.mark.usefixtures("database")

FACE_CENTRE = (220, 112)  # of the astronaut's face in the 512x512 photo


def jpeg(rgb: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=92, **options)
    return buffer.getvalue()


def post_photo(client, data: bytes | None, url: str = "/api/score", name: str = "me.jpg"):
    form = {} if data is None else {"photo": (io.BytesIO(data), name)}
    return client.post(url, data=form, content_type="multipart/form-data")


def other_face_rgb() -> np.ndarray:
    """Someone else: a face from scikit-image's LFW subset, on a plain background."""
    from skimage import data

    face = (data.lfw_subset()[3] * 255).astype(np.uint8)
    big = cv2.resize(face, (300, 300), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((480, 480), 150, np.uint8)
    canvas[90:390, 90:390] = big
    return np.stack([canvas] * 3, axis=-1)


def test_api_scores_the_target_high_and_says_which_model(public, app_with_model, astronaut_rgb):
    response = post_photo(public, jpeg(astronaut_rgb))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    with app_with_model.app_context():
        conn = open_store(app_with_model.config["DATABASE"])
        active = model_store.get_active_model_version(conn)
    assert body["model_version"] == active["directory"]
    assert body["target"] == "the target"
    assert len(body["faces"]) == 1
    x, y, w, h = body["faces"][0]["box"]
    assert x <= FACE_CENTRE[0] <= x + w and y <= FACE_CENTRE[1] <= y + h
    assert body["look_alike_percent"] == body["faces"][0]["look_alike_percent"]
    assert body["look_alike_percent"] >= 50


def test_someone_else_scores_lower_than_the_target(public, astronaut_rgb):
    target = post_photo(public, jpeg(astronaut_rgb)).get_json()
    other = post_photo(public, jpeg(other_face_rgb()))
    assert other.status_code == 200, other.get_json()
    assert other.get_json()["look_alike_percent"] < target["look_alike_percent"]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_exif_rotated_phone_photo_scores_like_the_upright_one(public, astronaut_rgb, fmt):
    def encoded(rgb: np.ndarray, **options) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format=fmt, **options)
        return buffer.getvalue()

    upright = post_photo(public, encoded(astronaut_rgb)).get_json()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view": how phones store a portrait photo
    stored_sideways = np.rot90(astronaut_rgb, 1).copy()
    rotated = post_photo(public, encoded(stored_sideways, exif=exif.tobytes()))
    assert rotated.status_code == 200, rotated.get_json()
    body = rotated.get_json()
    x, y, w, h = body["faces"][0]["box"]  # in upright coordinates
    assert x <= FACE_CENTRE[0] <= x + w and y <= FACE_CENTRE[1] <= y + h
    if fmt == "PNG":  # lossless: the upright pixels are exactly the same
        assert body["faces"] == upright["faces"]
    else:  # JPEG blocks fall differently on the sideways picture: close, same side of 50
        assert abs(body["look_alike_percent"] - upright["look_alike_percent"]) < 15
        assert (body["look_alike_percent"] >= 50) == (upright["look_alike_percent"] >= 50)


def two_faces_rgb(astronaut_rgb: np.ndarray) -> np.ndarray:
    canvas = np.full((512, 1024, 3), 180, np.uint8)
    canvas[:, :512] = astronaut_rgb
    canvas[16:496, 532:1012] = other_face_rgb()
    return canvas


def test_every_face_is_scored_largest_first(public, astronaut_rgb):
    body = post_photo(public, jpeg(two_faces_rgb(astronaut_rgb))).get_json()
    assert len(body["faces"]) == 2
    first, second = body["faces"]
    assert first["box"][2] * first["box"][3] >= second["box"][2] * second["box"][3]
    assert body["look_alike_percent"] == first["look_alike_percent"]
    boxes_x = sorted(face["box"][0] for face in body["faces"])
    assert boxes_x[0] < 512 <= boxes_x[1]  # one face on each half of the photo


def astronaut_shrunk_rgb(astronaut_rgb: np.ndarray, scale: float) -> np.ndarray:
    """The astronaut shrunk by ``scale`` on a plain 640x480 photo."""
    small = cv2.resize(astronaut_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), (90, 110, 130), np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    return canvas


def test_the_selfie_finder_looks_cheaply_first_and_densely_before_saying_no_face(astronaut_rgb):
    from tests import test_face_verify
    from webapp.operations.selfies import SELFIE_DENSER, SELFIE_DETECTOR, selfie_finders
    from webapp.vision.find import find_faces

    # The vision core's tests check these very settings.
    assert (test_face_verify.SELFIE, test_face_verify.DENSER) == (SELFIE_DETECTOR, SELFIE_DENSER)
    finders = selfie_finders()
    finder = finders.for_extractor("face-embeddings")
    assert finder.detector.settings == SELFIE_DETECTOR
    assert finder.second_pass.denser == SELFIE_DENSER
    # Eigenfaces get the dense look first, as before the cheap one: no denser look after it.
    dense = finders.for_extractor("eigenfaces")
    assert (dense.detector.settings, dense.second_pass.denser) == (SELFIE_DENSER, None)
    # Cheaper: a smaller copy and fewer pyramid levels; still a window for 8% faces.
    assert SELFIE_DETECTOR.detect_width < SELFIE_DENSER.detect_width
    assert SELFIE_DETECTOR.scale_factor > SELFIE_DENSER.scale_factor
    assert 24 / SELFIE_DETECTOR.detect_width <= 0.08

    def find(rgb: np.ndarray):
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return find_faces(bgr, finder.detector, finder.verifier, finder.second_pass)

    for rgb, centre in ((astronaut_rgb, FACE_CENTRE), (other_face_rgb(), (240, 240))):
        found = find(rgb)
        assert not found.second_pass_used
        assert [covers(box, centre) for box in found.boxes] == [True]
    # A face of 7% of the width: under the first look's window, the denser look finds it.
    small = find(astronaut_shrunk_rgb(astronaut_rgb, 0.45))
    assert small.second_pass_used and len(small.boxes) == 1
    assert small.boxes[0].w < 0.075 * 640


def test_an_eigenfaces_model_scores_the_box_the_dense_look_finds(public, astronaut_rgb):
    # Eigenfaces read the box's pixels: a box a pixel off is another input, so their faces
    # are found as before the cheap first look, and their scores do not move.
    from webapp.operations.selfies import SELFIE_WIDTH, selfie_finders
    from webapp.vision.images import decode_upload

    photo = jpeg(astronaut_rgb)
    image = decode_upload(photo, max_width=SELFIE_WIDTH).bgr
    finders = selfie_finders()
    cheap, dense = finders.cheap.find(image)[0], finders.dense.find(image)[0]
    assert cheap != dense  # on this photo the two looks' boxes are a pixel apart
    body = post_photo(public, photo).get_json()
    assert body["faces"][0]["box"] == list(dense.as_tuple())


def covers(box, point: tuple[float, float]) -> bool:
    return box.x <= point[0] <= box.x + box.w and box.y <= point[1] <= box.y + box.h


def test_a_small_face_is_scored(public, astronaut_rgb):
    response = post_photo(public, jpeg(astronaut_shrunk_rgb(astronaut_rgb, 0.45)))
    assert response.status_code == 200, response.get_json()
    [face] = response.get_json()["faces"]
    x, y, w, h = face["box"]
    assert w < 0.075 * 640 and covers(Box(x, y, w, h), (200 + 0.45 * 220, 100 + 0.45 * 112))


def test_result_page_shows_percent_faces_and_the_target(public, app_with_model, astronaut_rgb):
    page = post_photo(public, jpeg(two_faces_rgb(astronaut_rgb)), url="/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    api = post_photo(public, jpeg(two_faces_rgb(astronaut_rgb))).get_json()
    assert f'id="look-alike-percent">{api["look_alike_percent"]:.0f}%' in text
    assert "2 faces in your photo" in text
    assert text.count('class="face-percent"') == 2
    assert 'src="data:image/png;base64,' in text  # the scored face, never a stored file
    assert 'src="/target-picture"' in text
    assert "does not verify" in text and "never written to disk" in text
    picture = public.get("/target-picture")
    assert picture.status_code == 200 and picture.mimetype == "image/png"


def test_the_admin_chosen_target_picture_is_shown(public, app_with_model):
    conn = open_store(app_with_model.config["DATABASE"])
    crop = conn.execute(
        "SELECT id, image_file FROM crops WHERE label = 'target' ORDER BY id DESC"
    ).fetchone()
    set_target_picture(conn, crop["id"])
    expected = (Path(app_with_model.config["CROPS_DIR"]) / crop["image_file"]).read_bytes()
    assert public.get("/target-picture").data == expected


@pytest.mark.parametrize(
    "data, status, words",
    [
        (None, 400, "field named 'photo'"),
        (b"", 400, "empty"),
        (b"GIF89a" + b"\x00" * 64, 415, "JPEG, PNG and WebP"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, 400, "could not be read"),
    ],
)
def test_api_errors_are_json_with_the_right_status(public, data, status, words):
    response = post_photo(public, data)
    assert response.status_code == status
    assert words in response.get_json()["error"]


def test_no_face_is_422_with_tips(public):
    blank = np.full((480, 640, 3), 200, np.uint8)
    response = post_photo(public, jpeg(blank))
    assert response.status_code == 422
    assert "No face was found" in response.get_json()["error"]
    page = post_photo(public, jpeg(blank), url="/")
    assert page.status_code == 422
    assert "well lit, facing the camera" in page.get_data(as_text=True)


def test_byte_and_pixel_limits_are_413(tmp_path, trained_instance, astronaut_rgb):
    photo = jpeg(astronaut_rgb)
    app = app_on(tmp_path, trained_instance, MAX_PHOTO_BYTES=len(photo) - 1)
    response = post_photo(app.test_client(), photo)
    assert response.status_code == 413
    assert "MB" in response.get_json()["error"]
    app = app_on(tmp_path / "b", trained_instance, MAX_PHOTO_PIXELS=100_000)
    response = post_photo(app.test_client(), photo)
    assert response.status_code == 413
    assert "512x512 pixels" in response.get_json()["error"]
    app = app_on(tmp_path / "c", trained_instance, MAX_CONTENT_LENGTH=10_000)
    page = post_photo(app.test_client(), photo, url="/")
    assert page.status_code == 413
    assert "The photo is too large" in page.get_data(as_text=True)


def test_no_model_yet_is_503_and_the_page_says_not_ready(tmp_path, astronaut_rgb):
    client = app_on(tmp_path, None).test_client()
    response = post_photo(client, jpeg(astronaut_rgb))
    assert response.status_code == 503
    assert "not ready yet" in response.get_json()["error"]
    page = client.get("/").get_data(as_text=True)
    assert "Coming soon." in page and 'name="photo"' not in page
    posted = post_photo(client, jpeg(astronaut_rgb), url="/")
    assert posted.status_code == 503 and "Coming soon." in posted.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"store": "ok", "model": None}


def test_home_page_form_for_phones_and_csrf(tmp_path, trained_instance, astronaut_rgb):
    app = app_on(tmp_path, trained_instance, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert 'accept="image/jpeg,image/png,image/webp,image/*"' in page
    assert 'capture="user"' in page and 'name="csrf_token"' in page
    refused = post_photo(client, jpeg(astronaut_rgb), url="/")
    assert refused.status_code == 400  # the form without its CSRF token
    api = post_photo(client, jpeg(astronaut_rgb))  # the API takes no cookies: exempt
    assert api.status_code == 200


def test_rate_limit_per_client_is_429_with_retry_after(tmp_path, trained_instance, astronaut_rgb):
    app = app_on(tmp_path, trained_instance, SCORE_RATE_LIMIT=2, SCORE_RATE_WINDOW=3600)
    client = app.test_client()
    photo = jpeg(astronaut_rgb)
    assert [post_photo(client, photo).status_code for _ in range(2)] == [200, 200]
    third = post_photo(client, photo)
    assert third.status_code == 429
    assert "Too many photos" in third.get_json()["error"]
    assert int(third.headers["Retry-After"]) > 0
    other = app.test_client()
    forged = other.post(
        "/api/score",
        data={"photo": (io.BytesIO(photo), "a.jpg")},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert forged.status_code == 429  # without PROXY_FIX the header is not trusted


def test_behind_a_proxy_the_forwarded_address_is_the_client(
    tmp_path, trained_instance, astronaut_rgb
):
    app = app_on(
        tmp_path, trained_instance, SCORE_RATE_LIMIT=1, SCORE_RATE_WINDOW=3600, PROXY_FIX=1
    )
    client = app.test_client()
    photo = jpeg(astronaut_rgb)

    def from_address(address: str) -> int:
        return client.post(
            "/api/score",
            data={"photo": (io.BytesIO(photo), "a.jpg")},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert from_address("203.0.113.1") == 200
    assert from_address("203.0.113.1") == 429
    assert from_address("203.0.113.2") == 200


def test_selfies_are_never_stored(public, app_with_model, astronaut_rgb):
    instance = Path(app_with_model.instance_path)

    def files() -> set[str]:
        return {str(p) for p in instance.rglob("*") if p.is_file() and "sqlite3" not in p.name}

    conn = open_store(app_with_model.config["DATABASE"])
    tables = conn.tables()

    def rows() -> dict[str, list]:
        return {
            t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables if t != "rate_limits"
        }

    before_files, before_rows = files(), rows()
    assert post_photo(public, jpeg(astronaut_rgb)).status_code == 200
    assert post_photo(public, jpeg(astronaut_rgb), url="/").status_code == 200
    assert files() == before_files
    assert rows() == before_rows


def test_healthz_reports_the_active_model(public, app_with_model):
    conn = open_store(app_with_model.config["DATABASE"])
    body = public.get("/healthz").get_json()
    assert body == {"store": "ok", "model": model_store.get_active_model_version(conn)["directory"]}


def test_an_activated_version_is_used_without_a_restart(public, app_with_model, astronaut_rgb):
    conn = open_store(app_with_model.config["DATABASE"])
    versions = model_store.list_model_versions(conn)
    active = next(v for v in versions if v["is_active"])
    older = next(v for v in versions if not v["is_active"])
    assert (
        post_photo(public, jpeg(astronaut_rgb)).get_json()["model_version"] == active["directory"]
    )
    model_store.activate_model_version(conn, older["id"])
    assert post_photo(public, jpeg(astronaut_rgb)).get_json()["model_version"] == older["directory"]


def test_an_admin_chooses_the_target_picture_on_a_crop_page(tmp_path, trained_instance):
    app = app_on(tmp_path, trained_instance)
    conn = open_store(app.config["DATABASE"])
    crop = conn.execute("SELECT id, image_file FROM crops ORDER BY id DESC").fetchone()
    client = app.test_client()
    refused = client.post(f"/admin/crops/{crop['id']}/target-picture")
    assert refused.status_code == 302 and "/admin/login" in refused.headers["Location"]
    assert (
        client.post(
            "/admin/login", data={"name": "alice", "password": "correct horse battery"}
        ).status_code
        == 302
    )
    page = client.get(f"/admin/crops/{crop['id']}").get_data(as_text=True)
    assert "Use as the picture of" in page
    assert client.post("/admin/crops/999999/target-picture").status_code == 404
    done = client.post(f"/admin/crops/{crop['id']}/target-picture", follow_redirects=True)
    assert "is now the picture of" in done.get_data(as_text=True)
    expected = (Path(app.config["CROPS_DIR"]) / crop["image_file"]).read_bytes()
    assert client.get("/target-picture").data == expected


def test_healthz_is_503_when_the_store_cannot_be_reached(tmp_path, database):
    if database:  # a port where no server listens
        app = app_on(tmp_path, None, DATABASE_URL=f"postgresql://u:p@127.0.0.1:{free_port()}/x")
    else:
        app = app_on(tmp_path, None, DATABASE=str(tmp_path))  # a folder is no SQLite file
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["store"].startswith("unreachable")


def test_things_the_cascade_takes_for_faces_are_not_scored(public):
    """The cascade alone finds several 'faces' in scikit-image's coins (tests of the vision
    core show it); none is a face, so the visitor is told so instead of getting percents."""
    from skimage import data

    coins_rgb = np.repeat(data.coins()[:, :, None], 3, axis=2)
    response = post_photo(public, jpeg(coins_rgb))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"].startswith("No face was found in the photo.")
