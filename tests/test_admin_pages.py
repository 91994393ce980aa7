"""Rough edges of the admin pages: commands that work as printed, the extraction form's
number fields, one name per video, and a Retrain form that hides what its features
ignore."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import create_admin, log_in
from webapp import PROJECT_ROOT
from webapp.context import get_db
from webapp.operations.extraction import extract_faces, shown_name
from webapp.store import jobs as job_store
from webapp.store.videos import list_videos
from webapp.vision.video import Sampling

# The store and API on both engines: SQLite, and a real PostgreSQL server.
pytestmark = pytest.mark.usefixtures("database")

BARE_FLASK = re.compile(r"(?<!\.venv/bin/)\bflask --app\b")


@pytest.fixture
def admin(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    create_admin(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    return app, client


def test_every_command_a_page_names_works_as_printed():
    """A hint names `.venv/bin/flask --app webapp ...` (what ./run.sh installs), never a
    bare `flask`, which is not on the PATH of a fresh install."""
    for template in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        assert not BARE_FLASK.search(text), template.name
    for module in sorted((PROJECT_ROOT / "webapp").rglob("*.py")):
        for line in module.read_text().splitlines():
            if "flask --app" in line and not line.strip().startswith(('"""', "#", "``")):
                assert not BARE_FLASK.search(line), f"{module.name}: {line.strip()}"


def test_the_pages_name_working_commands(make_app, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=False)
    login = app.test_client().get("/admin/login").get_data(as_text=True)
    assert "<code>.venv/bin/flask --app webapp create-admin NAME</code>" in login
    photos = tmp_path / "photos"
    for folder in ("0", "1"):
        (photos / folder).mkdir(parents=True)
    none_yet = app.test_cli_runner().invoke(args=["evaluate", str(photos)])
    assert "`.venv/bin/flask --app webapp train`" in none_yet.output
    create_admin(app)
    client = app.test_client()
    log_in(client)
    index = client.get("/admin/").get_data(as_text=True)
    assert "<code>.venv/bin/flask --app webapp extract MOVIE.mp4</code>" in index
    assert "<code>.venv/bin/flask --app webapp import-folders DIR</code>" in index


def test_the_extraction_form_steps_whole_numbers_and_hundredths(admin):
    _, client = admin
    page = client.get("/admin/extract").get_data(as_text=True)
    assert 'step="None"' not in page
    for name in ("offset", "every", "cap", "seed", "size"):
        (tag,) = set(re.findall(rf'<input[^>]*name="{name}"[^>]*>', page))
        assert 'type="number"' in tag and 'step="1"' in tag, tag
    (tag,) = set(re.findall(r'<input[^>]*name="min_face"[^>]*>', page))
    assert 'step="0.01"' in tag and 'value="0.12"' in tag


def test_a_video_keeps_one_name_whichever_way_it_was_last_extracted(tmp_path, face_video, app):
    folder = tmp_path / "videos"
    folder.mkdir()
    uploaded = folder / "upload-20261128-101010-a1b2c3-dev_movie.avi"
    shutil.copy(face_video, uploaded)
    assert shown_name(uploaded) == "dev_movie.avi"
    assert shown_name(face_video) == "face.avi"
    sampling = Sampling(every=0, cap=4, seed=1)
    with app.app_context():
        conn, crops = get_db(), app.config["CROPS_DIR"]
        first = extract_faces(conn, crops, uploaded, sampling, name="dev movie.avi")
        assert first.video_name == "dev movie.avi"
        # The same file from the videos folder, then the same movie from the command line:
        again = extract_faces(conn, crops, uploaded, sampling)
        other = extract_faces(conn, crops, face_video, sampling)
        assert again.video_name == other.video_name == "dev movie.avi"
        (video,) = list_videos(conn)
        assert video["name"] == "dev movie.avi" and video["path"] == str(face_video.resolve())


def test_an_unknown_upload_in_the_folder_is_shown_under_its_original_name(
    tmp_path, face_video, app
):
    uploaded = tmp_path / "upload-20261128-101010-a1b2c3-dev_movie.avi"
    shutil.copy(face_video, uploaded)
    with app.app_context():
        summary = extract_faces(
            get_db(), app.config["CROPS_DIR"], uploaded, Sampling(every=0, cap=2, seed=1)
        )
    assert summary.video_name == "dev_movie.avi"


def test_the_retrain_form_hides_the_preset_for_features_that_ignore_it(admin, monkeypatch):
    app, client = admin
    page = client.get("/admin/dashboard").get_data(as_text=True)
    assert 'data-presetless="face-embeddings"' in page
    assert 'id="preset-field" data-preset-field' in page and "retrain.js" in page
    assert (PROJECT_ROOT / "static" / "retrain.js").is_file()

    started: list[dict] = []

    def start_job(settings, kind, params=None, created_by=None):
        started.append(params)
        with app.app_context():
            return job_store.create_job(get_db(), kind, params, created_by)

    monkeypatch.setattr("webapp.web.helpers.start_job", start_job)
    monkeypatch.setattr("webapp.web.dashboard.extractor_problems", lambda: dict.fromkeys(
        ["eigenfaces", "face-embeddings"]))  # fmt: skip
    client.post("/admin/retrain", data={"preset": "seed", "extractor": "face-embeddings"})
    assert started == [{"extractor": "face-embeddings"}]  # no preset it would not use
    with app.app_context():
        job_store.cancel_job(get_db(), job_store.recent_jobs(get_db())[0]["id"])
    client.post("/admin/retrain", data={"preset": "seed", "extractor": "eigenfaces"})
    assert started[1] == {"extractor": "eigenfaces", "preset": "seed"}


def test_a_label_page_without_crops_points_to_extract(admin):
    _, client = admin
    page = client.get("/admin/label").get_data(as_text=True)
    no_crops = page[page.index('id="no-crops"') :]
    assert not re.match(r'id="no-crops"[^>]*hidden', no_crops)
    assert 'href="/admin/extract"' in no_crops[: no_crops.index("</div>")]


def test_a_label_page_with_everything_labelled_offers_retrain(admin_client, labelling_app):
    from webapp.store.labels import set_labels

    with labelling_app.app_context():
        ids = [row["id"] for row in get_db().execute("SELECT id FROM crops")]
        set_labels(get_db(), 1, dict.fromkeys(ids, "not_target"))
    page = admin_client.get("/admin/label").get_data(as_text=True)
    assert re.search(r'id="no-crops" class="card"\s+hidden', page)
    done = page[page.index('id="all-done"') :]
    assert not re.match(r'id="all-done"[^>]*hidden', done)
    form = done[: done.index("</form>")]
    assert 'action="/admin/retrain"' in form and 'name="csrf_token"' in form
    assert Path(PROJECT_ROOT / "templates" / "admin" / "label.html").is_file()
