"""The admin side of training: dashboard, Retrain jobs and their progress JSON, cancel,
model versions (report, pictures, activation and rollback), extraction from the admin
page (upload and videos folder), and the labelling queue's "least sure first" order."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import create_admin, forget_model_files, log_in
from tests.learn_data import SMALL_SEARCH, fill_store
from webapp.context import get_db
from webapp.jobs import wait_for_job
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS
from webapp.operations.training import train_from_store
from webapp.store import jobs as job_store
from webapp.store import labels
from webapp.store import models as model_store
from webapp.store.crop_scores import save_crop_scores, score_coverage

PNG = b"\x89PNG\r\n\x1a\n"


def admin_app(make_app, **config):
    """An app with small faces (48 px), CSRF checks off unless asked, and admin alice."""
    app = make_app(**{"FACE_SIZE": 48, "WTF_CSRF_ENABLED": False, **config})
    create_admin(app)
    return app


def fill(app, n_target: int = 12, n_other: int = 36, **options) -> None:
    with app.app_context():
        fill_store(get_db(), app.config["CROPS_DIR"], n_target, n_other, size=48, **options)


def train_now(app, **options) -> int:
    """Train in this process (quicker than a job) and return the new version's id."""
    with app.app_context():
        result = train_from_store(
            get_db(),
            app.config["CROPS_DIR"],
            app.config["MODELS_DIR"],
            face_size=48,
            space=SMALL_SEARCH,
            **options,
        )
    return result.version_id


def active_id(app) -> int | None:
    with app.app_context():
        active = model_store.get_active_model_version(get_db())
    return active["id"] if active else None


def csrf_token(html: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()


@pytest.fixture
def filled_app(make_app):
    """Labelled generated crops (and a few "not a face"), no model yet."""
    app = admin_app(make_app)
    fill(app, n_not_face=4)
    return app


@pytest.fixture
def alice(filled_app):
    """A alice of ``filled_app`` logged in as alice."""
    alice = filled_app.test_client()
    assert log_in(alice).status_code == 302
    return alice


@pytest.fixture
def csrf_app(make_app):
    filled_app = admin_app(make_app, WTF_CSRF_ENABLED=True)
    fill(filled_app)
    return filled_app


@pytest.fixture
def csrf_client(csrf_app):
    alice = csrf_app.test_client()
    assert log_in(alice, csrf_token=csrf_token(alice.get("/admin/login").data)).status_code == 302
    alice.token = csrf_token(alice.get("/admin/dashboard").data)
    return alice


def wait(filled_app, job_id: int) -> dict:
    job = wait_for_job(filled_app.extensions["lookalike.settings"], job_id, timeout=100)
    log = Path(filled_app.config["DATABASE"]).parent / "jobs" / f"job-{job_id}.log"
    assert job["status"] in ("done", "failed", "cancelled"), log.read_text()
    return job


def job_id_from(response) -> int:
    match = re.fullmatch(r"/admin/jobs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- Logged out, CSRF, bad ids ---

PAGES = [
    "/admin/dashboard",
    "/admin/models/",
    "/admin/models/1",
    "/admin/models/1/mean-face.png",
    "/admin/models/1/eigenfaces/0.png",
    "/admin/models/1/confusion.png",
    "/admin/jobs/1",
    "/admin/extract",
]
FORMS = [
    "/admin/retrain",
    "/admin/score",
    "/admin/jobs/1/cancel",
    "/admin/models/1/activate",
    "/admin/extract/folder",
    "/admin/extract/upload",
]


@pytest.mark.parametrize("url", PAGES + FORMS)
def test_every_page_and_form_needs_a_login(filled_app, url):
    alice = filled_app.test_client()
    response = alice.post(url) if url in FORMS else alice.get(url)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("method", "url"), [("get", "/api/admin/jobs/1"), ("post", "/api/admin/jobs/1/cancel")]
)
def test_the_jobs_api_answers_401_json_when_logged_out(filled_app, method, url):
    response = getattr(filled_app.test_client(), method)(url)
    assert response.status_code == 401 and response.get_json() == {
        "error": "log in as an admin first"
    }


@pytest.mark.parametrize(
    "url",
    [
        "/admin/jobs/999",
        "/admin/models/999",
        "/admin/models/999/mean-face.png",
        "/admin/models/999/eigenfaces/0.png",
        "/admin/models/999/confusion.png",
    ],
)
def test_unknown_ids_are_404(alice, url):
    response = alice.get(url)
    assert response.status_code == 404 and b"999" in response.data


def test_unknown_ids_are_404_in_the_api_and_forms(alice):
    assert alice.get("/api/admin/jobs/999").get_json() == {"error": "There is no job 999."}
    assert alice.post("/api/admin/jobs/999/cancel").status_code == 404
    assert alice.post("/admin/jobs/999/cancel").status_code == 404
    assert alice.post("/admin/models/999/activate").status_code == 404


@pytest.mark.parametrize("url", FORMS[:-1])
def test_forms_without_csrf_token_are_refused(csrf_client, csrf_app, url):
    response = csrf_client.post(url, data={"preset": "seed", "extractor": "eigenfaces"})
    assert response.status_code == 400 and b"CSRF" in response.data
    with csrf_app.app_context():
        assert job_store.recent_jobs(get_db()) == []


def test_cancel_api_without_csrf_header_is_refused(csrf_client, csrf_app):
    with csrf_app.app_context():
        job_id = job_store.create_job(get_db(), "train")
    assert csrf_client.post(f"/api/admin/jobs/{job_id}/cancel").status_code == 400
    response = csrf_client.post(
        f"/api/admin/jobs/{job_id}/cancel", headers={"X-CSRFToken": csrf_client.token}
    )
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"


# --- Dashboard and Retrain ---


def test_dashboard_shows_counts_no_model_and_the_retrain_choices(alice):
    html = alice.get("/admin/dashboard").data.decode()
    assert '<td id="count-crops">52 (52 imported)</td>' in html
    assert '<td id="count-target">12</td>' in html and '<td id="count-not-target">36</td>' in html
    assert '<td id="count-not-face">4</td>' in html and '<td id="count-unlabelled">0</td>' in html
    assert '<td id="count-videos">0</td>' in html
    assert "No model yet" in html and "No jobs yet." in html
    for preset in PRESETS:
        selected = " selected" if preset == DEFAULT_PRESET else ""
        assert f'<option{selected} value="{preset}">{preset}: ' in html
    assert '<option selected value="eigenfaces">eigenfaces: ' in html


@pytest.mark.timeout(120)
def test_retrain_runs_a_job_and_shows_the_report(alice, filled_app):
    response = alice.post("/admin/retrain", data={"preset": "seed", "extractor": "eigenfaces"})
    job_id = job_id_from(response)
    page = alice.get(f"/admin/jobs/{job_id}").data.decode()
    assert f'data-job-api="/api/admin/jobs/{job_id}"' in page and "training.js" in page
    job = wait(filled_app, job_id)
    assert job["status"] == "done" and job["params"] == {
        "preset": "seed",
        "extractor": "eigenfaces",
    }

    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    version_id = state["result"]["version_id"]
    assert state["status"] == "done" and state["finished"] and state["progress"] == 1.0
    assert state["result"]["version_url"] == f"/admin/models/{version_id}"
    assert active_id(filled_app) == version_id

    page = alice.get(f"/admin/jobs/{job_id}").data.decode()
    assert 'id="report"' in page and f"/admin/models/{version_id}/eigenfaces/0.png" in page
    assert "job-cancel" not in page  # nothing to cancel any more
    dashboard = alice.get("/admin/dashboard").data.decode()
    assert f'href="/admin/models/{version_id}">Version {version_id}</a>' in dashboard
    assert "preset seed" in dashboard and f'href="/admin/jobs/{job_id}"' in dashboard


def test_a_second_retrain_while_one_is_unfinished_is_told_so(alice, filled_app):
    with filled_app.app_context():
        running = job_store.create_job(get_db(), "train", {"preset": "seed"})
    response = alice.post("/admin/retrain", data={"preset": "equalize"}, follow_redirects=False)
    assert response.headers["Location"] == f"/admin/jobs/{running}"
    page = alice.get(response.headers["Location"]).data.decode()
    assert f"Training is already queued (job {running})" in page
    assert "wait for it to finish or cancel it" in page
    with filled_app.app_context():
        assert [job["id"] for job in job_store.recent_jobs(get_db())] == [running]


def test_retrain_refuses_an_unknown_preset_or_extractor(alice, filled_app):
    response = alice.post("/admin/retrain", data={"preset": "nope", "extractor": "eigenfaces"})
    assert response.status_code == 400 and b"preset" in response.data
    response = alice.post("/admin/retrain", data={"preset": "seed", "extractor": "nope"})
    assert response.status_code == 400 and b"extractor" in response.data
    with filled_app.app_context():
        assert job_store.recent_jobs(get_db()) == []


def test_job_progress_json_follows_the_store(alice, filled_app):
    with filled_app.app_context():
        db = get_db()
        job_id = job_store.create_job(db, "train", {"preset": "seed"})
        assert alice.get(f"/api/admin/jobs/{job_id}").get_json()["status"] == "queued"
        job_store.claim_job(db, job_id, os.getpid())
        job_store.report_progress(db, job_id, 0.4, "searching: 10 components")
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert (state["status"], state["progress"], state["message"]) == (
        "running",
        0.4,
        "searching: 10 components",
    )
    assert state["finished"] is False and state["kind"] == "train" and state["result"] is None
    assert state["cancel_url"] == f"/api/admin/jobs/{job_id}/cancel"
    page = alice.get(f"/admin/jobs/{job_id}").data.decode()
    assert "40%" in page and "searching: 10 components" in page and "job-cancel" in page

    cancelled = alice.post(f"/api/admin/jobs/{job_id}/cancel").get_json()
    assert cancelled["status"] == "running" and cancelled["cancel_requested"] is True
    with filled_app.app_context():
        assert job_store.report_progress(get_db(), job_id, 0.5) is True  # the worker stops
        job_store.mark_cancelled(get_db(), job_id)
    assert alice.get(f"/api/admin/jobs/{job_id}").get_json()["status"] == "cancelled"
    again = alice.post(f"/api/admin/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already finished" in again.get_json()["error"]


def test_cancel_button_without_javascript(alice, filled_app):
    with filled_app.app_context():
        job_id = job_store.create_job(get_db(), "train")
    response = alice.post(f"/admin/jobs/{job_id}/cancel", follow_redirects=True)
    assert f"Job {job_id} is being cancelled." in response.data.decode()
    with filled_app.app_context():
        assert job_store.get_job(get_db(), job_id)["status"] == "cancelled"
    response = alice.post(f"/admin/jobs/{job_id}/cancel", follow_redirects=True)
    assert f"Job {job_id} had already finished." in response.data.decode()


@pytest.mark.timeout(120)
def test_a_failed_training_job_shows_its_error_and_keeps_the_old_model(alice, filled_app):
    good = train_now(filled_app)
    with filled_app.app_context():
        get_db().execute("UPDATE crops SET label = 'not_face' WHERE label = 'target'")
    job_id = job_id_from(alice.post("/admin/retrain", data={"preset": "seed"}))
    assert wait(filled_app, job_id)["status"] == "failed"
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert state["error"].startswith("not enough labelled crops to train: 0 target and 36")
    page = alice.get(f"/admin/jobs/{job_id}").data.decode()
    assert "not enough labelled crops to train" in page
    assert "the active model is unchanged" in page and f">version {good}</a>" in page
    assert active_id(filled_app) == good
    dashboard = alice.get("/admin/dashboard").data.decode()
    assert "failed" in dashboard and f"Version {good}</a>" in dashboard


# --- Model versions ---


def test_versions_page_lists_scores_and_marks_the_active_one(alice, filled_app):
    first = train_now(filled_app, preset="seed")
    second = train_now(filled_app)
    html = alice.get("/admin/models/").data.decode()
    assert html.index(f'id="version-{second}"') < html.index(f'id="version-{first}"')
    active_row = html[html.index(f'id="version-{second}"') : html.index(f'id="version-{first}"')]
    assert (
        'class="active"' in active_row and '<span class="badge active">active</span>' in active_row
    )
    assert DEFAULT_PRESET in active_row and "eigenfaces" in active_row
    first_row = html[html.index(f'id="version-{first}"') :]
    assert f'action="/admin/models/{first}/activate"' in first_row and "seed" in first_row
    with filled_app.app_context():
        version = model_store.get_model_version(get_db(), second)
    accuracy = f"{100 * version['metrics']['accuracy']:.1f}%"
    assert accuracy in active_row and "12 / 36" in active_row


def test_activating_an_older_version_rolls_back_atomically(alice, filled_app):
    first, second = train_now(filled_app, preset="seed"), train_now(filled_app)
    response = alice.post(f"/admin/models/{first}/activate", follow_redirects=True)
    assert f"Model version {first} is now active" in response.data.decode()
    assert active_id(filled_app) == first
    alice.post(f"/admin/models/{second}/activate")
    assert active_id(filled_app) == second


def test_a_version_whose_files_are_gone_cannot_be_activated(alice, filled_app):
    first, second = train_now(filled_app, preset="seed"), train_now(filled_app)
    with filled_app.app_context():
        directory = model_store.get_model_version(get_db(), first)["directory"]
    shutil.rmtree(Path(filled_app.config["MODELS_DIR"]) / directory)
    forget_model_files(filled_app, directory)  # and not in the store either
    response = alice.post(f"/admin/models/{first}/activate")
    assert response.status_code == 409 and b"cannot be activated" in response.data
    assert active_id(filled_app) == second
    assert alice.get(f"/admin/models/{first}/mean-face.png").status_code == 404
    assert b"is missing from" in alice.get(f"/admin/models/{first}").data


def test_activation_with_csrf(csrf_client, csrf_app):
    first, second = train_now(csrf_app, preset="seed"), train_now(csrf_app)
    assert csrf_client.post(f"/admin/models/{first}/activate").status_code == 400
    assert active_id(csrf_app) == second
    page = csrf_client.get("/admin/models/").data
    response = csrf_client.post(
        f"/admin/models/{first}/activate", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302 and active_id(csrf_app) == first


def test_a_version_report_has_every_score_and_picture(alice, filled_app):
    version_id = train_now(filled_app)
    with filled_app.app_context():
        report = model_store.get_model_version(get_db(), version_id)["metrics"]
    html = alice.get(f"/admin/models/{version_id}").data.decode()
    for text in ("Precision", "Recall", "f1", "Support", "Accuracy", "ROC AUC", "Confusion matrix"):
        assert text in html
    assert "Cross-validated balanced accuracy" in html and "Best parameters" in html
    assert "n_components = 10" in html and f"{report['seconds']} s" in html
    assert "12 target, 36 not target" in html
    matrix = report["confusion_matrix"]["matrix"]
    assert f"<td>{matrix[1][1]}</td>" in html
    assert f'src="/admin/models/{version_id}/mean-face.png"' in html
    assert f'src="/admin/models/{version_id}/eigenfaces/7.png"' in html
    examples = report["examples"]
    assert {e["kind"] for e in examples} == {"best", "worst"}
    for example in examples:
        assert f'src="/admin/crops/{example["crop_id"]}/image.png"' in html
    assert "scikit-learn" in html
    for url in (
        f"/admin/models/{version_id}/mean-face.png",
        f"/admin/models/{version_id}/eigenfaces/0.png",
        f"/admin/models/{version_id}/eigenfaces/7.png",
        f"/admin/models/{version_id}/confusion.png",
        f"/admin/crops/{examples[0]['crop_id']}/image.png",
    ):
        response = alice.get(url)
        assert response.status_code == 200 and response.data.startswith(PNG), url
        assert response.mimetype == "image/png"
    assert alice.get(f"/admin/models/{version_id}/eigenfaces/8.png").status_code == 404
    assert alice.get(f"/admin/models/{version_id}/eigenfaces/-1.png").status_code == 404


# --- Extraction from the admin page ---


def upload(alice, video: Path, name: str = "face.avi", **options):
    data = {"every": "0", "cap": "60", "seed": "1", **options}
    data["video"] = (io.BytesIO(video.read_bytes()), name)
    return alice.post("/admin/extract/upload", data=data, content_type="multipart/form-data")


def videos_in(filled_app) -> list[str]:
    folder = Path(filled_app.config["VIDEOS_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.timeout(120)
def test_upload_a_video_over_the_global_limit_and_extract_it(make_app, face_video):
    # The filled_app-wide body limit is far below the video: only the upload route lifts it.
    filled_app = admin_app(make_app, MAX_CONTENT_LENGTH=4096)
    assert face_video.stat().st_size > 4096
    alice = filled_app.test_client()
    log_in(alice)
    assert alice.post("/admin/label", data={"decision": "x" * 5000}).status_code == 413
    response = upload(alice, face_video, name="../../etc/My Movie.avi", size="48")
    job_id = job_id_from(response)
    (stored,) = videos_in(filled_app)
    assert re.fullmatch(r"upload-\d{8}-\d{6}-[0-9a-f]{6}-My_Movie\.avi", stored), stored
    assert (Path(filled_app.config["VIDEOS_DIR"]) / stored).read_bytes() == face_video.read_bytes()
    job = wait(filled_app, job_id)
    assert job["status"] == "done", job["error"]
    assert job["params"]["video"] == str(Path(filled_app.config["VIDEOS_DIR"]) / stored)
    assert (job["params"]["every"], job["params"]["cap"], job["params"]["seed"]) == (0, 60, 1)
    assert job["params"]["size"] == 48 and job["params"]["min_face"] == 0.12
    assert job["result"]["crops_added"] > 0
    page = alice.get(f"/admin/jobs/{job_id}").data.decode()
    assert f"{job['result']['crops_added']} crops added" in page
    assert job["params"]["name"] == "My Movie.avi"  # the name on the admin's computer
    assert job["result"]["video_name"] == "My Movie.avi"
    dashboard = alice.get("/admin/dashboard").data.decode()
    assert '<td id="count-videos">1</td>' in dashboard and ">My Movie.avi</a>" in dashboard


def test_an_upload_over_the_limit_is_413_with_a_clear_message(make_app, face_video):
    filled_app = admin_app(make_app, MAX_VIDEO_UPLOAD_BYTES=2000)
    alice = filled_app.test_client()
    log_in(alice)
    response = upload(alice, face_video)
    assert response.status_code == 413
    text = response.data.decode()
    assert "larger than the upload limit of 2.0 KiB" in text and "videos folder" in text
    assert videos_in(filled_app) == []
    with filled_app.app_context():
        assert job_store.recent_jobs(get_db()) == []


def test_an_upload_that_is_not_a_video_is_refused_and_removed(alice, filled_app):
    response = alice.post(
        "/admin/extract/upload",
        data={"video": (io.BytesIO(b"not a video at all" * 100), "clip.mp4")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and b"clip.mp4 is not a video" in response.data
    assert videos_in(filled_app) == []


def test_an_upload_without_a_file_or_with_bad_options_is_refused(alice, filled_app, face_video):
    response = alice.post("/admin/extract/upload", data={"every": "5"})
    assert response.status_code == 400 and b"Choose a video file to upload." in response.data
    response = upload(alice, face_video, cap="0", size="2000")
    assert response.status_code == 400 and b"Number must be between" in response.data
    assert videos_in(filled_app) == []


def test_an_upload_without_csrf_token_is_refused(csrf_client, csrf_app, face_video):
    response = upload(csrf_client, face_video)
    assert response.status_code == 400 and b"The CSRF token is missing." in response.data
    assert videos_in(csrf_app) == []
    response = upload(csrf_client, face_video, csrf_token=csrf_client.token)
    assert response.status_code == 302
    assert len(videos_in(csrf_app)) == 1
    wait(csrf_app, job_id_from(response))


@pytest.mark.timeout(120)
def test_extract_a_video_chosen_from_the_videos_folder(alice, filled_app, face_video):
    folder = Path(filled_app.config["VIDEOS_DIR"])
    assert folder == Path(filled_app.instance_path) / "videos"
    folder.mkdir()
    shutil.copy(face_video, folder / "movie.avi")
    (folder / ".upload-1234.part").write_bytes(b"half")
    page = alice.get("/admin/extract").data.decode()
    assert '<option value="movie.avi"' in page and ".upload-1234" not in page
    for bad in ("../instance/lookalike.sqlite3", ".upload-1234.part", "nope.avi"):
        response = alice.post("/admin/extract/folder", data={"video": bad})
        assert response.status_code == 400 and b"Not a valid choice" in response.data
    response = alice.post("/admin/extract/folder", data={"video": "movie.avi", "every": "0"})
    job = wait(filled_app, job_id_from(response))
    assert job["status"] == "done" and job["params"]["video"] == str(folder / "movie.avi")
    assert job["params"]["every"] == 0 and job["params"]["cap"] == 500  # defaults as the command
    assert isinstance(job["params"]["seed"], int) and job["result"]["crops_added"] > 0


def test_a_second_extraction_is_told_so(alice, filled_app, face_video):
    folder = Path(filled_app.config["VIDEOS_DIR"])
    folder.mkdir()
    shutil.copy(face_video, folder / "movie.avi")
    with filled_app.app_context():
        running = job_store.create_job(get_db(), "extract", {"video": "x"})
    response = alice.post("/admin/extract/folder", data={"video": "movie.avi"})
    assert response.headers["Location"] == f"/admin/jobs/{running}"
    page = alice.get(response.headers["Location"]).data.decode()
    assert f"Extraction is already queued (job {running})" in page


# --- The labelling queue: least sure first ---


def test_the_queue_can_put_the_models_least_sure_crops_first(alice, filled_app):
    version_id = train_now(filled_app)
    fill(filled_app, 3, 3, seed=5)  # six more crops, then made unlabelled
    with filled_app.app_context():
        db = get_db()
        db.execute("UPDATE crops SET label = NULL WHERE id > 52")
        save_crop_scores(db, version_id, [(53, 2.0), (54, 97.0), (55, 55.0), (56, 40.0)])
        admin = 1
        assert labels.claim_next_crop(db, admin)["id"] == 53  # store order by default
        # This admin holds 53 now (shown, not decided): it stays first in any order.
        assert labels.claim_next_crop(db, admin, order="uncertain")["id"] == 53
        with pytest.raises(ValueError, match="unknown queue order"):
            labels.claim_next_crop(db, admin, order="random")
        assert score_coverage(db) == {"version_id": version_id, "unlabelled": 6, "scored": 4}

    with filled_app.app_context():
        get_db().execute("UPDATE crops SET claimed_by = NULL, claimed_until = NULL")
    page = alice.get("/admin/label?order=uncertain").data.decode()
    assert 'data-crop-id="55"' in page and "the model's least sure first" in page
    assert "has scored\n            4 of 6 unlabelled crops" in page
    nexts = alice.get("/api/admin/crops/next?exclude=55").get_json()["crop"]["id"]
    assert nexts == 56  # the session keeps the order for the page's script
    seen = [55, 56]
    for _ in range(4):
        exclude = ",".join(map(str, seen))
        seen.append(alice.get(f"/api/admin/crops/next?exclude={exclude}").get_json()["crop"]["id"])
    # 97% then 2%: the model is sure of those; 57 and 58 were never scored: last.
    assert seen == [55, 56, 54, 53, 57, 58]
    assert alice.get("/admin/label?order=sideways").status_code == 400
    with filled_app.app_context():
        get_db().execute("UPDATE crops SET claimed_by = NULL, claimed_until = NULL")
    assert 'data-crop-id="53"' in alice.get("/admin/label?order=store").data.decode()


def test_uncertain_order_without_scores_of_the_active_model_is_store_order(alice, filled_app):
    first = train_now(filled_app)
    fill(filled_app, 2, 2, seed=5)
    with filled_app.app_context():
        db = get_db()
        db.execute("UPDATE crops SET label = NULL WHERE id > 52")
        save_crop_scores(db, first, [(54, 50.0)])
        second = train_now(filled_app)  # scores of an older version no longer count
        assert labels.claim_next_crop(db, 1, order="uncertain")["id"] == 53
        assert score_coverage(db)["version_id"] == second


@pytest.mark.timeout(120)
def test_score_job_scores_the_unlabelled_crops_with_the_active_model(alice, filled_app):
    assert alice.post("/admin/score", follow_redirects=True).data.count(b"train one first") == 1
    version_id = train_now(filled_app)
    fill(filled_app, 3, 3, seed=5)
    with filled_app.app_context():
        get_db().execute("UPDATE crops SET label = NULL WHERE id > 52")
    dashboard = alice.get("/admin/dashboard").data.decode()
    assert "has scored <strong>0</strong> of the\n        6 unlabelled crops" in dashboard
    job = wait(filled_app, job_id_from(alice.post("/admin/score")))
    assert job["status"] == "done" and job["result"]["scored"] == 6
    with filled_app.app_context():
        assert score_coverage(get_db()) == {"version_id": version_id, "unlabelled": 6, "scored": 6}
        percents = [
            row[0] for row in get_db().execute("SELECT percent FROM crop_scores ORDER BY crop_id")
        ]
    assert len(percents) == 6 and all(0 <= p <= 100 for p in percents)
    page = alice.get(f"/admin/jobs/{job['id']}").data.decode()
    assert "6 unlabelled crops scored" in page and "/admin/label?order=uncertain" in page
