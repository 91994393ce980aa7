"""The learning core on generated faces: presets, training report, calibration rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from tests.learn_data import faces_and_labels
from webapp.learn import model
from webapp.learn.calibration import fit_slope, sigmoid
from webapp.learn.features import get_extractor
from webapp.learn.model import SearchSpace, TrainingError, fit_model, percent, train
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS, PresetError, preprocess

# Two PCA sizes and two kernel widths: enough to see the search choose.
TWO_WAY_SEARCH = SearchSpace(n_components=(10, 20), C=(1.0, 10.0), gamma_factors=(0.2, 1.0))


@pytest.fixture(scope="module")
def data():
    return faces_and_labels(24, 72, size=48)


def test_seed_preset_is_the_tutorials_recipe():
    face = np.zeros((48, 48), dtype=np.uint8)
    face[:, 24:] = 200  # right half lit, left half dark
    face[0, 0] = 40  # one dim pixel: 40/200 = 0.2 after dividing by the maximum
    (out,) = preprocess([face], "seed")
    assert out.shape == (48, 48)  # seed keeps the crops' own size
    assert set(np.unique(out)) == {0.0, 1.0}  # threshold segmentation: a binary mask
    assert out[24, 40] == 1.0 and out[24, 5] == 0.0
    assert out[0, 0] == 0.0  # 0.2 is below the 0.25 threshold


def test_other_presets_work_at_their_own_size_and_ignore_lighting():
    face, _ = faces_and_labels(1, 0, size=48)
    darker = (face[0] * 0.5).astype(np.uint8)
    for name in PRESETS:
        out = preprocess([face[0], darker], name)
        side = PRESETS[name].side or 48
        assert out.shape == (2, side, side) and out.dtype == np.float32
    bright, dark = preprocess([face[0], darker], "equalize")
    assert np.abs(bright - dark).mean() < 0.2  # the same face at half the light


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(PresetError, match="seed"):
        preprocess([np.zeros((8, 8), np.uint8)], "sharpen")
    assert DEFAULT_PRESET in PRESETS


def test_training_report_has_every_figure_the_admin_sees(data):
    faces, labels = data
    outcome = train(faces, labels, space=TWO_WAY_SEARCH)
    report = outcome.report
    assert report["data_counts"] == {"target": 24, "not_target": 72, "train": 72, "test": 24}
    assert report["classes"]["target"]["support"] == 6  # stratified 25%
    assert report["classes"]["not_target"]["support"] == 18
    for name in ("target", "not_target"):
        assert set(report["classes"][name]) == {"precision", "recall", "f1-score", "support"}
    assert report["accuracy"] >= 0.9 and report["roc_auc"] >= 0.95
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == 24
    assert report["best_params"]["n_components"] in (10, 20)
    assert {"C", "gamma"} <= set(report["best_params"])
    assert report["cv_score"]["metric"] == "balanced_accuracy" and report["cv_score"]["folds"] == 5
    assert report["extractor"] == "eigenfaces" and report["preset"] == DEFAULT_PRESET
    assert report["seconds"] > 0
    assert outcome.pipeline.named_steps["pca"].whiten


def test_the_held_out_part_is_never_fitted(data):
    faces, labels = data
    outcome = train(faces, labels, space=TWO_WAY_SEARCH)
    positions = np.arange(len(labels))
    _, expected_test = train_test_split(positions, test_size=0.25, stratify=labels, random_state=0)
    assert sorted(outcome.test_indices) == sorted(expected_test)
    pca = outcome.pipeline.named_steps["pca"]
    assert pca.n_samples_ == 72  # fitted on the training part only


def test_percent_is_at_least_50_exactly_when_the_model_predicts_the_target(data):
    faces, labels = data
    pipeline = train(faces, labels, space=TWO_WAY_SEARCH).pipeline
    new_faces, new_labels = faces_and_labels(30, 30, size=48, seed=7)
    noisy = [np.clip(f + np.random.default_rng(i).normal(0, 40, f.shape), 0, 255).astype(np.uint8)
             for i, f in enumerate(new_faces)]  # fmt: skip
    percents = np.array([percent(pipeline, f) for f in noisy])
    predicted = pipeline.predict(noisy)
    assert ((percents >= 50) == (predicted == 1)).all()
    assert ((percents >= 50) == (pipeline.decision_function(noisy) >= 0)).all()
    assert percents.min() >= 0 and percents.max() <= 100
    # Calibrated means informative: the target's faces score high, the others low.
    assert percents[:30].mean() > 60 and percents[30:].mean() < 40


def test_percent_never_runs_backwards_on_held_out_faces():
    # Few target faces, as with the ORL task where SVC(probability=True) came out inverted
    # (probability AUC 0.04 against a decision AUC of 0.96).
    faces, labels = faces_and_labels(8, 92, size=48, seed=3)
    train_faces, test_faces, y_train, y_test = train_test_split(
        faces, labels, test_size=0.5, stratify=labels, random_state=1
    )
    pipeline = fit_model(train_faces, y_train, space=TWO_WAY_SEARCH).pipeline
    percents = model.look_alike_percents(pipeline, test_faces)
    decision_auc = roc_auc_score(y_test, pipeline.decision_function(test_faces))
    percent_auc = roc_auc_score(y_test, percents)
    assert decision_auc > 0.8
    assert percent_auc == pytest.approx(decision_auc)
    assert percents[np.array(y_test) == 1].mean() > percents[np.array(y_test) == 0].mean()


def test_calibration_slope_is_positive_even_for_a_backwards_decision_function():
    rng = np.random.default_rng(0)
    y = np.array([1] * 20 + [0] * 20)
    forwards = np.where(y == 1, 1.0, -1.0) + rng.normal(0, 0.5, 40)
    assert fit_slope(forwards, y) > 1.0
    backwards = -forwards
    slope = fit_slope(backwards, y)
    assert slope > 0  # never inverted: at worst uninformative
    assert np.all(np.abs(sigmoid(backwards, slope) - 0.5) < 0.05)


def test_too_few_faces_of_a_class_is_refused_with_the_counts():
    faces, labels = faces_and_labels(3, 20, size=32)
    with pytest.raises(TrainingError, match="3 target and 20 not-target"):
        train(faces, labels)


def test_extractor_registry_describes_what_each_reads():
    eigenfaces = get_extractor("eigenfaces")
    assert eigenfaces.reads == "face" and eigenfaces.uses_pca
    with pytest.raises(ValueError, match="eigenfaces"):
        get_extractor("face-embeddings-not-installed")
