"""Results people can trust: a worse version never goes live unasked, reports say what they
know (intervals, warnings, a verdict), and face embeddings train from one crop of each."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import create_admin, log_in
from tests.learn_data import SMALL_SEARCH, fill_store
from webapp.context import get_db
from webapp.learn.model import SearchSpace, train
from webapp.learn.verdict import wilson_interval
from webapp.operations.training import TrainingRefused, _one_per_frame, train_from_store
from webapp.store import models as model_store
from webapp.store.db import open_store

# One eigenface and a kernel so narrow that every face is a stranger: a bad model.
BAD_SEARCH = SearchSpace(n_components=(1,), C=(0.01,), gamma_factors=(1000.0,))


@pytest.fixture
def store(tmp_path):
    conn = open_store(tmp_path / "instance" / "lookalike.sqlite3")
    fill_store(conn, tmp_path / "crops", 16, 40)
    yield conn
    conn.close()


def _train(store, tmp_path, space, **options):
    return train_from_store(
        store, tmp_path / "crops", tmp_path / "models", face_size=48, space=space, **options
    )


def _f1(result) -> float:
    return result.report["activation"]["new"]["f1"]


def test_the_first_version_goes_live(store, tmp_path):
    first = _train(store, tmp_path, BAD_SEARCH)
    assert first.activated and "the first version" in first.report["activation"]["reason"]
    assert model_store.get_active_model_version(store)["id"] == first.version_id


def test_a_worse_version_is_kept_inactive_with_both_figures(store, tmp_path):
    good = _train(store, tmp_path, SMALL_SEARCH)
    worse = _train(store, tmp_path, BAD_SEARCH)
    assert not worse.activated
    decision = worse.report["activation"]
    assert decision["reason"].startswith(f"worse than the active version {good.version_id}")
    assert decision["active_version_id"] == good.version_id
    assert decision["new"]["f1"] < decision["active"]["f1"]
    assert decision["new"]["crops"] == decision["active"]["crops"] > 0  # the same crops
    assert model_store.get_active_model_version(store)["id"] == good.version_id
    assert len(model_store.list_model_versions(store)) == 2  # kept, not thrown away


def test_a_better_version_replaces_a_worse_one(store, tmp_path):
    bad = _train(store, tmp_path, BAD_SEARCH)
    better = _train(store, tmp_path, SMALL_SEARCH)
    assert better.activated and _f1(better) > better.report["activation"]["active"]["f1"]
    assert model_store.get_active_model_version(store)["id"] == better.version_id != bad.version_id


def test_an_equal_version_goes_live(store, tmp_path):
    _train(store, tmp_path, SMALL_SEARCH)
    again = _train(store, tmp_path, SMALL_SEARCH)  # same crops, same split: the same model
    assert again.activated and "at least as good" in again.report["activation"]["reason"]


def test_always_and_never_are_obeyed(store, tmp_path):
    good = _train(store, tmp_path, SMALL_SEARCH)
    forced = _train(store, tmp_path, BAD_SEARCH, activate="always")
    assert forced.activated
    assert model_store.get_active_model_version(store)["id"] == forced.version_id
    held = _train(store, tmp_path, SMALL_SEARCH, activate="never")
    assert not held.activated and "never" in held.report["activation"]["reason"]
    assert model_store.get_active_model_version(store)["id"] == forced.version_id
    with pytest.raises(TrainingRefused, match="activate must be one of"):
        _train(store, tmp_path, SMALL_SEARCH, activate="sometimes")
    assert good.version_id != forced.version_id


def test_train_command_reports_activated_and_why(make_app):
    app = make_app(FACE_SIZE=48)
    with app.app_context():
        fill_store(get_db(), app.config["CROPS_DIR"], 16, 40)
    runner = app.test_cli_runner()
    first = json.loads(runner.invoke(args=["train", "--json"]).output)
    assert first["activated"] is True and first["activation_reason"]
    kept = runner.invoke(args=["train", "--json", "--activate", "never"])
    result = json.loads(kept.output)
    assert result["activated"] is False and "never" in result["activation_reason"]
    plain = runner.invoke(args=["train", "--activate", "never"])
    assert "was kept inactive: kept inactive as asked (never)" in plain.output
    assert "Verdict: " in plain.output and "Validation: 14 crops held out" in plain.output
    refused = runner.invoke(args=["train", "--activate", "maybe"])
    assert refused.exit_code == 2 and "'maybe' is not one of" in refused.output


def test_the_dashboard_shows_a_kept_version_beside_the_active_one(make_app):
    app = make_app(FACE_SIZE=48, WTF_CSRF_ENABLED=False)
    create_admin(app)
    with app.app_context():
        db = get_db()
        fill_store(db, app.config["CROPS_DIR"], 16, 40)
        crops, models = app.config["CROPS_DIR"], app.config["MODELS_DIR"]
        good = train_from_store(db, crops, models, face_size=48, space=SMALL_SEARCH)
        worse = train_from_store(db, crops, models, face_size=48, space=BAD_SEARCH)
    client = app.test_client()
    assert log_in(client).status_code == 302
    page = client.get("/admin/dashboard").get_data(as_text=True)
    assert f"Version {worse.version_id} was kept inactive" in page
    assert f"Active: version {good.version_id}" in page
    assert f"Activate version {worse.version_id} anyway" in page
    report = client.get(f"/admin/models/{worse.version_id}").get_data(as_text=True)
    assert "Kept inactive: worse than the active version" in report
    activated = client.post(f"/admin/models/{worse.version_id}/activate")
    assert activated.status_code == 302
    with app.app_context():
        assert model_store.get_active_model_version(get_db())["id"] == worse.version_id
    assert "was kept inactive" not in client.get("/admin/dashboard").get_data(as_text=True)


# --- Honest reports ---


def test_wilson_interval_is_wide_for_three_of_three():
    low, high = wilson_interval(3, 3)
    assert round(low, 3) == 0.439 and high == 1.0
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(95, 100)
    assert 0.88 < low < 0.95 < high < 0.99


def test_a_report_on_few_target_crops_warns_and_says_to_label_more(store, tmp_path):
    result = _train(store, tmp_path, SMALL_SEARCH)
    report = result.report
    support = report["classes"]["target"]["support"]
    assert support == 4  # a quarter of 16
    assert any(w.startswith("only 4 target crops could be validated") for w in report["warnings"])
    assert report["verdict"]["publish"] is False
    assert report["verdict"]["text"].startswith("Label more target crops")
    low, high = report["intervals"]["target"]["recall"]
    assert 0 <= low < high <= 1
    words = " ".join(report["parameters_in_words"])
    assert "PCA keeps the" in words and "SVM penalty C" in words and "Calibration slope" in words


def test_enough_good_crops_get_a_publish_verdict(tmp_path):
    conn = open_store(tmp_path / "instance" / "lookalike.sqlite3")
    fill_store(conn, tmp_path / "crops", 48, 96)
    report = _train(conn, tmp_path, SMALL_SEARCH).report
    assert report["classes"]["target"]["support"] >= 10 and not report["warnings"]
    assert report["verdict"]["publish"] is report["verdict"]["text"].startswith("Good enough")


def test_examples_come_from_different_shots():
    scored = [
        {"crop_id": i, "confidence": 100 - i} for i in range(1, 9)
    ]  # crops 1-4 are one frame, 5-8 four others
    frames = {i: ("video", 1, 10) if i <= 4 else ("video", 1, 10 + i) for i in range(1, 9)}
    chosen = _one_per_frame(scored, frames)
    assert [item["crop_id"] for item in chosen] == [1, 5, 6, 7]


# --- Few-shot: face descriptors recognise a person from one photo ---


def _descriptors(n_target: int, n_other: int, seed: int = 0) -> tuple[list, list[int]]:
    """Kept-descriptor stand-ins in dlib's metric: the target's within 0.3 of one point,
    everyone else's far apart (as different people are, over 0.6)."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0, 0.1, 128)
    target = [centre + rng.normal(0, 0.02, 128) for _ in range(n_target)]
    others = [rng.normal(0, 0.1, 128) for _ in range(n_other)]
    vectors = [v.astype(np.float32) for v in target + others]
    return vectors, [1] * n_target + [0] * n_other


def test_face_embeddings_train_from_one_target_crop():
    vectors, labels = _descriptors(1, 12)
    outcome = train(vectors, labels, extractor="face-embeddings", space=SMALL_SEARCH)
    report = outcome.report
    assert report["validation"]["method"] == "leave-one-out"
    assert report["validation"]["not_scored"] == 1  # the only target crop
    assert "1 crop could not be scored (a class with a single crop" in report["validation"]["text"]
    assert "1 crop could not be validated at all." in report["warnings"]
    assert report["verdict"]["publish"] is False
    same_person = vectors[0] + np.float32(0.01)
    percents = outcome.pipeline.predict_proba([same_person, vectors[5]])[:, 1]
    assert percents[0] > 0.5 > percents[1]


def test_one_crop_of_each_class_trains_and_says_nothing_was_validated():
    vectors, labels = _descriptors(1, 1)
    outcome = train(vectors, labels, extractor="face-embeddings", space=SMALL_SEARCH)
    assert outcome.report["validation"]["held_out"] == 0
    assert "2 crops could not be validated at all." in outcome.report["warnings"]
    assert outcome.report["accuracy"] is None and outcome.report["verdict"]["publish"] is False
    near = vectors[0] + np.float32(0.01)
    assert outcome.pipeline.predict_proba([near])[0, 1] > 0.5


def test_few_target_crops_are_validated_one_by_one():
    vectors, labels = _descriptors(3, 20)
    outcome = train(vectors, labels, extractor="face-embeddings", space=SMALL_SEARCH)
    validation = outcome.report["validation"]
    assert validation["method"] == "leave-one-out" and validation["held_out"] == 23
    assert outcome.report["classes"]["target"]["support"] == 3
    assert sorted(outcome.test_indices.tolist()) == list(range(23))


def test_one_target_crop_trains_from_the_store_with_face_embeddings(tmp_path, monkeypatch):
    pytest.importorskip("dlib")
    from webapp.learn.features import embeddings

    if embeddings.model_problem():
        pytest.skip(embeddings.model_problem())
    conn = open_store(tmp_path / "instance" / "lookalike.sqlite3")
    fill_store(conn, tmp_path / "crops", 1, 6, size=160)
    result = train_from_store(
        conn, tmp_path / "crops", tmp_path / "models", extractor="face-embeddings"
    )
    assert result.activated and result.report["data_counts"]["target"] == 1
    assert result.report["validation"]["method"] == "leave-one-out"


def test_eigenfaces_keep_their_minimum_and_say_what_trains_from_fewer(tmp_path):
    conn = open_store(tmp_path / "instance" / "lookalike.sqlite3")
    fill_store(conn, tmp_path / "crops", 3, 30)
    with pytest.raises(TrainingRefused) as refused:
        train_from_store(conn, tmp_path / "crops", tmp_path / "models", extractor="eigenfaces")
    message = str(refused.value)
    assert "label at least 8 of each for eigenfaces" in message
    assert "face-embeddings trains from fewer" in message


# --- Photos of the target from elsewhere ---


def test_the_dashboard_adds_photos_of_the_target_as_target_crops(make_app, astronaut_rgb):
    import io

    from PIL import Image

    app = make_app(WTF_CSRF_ENABLED=False)
    create_admin(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    photo = io.BytesIO()
    Image.fromarray(astronaut_rgb).save(photo, format="JPEG")
    response = client.post(
        "/admin/target-photos",
        data={
            "photos": [
                (io.BytesIO(photo.getvalue()), "eileen.jpg"),
                (io.BytesIO(b"not a picture"), "notes.txt"),
            ]
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "1 photo of the target added as target crops." in page
    assert "notes.txt: not added, not an image, or damaged." in page
    with app.app_context():
        rows = get_db().execute("SELECT id, label, source_name FROM crops").fetchall()
    assert [(row["label"], row["source_name"]) for row in rows] == [("target", "eileen.jpg")]
    crop_page = client.get(f"/admin/crops/{rows[0]['id']}").get_data(as_text=True)
    assert "Imported from the file <strong>eileen.jpg</strong>" in crop_page
    assert client.post("/admin/target-photos", data={}).status_code == 400


def test_evaluate_reads_what_import_reads_and_lists_every_file_it_skips(make_app, tmp_path):
    from PIL import Image
    from skimage import data

    app = make_app(FACE_SIZE=48)
    with app.app_context():
        fill_store(get_db(), app.config["CROPS_DIR"], 16, 40)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["train"]).exit_code == 0
    photos = tmp_path / "photos"
    (photos / "1" / "an album").mkdir(parents=True)
    (photos / "0").mkdir()
    astronaut = Image.fromarray(data.astronaut())
    astronaut.save(photos / "1" / "eileen.gif")  # import-folders reads GIF: so must evaluate
    astronaut.save(photos / "1" / "eileen.bmp")
    (photos / "0" / "notes.txt").write_text("not a photo")
    Image.new("RGB", (300, 300), "grey").save(photos / "0" / "wall.png")
    result = runner.invoke(args=["evaluate", str(photos), "--json"])
    evaluation = json.loads(result.output)
    scored = sorted(image["file"].rsplit("/", 1)[1] for image in evaluation["images"])
    assert scored == ["eileen.bmp", "eileen.gif"]
    reasons = {item["file"].rsplit("/", 1)[1]: item["reason"] for item in evaluation["skipped"]}
    assert reasons["an album"] == "a folder, not a file"
    assert reasons["wall.png"] == "no face found"
    assert reasons["notes.txt"].startswith("Only JPEG, PNG, WebP, BMP, PGM/PPM, TIFF and GIF")
    assert len(reasons) == 3
