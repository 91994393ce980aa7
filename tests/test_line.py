"""Where the 50% line sits: kernel width, C and line chosen on folds that hold whole people
out, on generated descriptors in dlib's metric (two photos of one person under 0.6 apart,
two people further).

The target is photographed at a few events; its photos from other events are further from
its training crops than those are from each other, which is what made a fixed line timid.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.svm import SVC

from webapp.learn import line
from webapp.learn.calibration import SigmoidCalibratedSVC
from webapp.learn.model import fit_model, look_alike_percents, train

ROOT = Path(__file__).resolve().parent.parent
EMBEDDINGS = "face-embeddings"


def _direction(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=128)
    return vector / np.linalg.norm(vector)


def _person(rng, centre, events: int, per_event: int, spread: float) -> list[np.ndarray]:
    """Photos of one person: ``events`` events ``spread`` from the person's centre, each
    with ``per_event`` photos about 0.1 from the event's centre."""
    photos = []
    for _ in range(events):
        event = centre + spread * _direction(rng)
        photos += [event + 0.1 * rng.normal(size=128) / np.sqrt(128) for _ in range(per_event)]
    return photos


def _world(seed: int = 2, look_alikes: int = 0):
    """(training X and y, new photos of the target, new people, faces far from everyone).

    Training: the target at 4 events, 12 other people at 2 events each (and ``look_alikes``
    people 0.6 from the target). New: the target at 4 other events, further out; 12 new
    people (and new look-alikes); 10 faces unlike anyone."""
    rng = np.random.default_rng(seed)
    target = 0.5 * _direction(rng)
    trained_target = _person(rng, target, 4, 4, 0.3)
    new_target = _person(rng, target, 4, 2, 0.5)
    others, new_others = [], []
    for distance, count in ((1.0, 12), (0.6, look_alikes)):
        for _ in range(count):
            others += _person(rng, target + distance * _direction(rng), 2, 3, 0.2)
            new_others += _person(rng, target + distance * _direction(rng), 1, 2, 0.2)
    far = [target + 3.0 * _direction(rng) for _ in range(10)]
    X = np.array(trained_target + others, dtype=np.float32)
    y = np.array([1] * len(trained_target) + [0] * len(others))
    as_array = [np.array(v, dtype=np.float32) for v in (new_target, new_others, far)]
    return X, y, *as_array


def _percents(model, X) -> np.ndarray:
    return look_alike_percents(model.pipeline, list(X))


# --- The pieces ---


def test_other_people_are_grouped_into_people_and_each_target_crop_is_alone():
    rng = np.random.default_rng(0)
    people = [_person(rng, 0.6 * _direction(rng), 1, 4, 0.0) for _ in range(3)]
    targets = _person(rng, np.zeros(128), 2, 3, 0.3)
    X = np.array([v for person in people for v in person] + targets)
    y = np.array([0] * 12 + [1] * 6)
    groups = line.people_groups(X, y)
    assert [len(set(groups[i : i + 4])) for i in (0, 4, 8)] == [1, 1, 1]
    assert len(set(groups[:12])) == 3
    assert len(set(groups[12:])) == 6 and not set(groups[12:]) & set(groups[:12])
    assert line.can_place_line(y, groups) is False  # 6 target crops: too few
    enough = line.MIN_TARGET_CROPS
    assert line.can_place_line(np.array([0] * 12 + [1] * enough), np.arange(12 + enough)) is True


def test_the_equal_error_line_of_two_normal_classes():
    rng = np.random.default_rng(0)
    decisions = np.concatenate([rng.normal(1.0, 0.2, 20000), rng.normal(-1.0, 0.6, 20000)])
    y = np.array([1] * 20000 + [0] * 20000)
    at, separation = line.equal_error_line(decisions, y)
    # 0.5 is 2.5 spreads from both means: as many targets under it as others over it.
    assert at == pytest.approx(0.5, abs=0.02) and separation == pytest.approx(2.5, abs=0.05)
    under = (decisions[y == 1] < at).mean()
    over = (decisions[y == 0] >= at).mean()
    assert under == pytest.approx(over, abs=0.002)


def test_the_guard_raises_a_line_that_lets_too_many_strangers_over():
    others = np.linspace(-1.0, 0.0, 100)  # ten of them at or above -0.1
    decisions = np.concatenate([np.full(10, 1.0), others])
    y = np.array([1] * 10 + [0] * 100)
    raised = line.guarded_line(-0.1, decisions, y)
    assert (others >= raised).sum() == 2  # at most 1 in 50
    assert raised < others.max()  # just above the third from the top, no further
    assert line.guarded_line(0.5, decisions, y) == 0.5  # nobody over: left where it was


def test_faces_far_from_everyone_keep_the_line_above_half_the_intercept():
    assert line.far_away_floor(-0.8) == pytest.approx(-0.4)
    assert line.far_away_floor(0.3) == 0.0  # never below the SVM's own line


def test_variants_train_with_their_crop_and_are_never_scored():
    rng = np.random.default_rng(1)
    targets = [2.0 * _direction(rng) for _ in range(10)]  # ten lone faces, far apart
    others = [v for _ in range(6) for v in _person(rng, 2.0 * _direction(rng), 1, 5, 0.0)]
    X = np.array(targets + others)
    y = np.array([1] * 10 + [0] * 30)
    options = {"gammas": [4.0], "Cs": [1.0], "repeats": 1, "n_jobs": 1}
    plain = line.choose_line(X, y, **options)
    # Each target crop's own copy as its variant: were it in a fold that scores its crop,
    # that crop would read as a training face does.
    copies = [x[None] if label else None for x, label in zip(X, y, strict=True)]
    copied = line.choose_line(X, y, variants=copies, **options)
    held_out = copied.decisions[copied.labels == 1]
    assert np.allclose(held_out, plain.decisions[plain.labels == 1], atol=0.2)
    extra, extra_y, of = line.stack_variants(y, copies, 128)
    assert len(extra) == 10 and (extra_y == 1).all() and of.tolist() == list(range(10))
    trained = SVC(kernel="rbf", class_weight="balanced", gamma=4.0, C=1.0)
    trained.fit(np.vstack([X, extra]), np.concatenate([y, extra_y]))
    assert held_out.max() < trained.decision_function(X[:10]).min() - 0.5
    assert len(copied.labels) == len(y)  # the crops only, each scored once


# --- The line moves where the held-out crops say, and no further ---


def test_a_timid_line_moves_so_the_targets_photos_from_other_events_cross_50(monkeypatch):
    X, y, new_target, new_others, far = _world()
    with monkeypatch.context() as before_the_search:  # the fixed width and the SVM's line
        before_the_search.setattr(line, "MIN_TARGET_CROPS", 10**6)
        before = fit_model(list(X), y, extractor=EMBEDDINGS)
    assert "line" not in before.best_params
    assert (_percents(before, new_target) < 50).mean() > 0.5  # timid: most fall under

    after = fit_model(list(X), y, extractor=EMBEDDINGS)
    assert after.best_params["line"] < 0  # lowered towards the other people
    assert after.best_params["gamma"] in line_gammas()
    assert (_percents(after, new_target) >= 50).all()
    assert (_percents(after, new_others) < 50).all()
    assert (_percents(after, far) < 50).all()


def line_gammas() -> tuple[float, ...]:
    from webapp.learn.features import get_extractor

    return get_extractor(EMBEDDINGS).kernel_gammas


def test_look_alikes_among_the_other_people_keep_new_look_alikes_under_50():
    X, y, new_target, new_others, far = _world(look_alikes=6)
    model = fit_model(list(X), y, extractor=EMBEDDINGS)
    assert model.line["strangers_over"] <= line.MAX_STRANGERS_OVER
    assert all(c["strangers_over"] <= line.MAX_STRANGERS_OVER for c in model.line["tried"])
    assert (_percents(model, new_others) < 50).all()  # the new look-alikes included
    assert (_percents(model, far) < 50).all()


def test_the_percent_reads_50_on_the_line_and_never_runs_backwards():
    X, y, new_target, new_others, far = _world()
    model = fit_model(list(X), y, extractor=EMBEDDINGS)
    svm = model.pipeline[-1]
    assert svm.line == pytest.approx(model.best_params["line"], abs=1e-4) and svm.slope_ > 0
    everyone = np.vstack([new_target, new_others, far])
    percents = _percents(model, everyone)
    assert np.array_equal(percents >= 50, model.pipeline.predict(list(everyone)) == 1)
    raw = svm.svc_.decision_function(everyone)
    order = np.argsort(raw)
    assert np.all(np.diff(percents[order]) >= 0)  # ordered as the SVM's own values


def test_versions_saved_before_the_line_read_with_the_svms_own_line():
    X, y, new_target, *_ = _world()
    model = fit_model(list(X), y, extractor=EMBEDDINGS)
    svm = pickle.loads(pickle.dumps(model.pipeline[-1]))
    del svm.__dict__["line"]  # as unpickled from a version saved before it existed
    assert isinstance(svm, SigmoidCalibratedSVC) and svm.line == 0.0
    assert svm.get_params()["line"] == 0.0  # and it can still be shown and cloned
    raw = svm.svc_.decision_function(new_target)
    assert np.allclose(svm.decision_function(new_target), raw)


def test_too_few_target_crops_keep_the_fixed_width_and_the_svms_line():
    X, y, new_target, *_ = _world()
    few = np.concatenate(
        [np.flatnonzero(y == 1)[: line.MIN_TARGET_CROPS - 1], np.flatnonzero(y == 0)]
    )
    model = fit_model(list(X[few]), y[few], extractor=EMBEDDINGS)
    assert model.line is None and "line" not in model.best_params
    assert model.best_params["gamma"] == 4.0 and model.pipeline[-1].line == 0.0


def test_the_report_says_where_the_line_is_and_what_was_tried():
    X, y, *_ = _world()
    report = train(list(X), y, extractor=EMBEDDINGS).report
    assert report["cv_score"]["metric"] == "target_f1"
    chosen = report["line"]
    assert len(chosen["tried"]) == len(line_gammas()) * 3  # every width with every C
    assert chosen["line"] == report["best_params"]["line"]
    assert chosen["people_held_out"] == 12
    words = " ".join(report["parameters_in_words"])
    assert "The 50% line sits at the SVM's decision value" in words
    assert "folds that held whole people out" in words


# --- Searching starts no helper processes ---

# Trains both searches in a new process, as a training job does, then lists its children.
BOTH_SEARCHES = """
import json, os
from tests.learn_data import faces_and_labels
from tests.test_faults import child_pids
from tests.test_learn_model import TWO_WAY_SEARCH
from tests.test_line import EMBEDDINGS, _world
from webapp.learn.model import fit_model

faces, labels = faces_and_labels(24, 72, size=48)
searched = fit_model(faces, labels, space=TWO_WAY_SEARCH)  # eigenfaces: the grid search
X, y, *_ = _world()
placed = fit_model(list(X), y, extractor=EMBEDDINGS)  # the line's search
assert "line" in placed.best_params and searched.best_params["n_components"]
print(json.dumps(child_pids(os.getpid())))
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_the_searches_run_on_threads_and_leave_no_processes(tmp_path):
    # joblib's helper processes took about a second to start in each training job (a new
    # process) and outlived a killed one by five minutes, 135 MB each.
    output = tmp_path / "output"
    with output.open("w") as to:  # a file: a helper holding a pipe open would hang run()
        ended = subprocess.run(
            [sys.executable, "-c", BOTH_SEARCHES],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=to,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    assert ended.returncode == 0, output.read_text()
    assert json.loads(output.read_text().splitlines()[-1]) == []
