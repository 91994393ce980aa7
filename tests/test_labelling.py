"""The labelling page, its JSON API, undo, claims, concurrency, the grid and browse views."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import create_admin
from webapp.context import get_db
from webapp.store import labels
from webapp.store.db import open_store

# The store and API on both engines: SQLite, and a real PostgreSQL server.
pytestmark = pytest.mark.usefixtures("database")


def label_of(app, crop_id: int) -> str | None:
    with app.app_context():
        return get_db().execute("SELECT label FROM crops WHERE id = ?", (crop_id,)).fetchone()[0]


def history(app, crop_id: int) -> list[tuple]:
    with app.app_context():
        rows = labels.label_history(get_db(), crop_id)
    return [(row["user_name"], row["old_label"], row["new_label"]) for row in reversed(rows)]


def test_extracted_crops_are_there(labelling_app):
    with labelling_app.app_context():
        assert labels.count_crops(get_db()) >= 20


def test_label_page_shows_a_crop_with_its_source_and_keys(admin_client):
    page = admin_client.get("/admin/label")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'data-crop-id="1"' in html and "/admin/crops/1/image.png" in html
    assert "face.avi" in html and "0:00" in html and "(frame 0)" in html
    for key in (
        "<kbd>1</kbd>",
        "<kbd>0</kbd>",
        "<kbd>x</kbd>",
        "<kbd>space</kbd>",
        "<kbd>backspace</kbd>",
    ):
        assert key in html
    for text in ("Target", "Not target", "Not a face", "Skip", "Undo"):
        assert text in html
    assert 'id="progress-bar" max="' in html


def test_label_page_with_javascript_off(admin_client, labelling_app):
    response = admin_client.post("/admin/label", data={"decision": "target", "crop_id": 1})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/label"
    assert label_of(labelling_app, 1) == "target"
    page = admin_client.get("/admin/label").data.decode()
    assert 'data-crop-id="2"' in page and '<strong id="progress-labelled">1</strong>' in page
    admin_client.post("/admin/label", data={"decision": "skip", "crop_id": 2})
    assert 'data-crop-id="3"' in admin_client.get("/admin/label").data.decode()
    admin_client.post("/admin/label", data={"decision": "not_face", "crop_id": 3})
    undo = admin_client.post("/admin/label", data={"decision": "undo"})
    assert undo.headers["Location"] == "/admin/label?crop=3"
    assert label_of(labelling_app, 3) is None
    assert b"crop 3 is unlabelled again" in admin_client.get("/admin/label?crop=3").data


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"decision": "maybe", "crop_id": 1}, 400),
        ({"decision": "target"}, 400),
        ({"decision": "target", "crop_id": "abc"}, 400),
        ({"decision": "target", "crop_id": 99999}, 404),
        ({"decision": "skip", "crop_id": 99999}, 404),
    ],
)
def test_label_form_errors(admin_client, data, status):
    response = admin_client.post("/admin/label", data=data)
    assert response.status_code == status
    assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    "url",
    [
        "/admin/label?crop=99999",
        "/admin/label?crop=abc",
        "/admin/crops/99999",
        "/admin/crops/99999/image.png",
        "/admin/crops/99999/face.png",
        "/admin/crops/99999/frame.jpg",
        "/admin/crops/-1",
        "/admin/crops/abc/image.png",
    ],
)
def test_bad_crop_ids_are_404(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 404
    assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("post", "/api/admin/crops/99999/label", {"label": "target"}, 404),
        ("post", "/api/admin/crops/99999/skip", {}, 404),
        ("post", "/api/admin/crops/1/label", {"label": "maybe"}, 400),
        ("post", "/api/admin/crops/1/label", ["target"], 400),
        ("post", "/api/admin/crops/1/label", None, 400),
        ("get", "/api/admin/crops/next?exclude=1,x", None, 400),
        ("post", "/api/admin/undo", None, 409),
        ("get", "/api/admin/nothing-here", None, 404),
    ],
)
def test_api_errors_are_json(admin_client, method, url, body, status):
    response = getattr(admin_client, method)(url, json=body)
    assert response.status_code == status
    assert response.get_json()["error"]


def test_api_next_label_skip_undo(admin_client, labelling_app):
    first = admin_client.get("/api/admin/crops/next").get_json()
    crop = first["crop"]
    assert crop["id"] == 1 and crop["video_name"] == "face.avi" and crop["frame_available"]
    assert first["progress"]["labelled"] == 0
    second = admin_client.get("/api/admin/crops/next?exclude=1").get_json()["crop"]
    assert second["id"] == 2
    saved = admin_client.post("/api/admin/crops/1/label", json={"label": "target"}).get_json()
    assert saved["label"] == "target" and saved["progress"]["target"] == 1
    assert admin_client.post("/api/admin/crops/2/skip").status_code == 200
    # The skipped crop comes after every other one, and the page's ids are left out.
    third = admin_client.get("/api/admin/crops/next").get_json()["crop"]
    assert third["id"] == 3
    undone = admin_client.post("/api/admin/undo").get_json()
    assert undone["crop"]["id"] == 1 and undone["label"] is None and undone["restored"]
    assert label_of(labelling_app, 1) is None
    assert admin_client.get("/api/admin/progress").get_json()["labelled"] == 0


def test_undo_walks_back_twelve_decisions(admin_client, labelling_app):
    decisions = ["target", "not_target", "not_face"] * 4
    for crop_id, label in enumerate(decisions, start=1):
        admin_client.post(f"/api/admin/crops/{crop_id}/label", json={"label": label})
    # Change crop 1 again: undoing that must bring back "target", not nothing.
    admin_client.post("/api/admin/crops/1/label", json={"label": "not_target"})
    assert admin_client.post("/api/admin/undo").get_json()["label"] == "target"
    for crop_id in range(12, 0, -1):
        undone = admin_client.post("/api/admin/undo").get_json()
        assert undone["crop"]["id"] == crop_id and undone["label"] is None
    assert admin_client.post("/api/admin/undo").status_code == 409
    assert all(label_of(labelling_app, crop_id) is None for crop_id in range(1, 13))
    assert history(labelling_app, 1) == [
        ("alice", None, "target"),
        ("alice", "target", "not_target"),
        ("alice", "not_target", "target"),
        ("alice", "target", None),
    ]


def test_undo_keeps_a_later_change_by_another_admin(labelling_app, log_in_as):
    alice, bob = labelling_app.test_client(), labelling_app.test_client()
    log_in_as(alice, "alice")
    log_in_as(bob, "bob")
    alice.post("/api/admin/crops/5/label", json={"label": "target"})
    bob.post("/api/admin/crops/5/label", json={"label": "not_face"})
    undone = alice.post("/api/admin/undo").get_json()
    assert not undone["restored"] and undone["label"] == "not_face"
    assert "another admin" in undone["message"]
    assert label_of(labelling_app, 5) == "not_face"
    # Bob's own undo is his to make.
    assert bob.post("/api/admin/undo").get_json()["label"] == "target"


def test_two_admins_get_different_crops(labelling_app, log_in_as):
    alice, bob = labelling_app.test_client(), labelling_app.test_client()
    log_in_as(alice, "alice")
    log_in_as(bob, "bob")
    shown_to_alice = {alice.get("/api/admin/crops/next?exclude=").get_json()["crop"]["id"]}
    shown_to_alice.add(
        alice.get(f"/api/admin/crops/next?exclude={min(shown_to_alice)}").get_json()["crop"]["id"]
    )
    bobs = bob.get("/api/admin/crops/next").get_json()["crop"]["id"]
    assert bobs not in shown_to_alice
    # A claim that ran out may be taken by someone else.
    with labelling_app.app_context():
        get_db().execute("UPDATE crops SET claimed_until = '2000-01-01T00:00:00+00:00'")
    assert bob.get(f"/api/admin/crops/next?exclude={bobs}").get_json()["crop"]["id"] == 1


def test_concurrent_label_writes_are_never_lost(labelling_app):
    """Two admins on two connections, four threads, the same crops: every decision is in the
    history and each crop holds the last decision written."""
    database = labelling_app.config["DATABASE"]
    with labelling_app.app_context():
        ids = {row["name"]: row["id"] for row in get_db().execute("SELECT id, name FROM users")}
    crop_ids = list(range(1, 11))
    errors: list[BaseException] = []

    def work(user: str, label: str) -> None:
        conn = open_store(database)
        try:
            for crop_id in crop_ids:
                labels.set_label(conn, crop_id, ids[user], label)
        except BaseException as error:
            errors.append(error)
        finally:
            conn.close()

    threads = [
        threading.Thread(target=work, args=(user, label))
        for user, label in [("alice", "target"), ("bob", "not_target")] * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with labelling_app.app_context():
        db = get_db()
        for crop_id in crop_ids:
            rows = db.execute(
                "SELECT old_label, new_label FROM label_history WHERE crop_id = ? ORDER BY id",
                (crop_id,),
            ).fetchall()
            assert len(rows) == 4
            # The history is a chain: each change starts from the label the one before left.
            assert rows[0]["old_label"] is None
            for before, after in zip(rows, rows[1:], strict=False):
                assert after["old_label"] == before["new_label"]
            assert label_of(labelling_app, crop_id) == rows[-1]["new_label"]


def test_concurrent_claims_never_hand_out_the_same_crop(labelling_app):
    database = labelling_app.config["DATABASE"]
    users = [1, 2, create_admin(labelling_app, "carol"), create_admin(labelling_app, "dave")]
    claimed: list[int] = []

    def work(user_id: int) -> None:
        conn = open_store(database)
        try:
            for _ in range(4):
                crop = labels.claim_next_crop(conn, user_id, exclude=[])
                claimed.append(crop["id"])
                labels.set_label(conn, crop["id"], user_id, "target")
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(user_id,)) for user_id in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 16
    assert len(set(claimed)) == 16, f"crops handed out twice: {sorted(claimed)}"


def test_grid_marks_all_and_saves_once(admin_client, labelling_app):
    page = admin_client.get("/admin/grid?default=not_target&size=24")
    html = page.data.decode()
    assert page.status_code == 200
    crop_ids = [int(part.split('"')[0]) for part in html.split('data-crop-id="')[1:]]
    assert len(crop_ids) == min(24, 30) and crop_ids[0] == 1
    assert html.count('value="not_target"\n                              checked') == len(crop_ids)
    form = {f"label-{crop_id}": "not_target" for crop_id in crop_ids}
    form[f"label-{crop_ids[3]}"] = "target"
    form[f"label-{crop_ids[5]}"] = "not_face"
    response = admin_client.post("/admin/grid", data={**form, "default": "not_target", "size": 24})
    assert response.status_code == 302
    assert label_of(labelling_app, crop_ids[3]) == "target"
    assert label_of(labelling_app, crop_ids[5]) == "not_face"
    assert label_of(labelling_app, crop_ids[0]) == "not_target"
    assert b"Saved 24 labels" in admin_client.get(response.headers["Location"]).data
    # The next grid has only what is left.
    rest = admin_client.get("/admin/grid?size=24").data.decode()
    assert rest.count('class="tile not_target"') == 30 - 24


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"label-1": "maybe"}, 400),
        ({"label-x": "target"}, 400),
        ({"label-1": "target", "label-99999": "target"}, 404),
        ({"label-1": "target", "default": "maybe"}, 400),
    ],
)
def test_grid_errors_save_nothing(admin_client, labelling_app, form, status):
    response = admin_client.post("/admin/grid", data=form)
    assert response.status_code == status
    assert label_of(labelling_app, 1) is None


def test_grid_bad_options(admin_client):
    assert admin_client.get("/admin/grid?size=7").status_code == 400
    assert admin_client.get("/admin/grid?default=maybe").status_code == 400


def test_browse_filters_and_changes_labels(admin_client, labelling_app):
    admin_client.post("/api/admin/crops/1/label", json={"label": "target"})
    admin_client.post("/api/admin/crops/2/label", json={"label": "not_face"})
    targets = admin_client.get("/admin/browse?label=target").data.decode()
    assert "1 crop." in targets and 'data-crop-id="1"' in targets
    unlabelled = admin_client.get("/admin/browse?label=unlabelled&video=1").data.decode()
    assert 'data-crop-id="1"' not in unlabelled and 'data-crop-id="3"' in unlabelled
    assert "0 crops." in admin_client.get("/admin/browse?video=99").data.decode()
    assert admin_client.get("/admin/browse?label=maybe").status_code == 400
    assert admin_client.get("/admin/browse?page=2").status_code == 200
    response = admin_client.post(
        "/admin/crops/2", data={"label": "not_target", "next": "/admin/browse?label=not_face"}
    )
    assert response.headers["Location"] == "/admin/browse?label=not_face"
    assert label_of(labelling_app, 2) == "not_target"
    off_site = admin_client.post("/admin/crops/2", data={"label": "target", "next": "//x.example"})
    assert off_site.headers["Location"] == "/admin/crops/2"
    assert admin_client.post("/admin/crops/2", data={"label": "maybe"}).status_code == 400
    page = admin_client.get("/admin/crops/2").data.decode()
    assert "Label history" in page and page.count("alice") >= 3
    assert history(labelling_app, 2) == [
        ("alice", None, "not_face"),
        ("alice", "not_face", "not_target"),
        ("alice", "not_target", "target"),
    ]


def test_crop_images_and_frame(admin_client):
    image = admin_client.get("/admin/crops/1/image.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    face = admin_client.get("/admin/crops/1/face.png")
    assert face.status_code == 200 and face.data.startswith(b"\x89PNG")
    frame = admin_client.get("/admin/crops/1/frame.jpg")
    assert frame.status_code == 200 and frame.mimetype == "image/jpeg"
    assert frame.data.startswith(b"\xff\xd8")


def test_frame_of_a_vanished_video_says_so(admin_client, labelling_app):
    with labelling_app.app_context():
        get_db().execute("UPDATE videos SET path = '/nowhere/gone.avi'")
    response = admin_client.get("/admin/crops/1/frame.jpg")
    assert response.status_code == 404 and b"no longer at" in response.data
    assert admin_client.get("/api/admin/crops/next").get_json()["crop"]["frame_available"] is False
    assert b"The video file is gone" in admin_client.get("/admin/crops/1").data


def test_all_done(admin_client, labelling_app):
    with labelling_app.app_context():
        get_db().execute("UPDATE crops SET label = 'target'")
    page = admin_client.get("/admin/label").data.decode()
    assert "Nothing left to label" in page and 'data-crop-id=""' in page
    assert admin_client.get("/api/admin/crops/next").get_json()["crop"] is None
