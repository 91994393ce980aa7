"""Training from the store, model versions in the store, and the train/evaluate commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skimage import data

from tests.learn_data import SMALL_SEARCH, fill_store
from webapp.learn.versions import load_version
from webapp.operations.training import MIN_CROPS_PER_CLASS, TrainingRefused, train_from_store
from webapp.store import models as model_store
from webapp.store.db import open_store
from webapp.vision import cv2


@pytest.fixture
def store(tmp_path):
    conn = open_store(tmp_path / "instance" / "lookalike.sqlite3")
    yield conn
    conn.close()


def _train(store, tmp_path, **options):
    return train_from_store(
        store, tmp_path / "crops", tmp_path / "models", face_size=48, space=SMALL_SEARCH, **options
    )


def test_training_records_and_activates_a_version(store, tmp_path):
    fill_store(store, tmp_path / "crops", 12, 36, n_not_face=10)
    result = _train(store, tmp_path)
    counts = result.report["data_counts"]
    assert (counts["target"], counts["not_target"]) == (12, 36)  # not_face left out
    assert counts["train"] + counts["test"] == 48
    active = model_store.get_active_model_version(store)
    assert active["id"] == result.version_id and active["directory"] == result.directory
    assert active["metrics"]["accuracy"] == result.report["accuracy"]
    assert active["extractor"] == "eigenfaces" and active["face_size"] == 48
    version = load_version(tmp_path / "models", result.directory)
    assert version.metadata["data_counts"] == counts
    examples = result.report["examples"]
    assert {e["kind"] for e in examples} == {"best", "worst"}
    assert all(0 <= e["percent"] <= 100 and isinstance(e["crop_id"], int) for e in examples)


def test_too_few_labelled_crops_is_refused_with_the_counts(store, tmp_path):
    fill_store(store, tmp_path / "crops", MIN_CROPS_PER_CLASS - 1, 30, n_not_face=20)
    message = (
        f"not enough labelled crops to train: {MIN_CROPS_PER_CLASS - 1} target and 30 not"
        f" target; label at least {MIN_CROPS_PER_CLASS} of each"
    )
    with pytest.raises(TrainingRefused, match=message):
        _train(store, tmp_path)
    assert model_store.list_model_versions(store) == []
    assert not (tmp_path / "models").exists()


def test_unknown_preset_is_refused(store, tmp_path):
    fill_store(store, tmp_path / "crops", 10, 20)
    with pytest.raises(TrainingRefused, match="unknown preset 'sharpen'"):
        _train(store, tmp_path, preset="sharpen")


def test_activation_is_atomic_and_any_version_can_be_rolled_back_to(store, tmp_path):
    fill_store(store, tmp_path / "crops", 10, 30)
    first = _train(store, tmp_path, preset="seed")
    second = _train(store, tmp_path)
    versions = model_store.list_model_versions(store)
    assert [v["id"] for v in versions] == [second.version_id, first.version_id]
    assert [v["is_active"] for v in versions] == [True, False]
    assert versions[1]["preset"] == "seed" and versions[1]["metrics"]["roc_auc"] is not None
    model_store.activate_model_version(store, first.version_id)
    assert model_store.get_active_model_version(store)["id"] == first.version_id
    with pytest.raises(model_store.ModelVersionNotFound):
        model_store.activate_model_version(store, 999)
    # The failed activation rolled back: still exactly one active version, the same one.
    actives = [v["id"] for v in model_store.list_model_versions(store) if v["is_active"]]
    assert actives == [first.version_id]


def test_a_failed_run_leaves_the_active_version_alone(store, tmp_path):
    fill_store(store, tmp_path / "crops", 10, 30)
    good = _train(store, tmp_path)
    # Every crop file disappears: the run fails part-way, after the count check.
    for png in (tmp_path / "crops" / "imports").glob("*.png"):
        png.unlink()
    with pytest.raises(TrainingRefused, match="0 target and 0 not target"):
        _train(store, tmp_path)
    assert model_store.get_active_model_version(store)["id"] == good.version_id
    assert len(model_store.list_model_versions(store)) == 1


@pytest.fixture
def training_app(make_app):
    return make_app(FACE_SIZE=48)


def _fill_app(app, n_target=12, n_other=36):
    conn = open_store(app.config["DATABASE"])
    try:
        fill_store(conn, app.config["CROPS_DIR"], n_target, n_other)
    finally:
        conn.close()


def test_train_command_json_and_text(training_app):
    _fill_app(training_app)
    runner = training_app.test_cli_runner()
    result = runner.invoke(args=["train", "--preset", "seed", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["preset"] == "seed" and report["data_counts"]["target"] == 12
    assert {"accuracy", "roc_auc", "classes", "confusion_matrix", "cv_score"} <= set(report)
    text = runner.invoke(args=["train"])
    assert text.exit_code == 0, text.output
    assert f"Model version {report['version_id'] + 1} (" in text.output
    assert "is now active" in text.output and "Confusion matrix" in text.output
    assert "Accuracy " in text.output and "ROC AUC" in text.output


def test_train_command_refusal_is_one_clear_line(training_app):
    _fill_app(training_app, n_target=2, n_other=30)
    result = training_app.test_cli_runner().invoke(args=["train"])
    assert result.exit_code == 1
    assert "Error: not enough labelled crops to train: 2 target and 30 not target" in result.output
    assert "Traceback" not in result.output


def _write_photos(folder: Path) -> None:
    """Photos with a face for DIR/1 (the astronaut) and DIR/0 (others), and one without."""
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    (folder / "1").mkdir(parents=True)
    (folder / "0").mkdir()
    cv2.imwrite(str(folder / "1" / "astronaut.png"), astronaut)
    cv2.imwrite(str(folder / "1" / "astronaut-small.jpg"), cv2.resize(astronaut, (256, 256)))
    cv2.imwrite(str(folder / "0" / "mirrored.png"), astronaut[:, ::-1])
    cv2.imwrite(str(folder / "0" / "wall.png"), cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2BGR))
    (folder / "0" / "notes.txt").write_text("not a photo")


def test_evaluate_command_scores_photos_with_the_active_model(training_app, tmp_path):
    runner = training_app.test_cli_runner()
    photos = tmp_path / "photos"
    _write_photos(photos)
    none_yet = runner.invoke(args=["evaluate", str(photos)])
    assert none_yet.exit_code == 1 and "no active model yet" in none_yet.output

    _fill_app(training_app)
    assert runner.invoke(args=["train"]).exit_code == 0
    result = runner.invoke(args=["evaluate", str(photos), "--json"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.output)
    assert evaluation["scored"] == 3
    # Every file not scored is listed with the reason (a text file is not silently ignored).
    skipped = {s["file"].rsplit("/", 1)[1]: s["reason"] for s in evaluation["skipped"]}
    assert list(skipped) == ["notes.txt", "wall.png"]
    assert skipped["wall.png"] == "no face found"
    assert skipped["notes.txt"].startswith("Only JPEG, PNG, WebP")
    for image in evaluation["images"]:
        assert (image["percent"] >= 50) == image["target"]
    assert set(evaluation["target"]) == {"precision", "recall", "f1", "support"}
    assert evaluation["target"]["support"] == 2
    assert sum(map(sum, evaluation["confusion_matrix"]["matrix"])) == 3
    assert evaluation["roc_auc"] is not None

    text = runner.invoke(args=["evaluate", str(photos)])
    assert text.exit_code == 0, text.output
    assert "3 photos scored" in text.output and "Accuracy" in text.output
    assert "Skipped" in text.output and "wall.png: no face found" in text.output

    # Exactly as the public page: the API gives each photo the same percent and box.
    client = training_app.test_client()
    for image in evaluation["images"]:
        with open(image["file"], "rb") as photo:
            api = client.post("/api/score", data={"photo": photo}).get_json()
        assert api["faces"][0]["box"] == image["box"]
        assert api["look_alike_percent"] == round(image["percent"], 1)


def test_evaluate_command_needs_the_two_folders(training_app, tmp_path):
    result = training_app.test_cli_runner().invoke(args=["evaluate", str(tmp_path)])
    assert result.exit_code == 1 and "must hold a folder 1" in result.output
