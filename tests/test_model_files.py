"""Many hosts on one store: a host with an empty models folder and no crops folder scores
with the active version and shows the target's picture, both read from the store; the
store's copy is checked before anything is written; versions trained before the store
kept files still load from the folder, and can be published into the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import app_on, forget_model_files, new_app
from tests.learn_data import SMALL_SEARCH
from tests.test_public import jpeg, post_photo
from webapp.learn.versions import FILES
from webapp.operations.model_files import publish_model_files
from webapp.operations.target_picture import active_examples, publish_target_picture
from webapp.operations.training import train_from_store
from webapp.store import models as model_store
from webapp.store.db import open_store, transaction
from webapp.store.target_picture import target_picture

pytestmark = pytest.mark.usefixtures("database")

ADMIN = {"name": "alice", "password": "correct horse battery"}  # trained_instance's admin


@pytest.fixture
def first(tmp_path, trained_instance):
    """The host that trained: its models folder and crops folder hold everything."""
    return app_on(tmp_path / "first", trained_instance)


@pytest.fixture
def second(tmp_path, first):
    """Another host on the same store with nothing but the store: an empty models folder,
    no crops folder."""
    (tmp_path / "second" / "models").mkdir(parents=True)
    app = new_app(
        tmp_path / "second",
        DATABASE=first.config["DATABASE"],
        MODEL_CHECK_SECONDS=0,
        WTF_CSRF_ENABLED=False,
    )
    Path(app.config["CROPS_DIR"]).rmdir()  # made empty by the app: no crops on this host
    return app


@pytest.fixture
def store(first):
    conn = open_store(first.config["DATABASE"])
    yield conn
    conn.close()


def scored(app, photo: bytes) -> dict:
    response = post_photo(app.test_client(), photo)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def target_png(app, conn) -> bytes:
    """The PNG file, on the host that has it, of the crop chosen to show the target."""
    row = target_picture(conn, active_examples(conn))
    return (Path(app.config["CROPS_DIR"]) / row["image_file"]).read_bytes()


def hidden_entries(app) -> list[str]:
    return [p.name for p in Path(app.config["MODELS_DIR"]).iterdir() if p.name.startswith(".")]


def test_a_host_with_only_the_store_scores_and_shows_the_target_like_the_first(
    first, second, store, astronaut_rgb
):
    assert not Path(second.config["CROPS_DIR"]).exists()
    visitor = second.test_client()
    # The picture was published when training recorded the version: the first host never
    # had to show it.
    picture = visitor.get("/target-picture")
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert picture.data == target_png(first, store)
    assert 'src="/target-picture"' in visitor.get("/").get_data(as_text=True)

    photo = jpeg(astronaut_rgb)
    here, there = scored(second, photo), scored(first, photo)
    active = model_store.get_active_model_version(store)
    assert here["model_version"] == there["model_version"] == active["directory"]
    assert here["look_alike_percent"] == there["look_alike_percent"]
    assert visitor.get("/healthz").get_json() == {"store": "ok", "model": active["directory"]}
    written = Path(second.config["MODELS_DIR"]) / active["directory"]
    assert sorted(p.name for p in written.iterdir()) == sorted(FILES)
    assert hidden_entries(second) == []


def test_a_version_activated_on_one_host_is_used_by_the_other_at_its_next_check(
    first, second, store, astronaut_rgb
):
    photo = jpeg(astronaut_rgb)
    versions = model_store.list_model_versions(store)
    older = next(v for v in versions if not v["is_active"])
    assert scored(second, photo)["model_version"] != older["directory"]

    admin = first.test_client()
    assert admin.post("/admin/login", data=ADMIN).status_code == 302
    assert admin.post(f"/admin/models/{older['id']}/activate").status_code == 302
    assert scored(second, photo)["model_version"] == older["directory"]  # a rollback

    with first.app_context():
        result = train_from_store(
            store,
            first.config["CROPS_DIR"],
            first.config["MODELS_DIR"],
            face_size=48,
            space=SMALL_SEARCH,
            activate="always",
        )
    here, there = scored(second, photo), scored(first, photo)
    assert here["model_version"] == there["model_version"] == result.directory
    assert here["look_alike_percent"] == there["look_alike_percent"]
    # The version's report page on the second host reads its files from the store too.
    admin = second.test_client()
    assert admin.post("/admin/login", data=ADMIN).status_code == 302
    report = admin.get(f"/admin/models/{result.version_id}").get_data(as_text=True)
    assert "is missing from" not in report and "scikit-learn" in report
    assert admin.get(f"/admin/models/{result.version_id}/mean-face.png").status_code == 200


def test_a_version_damaged_in_the_store_is_refused_and_nothing_is_written(
    second, store, astronaut_rgb
):
    active = model_store.get_active_model_version(store)
    with transaction(store):
        store.execute(
            "UPDATE model_files SET content = ? WHERE model_version_id = ? AND name = ?",
            (b"not the model that was trained", active["id"], "model.joblib"),
        )
    visitor = second.test_client()
    answer = post_photo(visitor, jpeg(astronaut_rgb))
    assert answer.status_code == 503
    assert "its model cannot be loaded" in answer.get_json()["error"]
    health = visitor.get("/healthz")
    assert health.status_code == 503
    problem = health.get_json()["model_problem"]
    assert "damaged in the store" in problem and "model.joblib" in problem
    assert list(Path(second.config["MODELS_DIR"]).iterdir()) == []  # nothing half-written


def test_an_incomplete_folder_is_replaced_from_the_store(first, second, store, astronaut_rgb):
    directory = model_store.get_active_model_version(store)["directory"]
    folder = Path(second.config["MODELS_DIR"]) / directory
    folder.mkdir()
    (folder / "version.json").write_text("{}")  # a copy cut short before model.joblib
    photo = jpeg(astronaut_rgb)
    assert scored(second, photo)["look_alike_percent"] == scored(first, photo)["look_alike_percent"]
    for name in FILES:
        assert (folder / name).read_bytes() == (
            Path(first.config["MODELS_DIR"]) / directory / name
        ).read_bytes()
    assert hidden_entries(second) == []


def test_versions_trained_before_still_load_from_the_folder_and_can_be_published(
    first, second, store, astronaut_rgb
):
    versions = sorted(v["id"] for v in model_store.list_model_versions(store))
    for version in model_store.list_model_versions(store):
        forget_model_files(first, version["directory"])
    photo = jpeg(astronaut_rgb)
    assert scored(first, photo)["look_alike_percent"] >= 50  # the folder is enough here
    answer = post_photo(second.test_client(), photo)
    assert answer.status_code == 503  # the other host has nowhere to read it from
    problem = second.test_client().get("/healthz").get_json()["model_problem"]
    assert "missing" in problem and "not in the store" in problem

    assert publish_model_files(store, first.config["MODELS_DIR"]) == versions
    assert publish_model_files(store, first.config["MODELS_DIR"]) == []  # once only
    for version in model_store.list_model_versions(store):
        folder = Path(first.config["MODELS_DIR"]) / version["directory"]
        kept = model_store.model_files(store, version["directory"])
        assert {row["name"]: bytes(row["content"]) for row in kept} == {
            name: (folder / name).read_bytes() for name in FILES
        }
        assert all(row["sha256"] == hashlib.sha256(row["content"]).hexdigest() for row in kept)
    assert scored(second, photo)["look_alike_percent"] == scored(first, photo)["look_alike_percent"]


def test_the_target_picture_is_published_when_shown_or_chosen_and_missing_is_404(
    first, second, store
):
    with transaction(store):
        store.execute("DELETE FROM published_pictures")
    visitor, picture = second.test_client(), target_png(first, store)
    assert visitor.get("/target-picture").status_code == 404  # nowhere on this host
    assert 'src="/target-picture"' not in visitor.get("/").get_data(as_text=True)

    assert first.test_client().get("/target-picture").data == picture  # from its file
    assert visitor.get("/target-picture").data == picture  # published as it was shown

    with transaction(store):
        store.execute("DELETE FROM published_pictures")
    chosen = publish_target_picture(store, first.config["CROPS_DIR"], active_examples(store))
    assert chosen == target_picture(store, active_examples(store))["id"]
    assert visitor.get("/target-picture").data == picture

    other = store.execute(
        "SELECT id, image_file FROM crops WHERE label = 'target' AND id <> ? ORDER BY id DESC",
        (chosen,),
    ).fetchone()
    admin = first.test_client()
    assert admin.post("/admin/login", data=ADMIN).status_code == 302
    assert admin.post(f"/admin/crops/{other['id']}/target-picture").status_code == 302
    expected = (Path(first.config["CROPS_DIR"]) / other["image_file"]).read_bytes()
    assert visitor.get("/target-picture").data == expected
