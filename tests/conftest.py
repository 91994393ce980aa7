"""Shared fixtures: every test gets its own instance folder, store and models folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.learn_data import SMALL_SEARCH, fill_store
from webapp import create_app
from webapp.operations.admins import hash_password
from webapp.operations.extraction import extract_faces
from webapp.operations.training import train_from_store
from webapp.store import users
from webapp.store.db import open_store
from webapp.store.labels import set_labels
from webapp.vision import cv2
from webapp.vision.video import Sampling

# A new install trains with the best extractor available (face-embeddings when dlib is
# installed). Most tests are about the training machinery, on small generated faces, and
# were written for eigenfaces: pin that setting here; tests of face embeddings and of the
# default choose explicitly (test_embeddings.py).
os.environ.setdefault("LOOKALIKE_EXTRACTOR", "eigenfaces")


# --- The two engines: SQLite (the default) and a real PostgreSQL server ---


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster for the session (tests/postgres.py), started on
    first use."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    from webapp.store.postgresql import close_pools

    close_pools()
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch):
    """Run the test once on each engine. On PostgreSQL the test gets a new database of its
    own and ``LOOKALIKE_DATABASE_URL`` names it, so every app, command and job worker the
    test starts uses it; yields that URL (None on SQLite). Modules whose tests must hold on
    both engines say ``pytestmark = pytest.mark.usefixtures("database")``."""
    if request.param == "sqlite":
        yield None
        return
    url = request.getfixturevalue("empty_database")
    monkeypatch.setenv("LOOKALIKE_DATABASE_URL", url)
    yield url


@pytest.fixture
def empty_database(postgres_server):
    """A new, empty PostgreSQL database of the session's server (whatever engine the test
    otherwise runs on); its URL, with the password."""
    from webapp.store.postgresql import close_pools

    url = postgres_server.new_database()
    yield url
    close_pools()  # the connections of the test's apps to it, before it is dropped
    postgres_server.drop_database(url)


@pytest.fixture
def store_target(database, tmp_path) -> str:
    """What ``open_store`` takes for this test's engine: the URL, or a SQLite file path."""
    return database or str(tmp_path / "store.sqlite3")


def new_app(root: Path, **overrides):
    """An app on ``root/instance`` and ``root/models`` with the test settings: the one
    way tests build an app (the ``make_app`` fixture, and session fixtures that cannot use
    it)."""
    return create_app(
        {
            "TESTING": True,
            "INSTANCE": str(root / "instance"),
            "MODELS_DIR": str(root / "models"),
            **overrides,
        }
    )


@pytest.fixture
def make_app(tmp_path: Path):
    """``make_app(root=tmp_path, **overrides)``: a new app with these settings."""
    return lambda root=None, **overrides: new_app(root or tmp_path, **overrides)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """A real photo with one frontal face (scikit-image's astronaut, Eileen Collins)."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """Write BGR frames as an MJPG AVI (every OpenCV build can write and read it)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def face_and_blank_frames(face: np.ndarray, count: int, face_frames: set[int]) -> list[np.ndarray]:
    """``count`` frames of the face's size: the face (shifted a little each time) where the
    index is in ``face_frames``, an empty grey picture elsewhere."""
    blank = np.full_like(face, 128)
    return [np.roll(face, i % 7, axis=1) if i in face_frames else blank for i in range(count)]


@pytest.fixture(scope="session")
def face_video(tmp_path_factory, astronaut_bgr) -> Path:
    """A 60-frame video: frames 0-29 show the astronaut's face, 30-59 nothing."""
    frames = face_and_blank_frames(astronaut_bgr, 60, set(range(30)))
    return write_video(tmp_path_factory.mktemp("video") / "face.avi", frames)


@pytest.fixture(scope="session")
def blank_video(tmp_path_factory, astronaut_bgr) -> Path:
    """A 30-frame video with no face at all."""
    frames = face_and_blank_frames(astronaut_bgr, 30, set())
    return write_video(tmp_path_factory.mktemp("video") / "blank.avi", frames)


# --- Labelling, admins, datasets ---

ADMIN_PASSWORD = "correct horse battery staple"


def create_admin(app, name: str = "alice", password: str = ADMIN_PASSWORD) -> int:
    """Add an admin straight through the store (the CLI is tested on its own)."""
    from webapp.context import get_db
    from webapp.operations.admins import hash_password
    from webapp.store import users

    with app.app_context():
        return users.create_user(get_db(), name, hash_password(password))


def log_in(client, name: str = "alice", password: str = ADMIN_PASSWORD, csrf_token: str = ""):
    data = {"name": name, "password": password}
    if csrf_token:
        data["csrf_token"] = csrf_token
    return client.post("/admin/login", data=data)


@pytest.fixture(scope="session")
def extracted_instance(tmp_path_factory, face_video) -> Path:
    """An instance folder holding the crops of ``face_video`` (extracted once per session;
    tests copy it)."""
    from webapp.context import get_db
    from webapp.operations.extraction import extract_faces
    from webapp.vision.video import Sampling

    root = tmp_path_factory.mktemp("extracted")
    folder = root / "instance"
    app = new_app(root, DATABASE_URL=None)  # always SQLite; copied to PostgreSQL by tests
    with app.app_context():
        extract_faces(
            get_db(), app.config["CROPS_DIR"], face_video, Sampling(every=0, cap=60, seed=1)
        )
    return folder


def labelling_app_for(tmp_path: Path, extracted_instance: Path, **config):
    """A fresh app on a copy of the extracted instance, with admins alice and bob."""
    import shutil

    # Not tmp_path / "instance": that is the plain ``app`` fixture's, and a test may use both.
    instance = tmp_path / "labelling-instance"
    shutil.copytree(extracted_instance, instance)
    url = os.environ.get("LOOKALIKE_DATABASE_URL")
    if url:  # the test runs on PostgreSQL (the ``database`` fixture): the same rows there
        copy_sqlite_store(instance / "lookalike.sqlite3", url)
    app = new_app(tmp_path, INSTANCE=str(instance), **config)
    create_admin(app, "alice")
    create_admin(app, "bob")
    return app


def copy_sqlite_store(path: Path, url: str) -> None:
    """Copy a SQLite store into the test's PostgreSQL database at ``url``, unless an app of
    the same test filled it already (apps of one test share its database, as hosts do)."""
    from webapp.store.copy import copy_store, count_rows

    source, target = open_store(path), open_store(url)
    try:
        if not any(count_rows(target).values()):
            copy_store(source, target)
    finally:
        source.close()
        target.close()


@pytest.fixture
def labelling_app(tmp_path, extracted_instance):
    """Crops from ``face_video``, admins alice and bob, CSRF checks off (tested apart)."""
    return labelling_app_for(tmp_path, extracted_instance, WTF_CSRF_ENABLED=False)


@pytest.fixture
def admin_client(labelling_app):
    """A client logged in as alice."""
    client = labelling_app.test_client()
    assert log_in(client).status_code == 302
    return client


class AuthActions:
    """Log an admin in and out through the login form, as a browser would."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, name: str = "alice", password: str = ADMIN_PASSWORD, csrf_token: str = ""):
        return log_in(self._client, name, password, csrf_token)

    def logout(self):
        return self._client.post("/admin/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def log_in_as():
    """``log_in_as(client, name="alice", password=..., csrf_token="")``: post the login form."""
    return log_in


@pytest.fixture
def new_labelling_app(tmp_path, extracted_instance):
    """``new_labelling_app(**config)``: like ``labelling_app`` with other settings."""
    return lambda **config: labelling_app_for(tmp_path, extracted_instance, **config)


# --- The public page ---


@pytest.fixture(scope="session")
def trained_instance(tmp_path_factory, face_video) -> Path:
    """An instance with two trained model versions (the second active): the target's
    crops extracted from ``face_video`` (the astronaut) exactly as a movie's would be,
    everyone else from scikit-image's LFW faces. Tests copy it."""
    root = tmp_path_factory.mktemp("trained")
    crops = root / "instance" / "crops"
    conn = open_store(root / "instance" / "lookalike.sqlite3")
    extract_faces(conn, crops, face_video, Sampling(every=0, cap=60, seed=1))
    admin = users.create_user(conn, "alice", hash_password("correct horse battery"))
    target_ids = [row[0] for row in conn.execute("SELECT id FROM crops")]
    set_labels(conn, admin, dict.fromkeys(target_ids, "target"))
    fill_store(conn, crops, n_target=0, n_other=60, size=48)
    for _ in range(2):
        train_from_store(
            conn, root / "instance" / "crops", root / "models", face_size=48, space=SMALL_SEARCH
        )
    conn.close()
    return root


def app_on(tmp_path: Path, source: Path | None, **config):
    """An app on a copy of ``source`` (an instance and models folder, e.g.
    ``trained_instance``), or on empty folders; CSRF off and the active model re-checked on
    every request unless ``config`` says otherwise."""
    if source is not None:
        shutil.copytree(source, tmp_path / "copy")
        root = tmp_path / "copy"
        url = os.environ.get("LOOKALIKE_DATABASE_URL")
        if url:  # the test runs on PostgreSQL (the ``database`` fixture): the same rows there
            copy_sqlite_store(root / "instance" / "lookalike.sqlite3", url)
    else:
        root = tmp_path / "empty"
    return new_app(root, **{"WTF_CSRF_ENABLED": False, "MODEL_CHECK_SECONDS": 0, **config})


def forget_model_files(app, directory: str) -> None:
    """Delete a version's files from the app's store, as for a version trained before the
    store kept them: then only the models folder has them."""
    from webapp.store.db import transaction

    conn = open_store(app.config["DATABASE"])
    try:
        with transaction(conn):
            conn.execute(
                "DELETE FROM model_files WHERE model_version_id IN"
                " (SELECT id FROM model_versions WHERE directory = ?)",
                (directory,),
            )
    finally:
        conn.close()


@pytest.fixture
def app_with_model(tmp_path, trained_instance):
    """A copy of ``trained_instance`` served by a new app (CSRF off, models re-checked on
    every request): what the public page's tests score with."""
    return app_on(tmp_path, trained_instance)


@pytest.fixture
def public(app_with_model):
    """A visitor's client of ``app_with_model``."""
    return app_with_model.test_client()


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture
def page():
    """A page in headless Debian chromium, desktop-sized (browser tests only)."""
    from tests.browser import browser_page

    with browser_page(1000, 900) as page:
        yield page
