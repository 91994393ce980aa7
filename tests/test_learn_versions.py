"""Model versions on disk and the pictures of a model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.learn_data import SMALL_SEARCH, faces_and_labels
from webapp.learn.model import percent, train
from webapp.learn.pictures import (
    confusion_png,
    confusion_table,
    eigenface_pngs,
    has_eigenfaces,
    mean_face_png,
)
from webapp.learn.versions import (
    MODEL_FILE,
    VersionError,
    list_directories,
    load_version,
    read_metadata,
    save_version,
)
from webapp.vision import cv2


@pytest.fixture(scope="module")
def trained():
    faces, labels = faces_and_labels(16, 48, size=40)
    return faces, train(faces, labels, space=SMALL_SEARCH)


def _save(models_dir, outcome):
    return save_version(
        models_dir,
        outcome.pipeline,
        extractor="eigenfaces",
        preset=outcome.report["preset"],
        face_size=40,
        report=outcome.report,
        started_at="2025-01-01T00:00:00+00:00",
    )


def test_saved_version_loads_and_scores_the_same(tmp_path, trained):
    faces, outcome = trained
    name, metadata = _save(tmp_path, outcome)
    assert list_directories(tmp_path) == [name]
    on_disk = read_metadata(tmp_path, name)
    assert on_disk == metadata
    assert set(on_disk["libraries"]) == {"scikit-learn", "numpy", "opencv"}
    assert on_disk["extractor"] == "eigenfaces" and on_disk["face_size"] == 40
    assert on_disk["data_counts"]["train"] == 48 and on_disk["report"]["roc_auc"] is not None
    assert on_disk["params"] == outcome.report["best_params"]
    version = load_version(tmp_path, name)
    assert percent(version.pipeline, faces[0]) == pytest.approx(percent(outcome.pipeline, faces[0]))
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary left


def test_only_versions_inside_the_models_folder_are_loaded(tmp_path, trained):
    _, outcome = trained
    elsewhere = tmp_path / "elsewhere"
    name, _ = _save(elsewhere, outcome)
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(VersionError, match="not a model version name"):
        load_version(models, f"../elsewhere/{name}")
    os.symlink(elsewhere / name, models / name)
    with pytest.raises(VersionError, match="not inside the models folder"):
        load_version(models, name)
    with pytest.raises(VersionError, match="missing"):
        load_version(models, "v20250101-000000-abcdef")


def test_a_version_from_another_scikit_learn_is_refused_clearly(tmp_path, trained):
    _, outcome = trained
    name, metadata = _save(tmp_path, outcome)
    metadata["libraries"]["scikit-learn"] = "0.24.2"
    (tmp_path / name / "version.json").write_text(json.dumps(metadata))
    with pytest.raises(VersionError, match=r"saved with scikit-learn 0\.24\.2.*retrain"):
        load_version(tmp_path, name)


def test_a_damaged_model_file_is_refused_clearly(tmp_path, trained):
    _, outcome = trained
    name, _ = _save(tmp_path, outcome)
    (tmp_path / name / MODEL_FILE).write_bytes(b"not a pickle")
    with pytest.raises(VersionError, match="could not be read"):
        load_version(tmp_path, name)


def _decode(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG")
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


def test_pictures_of_a_model(trained):
    _, outcome = trained
    pipeline = outcome.pipeline
    assert has_eigenfaces(pipeline)
    mean = _decode(mean_face_png(pipeline))
    assert mean.shape == (128, 128) and mean.std() > 10  # a face, not a flat square
    eigenfaces = [_decode(png) for png in eigenface_pngs(pipeline, 4)]
    assert len(eigenfaces) == 4 and all(e.shape == (128, 128) for e in eigenfaces)
    table = confusion_table(outcome.report)
    assert table["columns"] == ["not_target", "target"]
    assert [row["label"] for row in table["rows"]] == ["not_target", "target"]
    assert sum(sum(row["cells"]) for row in table["rows"]) == outcome.report["data_counts"]["test"]
    assert _decode(confusion_png(outcome.report)).shape == (128, 128, 3)


def test_a_version_saved_before_the_features_moved_still_loads(tmp_path, monkeypatch):
    """Pickled models name their classes' modules: one saved when face embeddings lived
    in ``webapp.learn.embeddings`` loads and scores the same today."""
    import sys
    import types

    from sklearn.pipeline import Pipeline

    from webapp.learn.calibration import SigmoidCalibratedSVC
    from webapp.learn.features import embeddings

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(24, 128)).astype(np.float32)
    labels = np.array([1] * 8 + [0] * 16)
    vectors[:8] += 1.0
    with monkeypatch.context() as old_layout:
        old = types.ModuleType("webapp.learn.embeddings")
        old.FaceEmbeddings = embeddings.FaceEmbeddings
        old_layout.setitem(sys.modules, "webapp.learn.embeddings", old)
        old_layout.setattr(embeddings.FaceEmbeddings, "__module__", "webapp.learn.embeddings")
        pipeline = Pipeline(
            [("features", embeddings.FaceEmbeddings()), ("svm", SigmoidCalibratedSVC(cv=3))]
        ).fit(list(vectors), labels)
        directory, _ = save_version(
            tmp_path, pipeline, extractor="face-embeddings", preset=None, face_size=224,
            report={}, started_at="2025-01-01T00:00:00+00:00",
        )  # fmt: skip
    assert b"webapp.learn.embeddings" in (tmp_path / directory / MODEL_FILE).read_bytes()
    monkeypatch.delitem(sys.modules, "webapp.learn.embeddings", raising=False)  # a new process
    loaded = load_version(tmp_path, directory)
    expected = pipeline.predict_proba(list(vectors))
    assert np.allclose(loaded.pipeline.predict_proba(list(vectors)), expected)
