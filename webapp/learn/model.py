"""Training and scoring: feature stage + whitened PCA (eigenfaces) + calibrated RBF SVM.

The search fits the PCA once per number of components on the training part and searches
the SVM's C and gamma on the transformed data: a pipeline-level grid search refits the
PCA for every candidate and fold, dozens of times slower (benchmarks/train.py).
Face embeddings with enough target crops choose the kernel width, C and the 50% line
together instead, on folds that hold whole people out (:mod:`webapp.learn.line`).
The test part (25%, stratified) is split off first and only ever scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import parallel_config
from sklearn.decomposition import PCA
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from webapp.learn import line as line_search
from webapp.learn.calibration import SigmoidCalibratedSVC
from webapp.learn.features import DEFAULT_EXTRACTOR, Extractor, get_extractor
from webapp.learn.preprocess import DEFAULT_PRESET
from webapp.learn.verdict import intervals, parameters_in_words, verdict, warnings

TARGET, NOT_TARGET = 1, 0
CLASS_NAMES = ("not_target", "target")  # index = label value
TEST_SIZE = 0.25
# Below this many crops of a class, a held-out split and a cross-validation cannot both
# work: the model is then validated crop by crop instead (validate_by_folds).
MIN_PER_CLASS = 4
# The SVM's C when one crop of a class leaves nothing to search it on: the middle of the
# usual range; with so few crops the kernel width decides more than C does.
FEW_SHOT_C = 10.0
CV_METRIC = "balanced_accuracy"

Progress = Callable[[float, str], None]  # (fraction done 0..1, what is happening)
Variants = Sequence[np.ndarray | None]  # per crop: extra training rows made from it, or None


class TrainingError(ValueError):
    """The data cannot train a model (too few faces of a class...); message for the user."""


@dataclass(frozen=True)
class SearchSpace:
    """Hyper-parameters searched. ``gamma_factors`` are multiples of 1/n_components: the
    whitened components have unit variance, so that keeps the kernel width comparable."""

    n_components: Sequence[int] = (10, 25, 50, 100)
    C: Sequence[float] = (1.0, 10.0, 100.0)
    gamma_factors: Sequence[float] = (0.05, 0.2, 1.0)
    cv_folds: int = 5


@dataclass
class FittedModel:
    pipeline: Pipeline
    best_params: dict[str, Any]
    cv_score: float | None  # None: too few crops of a class to search by cross-validation
    cv_folds: int
    cv_metric: str = CV_METRIC
    # The line search's choice and every candidate it tried (None: not searched).
    line: dict[str, Any] | None = None


@dataclass
class TrainingOutcome:
    pipeline: Pipeline
    report: dict[str, Any]
    test_indices: np.ndarray  # positions in the input of the held-out faces
    test_percents: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _check_counts(y: np.ndarray, minimum: int, what: str) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() < minimum:
        raise TrainingError(
            f"too few faces to train: {counts[TARGET]} target and {counts[NOT_TARGET]}"
            f" not-target {what}; at least {minimum} of each are needed"
        )


def _cv_folds(y: np.ndarray, wanted: int) -> int:
    return max(2, min(wanted, int(np.bincount(y, minlength=2).min())))


def fit_model(
    faces: Sequence[np.ndarray] | np.ndarray,
    y: Sequence[int] | np.ndarray,
    *,
    extractor: str = DEFAULT_EXTRACTOR,
    preset: str = DEFAULT_PRESET,
    space: SearchSpace | None = None,
    progress: Progress | None = None,
    random_state: int = 0,
    variants: Variants | None = None,
) -> FittedModel:
    """Fit a model on ``faces`` (all of them: split before calling) with labels 1/0. With a
    single crop of a class nothing can be searched: C is :data:`FEW_SHOT_C`. An extractor
    with kernel widths to choose from, given enough target crops, places the 50% line too
    (:func:`_fit_with_line`, with ``variants``: extra training rows per crop, or None)."""
    space = space or SearchSpace()
    y = np.asarray(y, dtype=int)
    _check_counts(y, 1, "faces in the training part")
    chosen = get_extractor(extractor)
    features = chosen.make(preset)
    X = features.fit(faces, y).transform(faces)
    folds = _cv_folds(y, space.cv_folds)
    if chosen.kernel_gammas and not chosen.uses_pca:
        groups = line_search.people_groups(X, y)
        if line_search.can_place_line(y, groups):
            return _fit_with_line(X, y, features, chosen, space, progress, random_state, variants)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    svc = SVC(kernel="rbf", class_weight="balanced")

    if chosen.uses_pca:
        limit = min(len(y) - 1, X.shape[1])
        candidates = sorted({n for n in space.n_components if n <= limit}) or [limit]
    else:
        candidates = [None]
    best: tuple[float, PCA | None, dict[str, Any]] | None = None
    for step, n in enumerate(candidates):
        if progress:
            progress(step / len(candidates), f"searching: {n or X.shape[1]} components")
        pca = None
        Z = X
        if n is not None:
            pca = PCA(n_components=n, whiten=True, svd_solver="randomized", random_state=0)
            Z = pca.fit_transform(X)
        width = n or X.shape[1]
        gammas = [g / width for g in space.gamma_factors]
        grid = {
            "C": list(space.C),
            "gamma": [chosen.kernel_gamma] if chosen.kernel_gamma else gammas,
        }
        if np.bincount(y, minlength=2).min() < 2:  # one crop: no fold could hold it out
            params = {"n_components": n, "C": FEW_SHOT_C, "gamma": grid["gamma"][0]}
            best = (None, pca, params)
            break
        search = GridSearchCV(svc, grid, scoring=CV_METRIC, cv=splitter, n_jobs=-1)
        # On threads, not joblib's helper processes: libsvm lets go of Python's lock while
        # it fits, so two threads keep two cores busy, and a training job (a new process
        # each time) neither waits about a second for the helpers to start nor leaves them
        # behind. The line's search (webapp.learn.line) does the same.
        with parallel_config(prefer="threads"):
            search.fit(Z, y)
        if best is None or search.best_score_ > best[0]:
            params = {"n_components": n, **search.best_params_}
            best = (float(search.best_score_), pca, params)
    assert best is not None
    score, pca, params = best
    classifier = SVC(kernel="rbf", class_weight="balanced", C=params["C"], gamma=params["gamma"])
    calibrated = SigmoidCalibratedSVC(classifier, cv=folds, random_state=random_state)
    Z = pca.transform(X) if pca is not None else X
    calibrated.fit(Z, y)
    steps = [("features", features)]
    if pca is not None:
        steps.append(("pca", pca))
    steps.append(("svm", calibrated))
    if progress:
        progress(1.0, "search done")
    return FittedModel(Pipeline(steps), params, score, folds)


def _fit_with_line(
    X: np.ndarray,
    y: np.ndarray,
    features: Any,
    chosen: Extractor,
    space: SearchSpace,
    progress: Progress | None,
    random_state: int,
    variants: Variants | None,
) -> FittedModel:
    """Kernel width, C and 50% line from group-aware cross-validation
    (:func:`webapp.learn.line.choose_line`); the SVM is then fitted on every crop and its
    variants, the slope on the chosen candidate's held-out values."""
    if progress:
        progress(0.0, "searching: kernel width, C and the 50% line")
    choice = line_search.choose_line(
        X,
        y,
        gammas=chosen.kernel_gammas,
        Cs=space.C,
        variants=variants,
        folds=space.cv_folds,
        random_state=random_state,
    )
    best = choice.best
    extra_X, extra_y, _ = line_search.stack_variants(y, variants, X.shape[1])
    X_fit, y_fit = np.vstack([X, extra_X]), np.concatenate([y, extra_y])
    svc = SVC(kernel="rbf", class_weight="balanced", C=best.C, gamma=best.gamma)
    floor = line_search.far_away_floor(float(svc.fit(X_fit, y_fit).intercept_[0]))
    line = max(best.line, floor)
    calibrated = SigmoidCalibratedSVC(svc, line=line, random_state=random_state)
    calibrated.fit(X_fit, y_fit, held_out=(choice.decisions, choice.labels))
    params = {"n_components": None, "C": best.C, "gamma": best.gamma, "line": round(line, 4)}
    summary = {
        **best.as_dict(),
        "line": round(line, 4),
        "raised_to_far_away_floor": bool(floor > best.line),
        "people_held_out": choice.people,
        "variants": int(len(extra_y)),
        "tried": [candidate.as_dict() for candidate in choice.tried],
    }
    if progress:
        progress(1.0, "search done")
    pipeline = Pipeline([("features", features), ("svm", calibrated)])
    return FittedModel(
        pipeline, params, best.target_f1, choice.folds, cv_metric="target_f1", line=summary
    )


def evaluate(pipeline: Pipeline, faces: Sequence[np.ndarray], y: Sequence[int]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/f1/support, ROC AUC and confusion matrix."""
    percents = look_alike_percents(pipeline, faces)
    report = binary_scores(y, (percents >= 50).astype(int), pipeline.decision_function(faces))
    both = report["roc_auc"] is not None
    report["percent_roc_auc"] = float(roc_auc_score(y, percents)) if both else None
    return report


def binary_scores(
    y: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, ranking: Any
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/f1/support, the ROC AUC of ``ranking`` (any
    score that grows with "target") and the confusion matrix; the AUC is None unless both
    classes are present."""
    y, predicted = np.asarray(y, dtype=int), np.asarray(predicted, dtype=int)
    if len(y) == 0:  # nothing could be validated: no figure at all, rather than a zero
        empty = {"precision": None, "recall": None, "f1-score": None, "support": 0}
        return {
            "accuracy": None,
            "classes": {name: dict(empty) for name in CLASS_NAMES},
            "roc_auc": None,
            "confusion_matrix": {"labels": list(CLASS_NAMES), "matrix": [[0, 0], [0, 0]]},
        }
    per_class = classification_report(
        y,
        predicted,
        labels=[NOT_TARGET, TARGET],
        target_names=list(CLASS_NAMES),
        output_dict=True,
        zero_division=0,
    )
    both = len(set(y.tolist())) == 2
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "classes": {name: _rounded(per_class[name]) for name in CLASS_NAMES},
        "roc_auc": float(roc_auc_score(y, ranking)) if both else None,
        "confusion_matrix": {
            "labels": list(CLASS_NAMES),  # rows: true label, columns: predicted
            "matrix": confusion_matrix(y, predicted, labels=[NOT_TARGET, TARGET]).tolist(),
        },
    }


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: (int(v) if key == "support" else round(float(v), 4)) for key, v in scores.items()}


def train(
    faces: Sequence[np.ndarray],
    labels: Sequence[int] | np.ndarray,
    *,
    extractor: str = DEFAULT_EXTRACTOR,
    preset: str = DEFAULT_PRESET,
    space: SearchSpace | None = None,
    progress: Progress | None = None,
    random_state: int = 0,
    variants: Variants | None = None,
) -> TrainingOutcome:
    """Validate and fit: with at least :data:`MIN_PER_CLASS` crops of each class, 25% are
    held out (stratified) and the model fitted on the rest is scored on them; with fewer,
    each crop is scored by a model fitted without it (:func:`validate_by_folds`) and the
    model is fitted on all of them. ``variants[i]``: extra training rows made from crop
    ``i`` (mirrored, jittered), used only while crop ``i`` is in a training part."""
    started = time.perf_counter()
    y = np.asarray(labels, dtype=int)
    _check_counts(y, get_extractor(extractor).min_per_class, "faces")
    pick = _picker(faces)
    options = dict(extractor=extractor, preset=preset, space=space, random_state=random_state)
    if variants is not None:
        options["variants_of"] = lambda at: [variants[i] for i in at]
    if np.bincount(y, minlength=2).min() >= MIN_PER_CLASS:
        train_at, test_at = train_test_split(
            np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=random_state
        )
        fitted = _fit_part(pick, y, train_at, progress=progress, **options)
        percents = look_alike_percents(fitted.pipeline, pick(test_at))
        report = evaluate(fitted.pipeline, pick(test_at), y[test_at])
        validation = {
            "method": "held-out",
            "held_out": len(test_at),
            "text": f"{len(test_at)} crops held out (a stratified quarter), never seen in training",
        }
    else:
        test_at, percents, validation = validate_by_folds(pick, y, progress=progress, **options)
        fitted = _fit_part(pick, y, np.arange(len(y)), **options)
        train_at = np.arange(len(y))
        report = binary_scores(y[test_at], (percents >= 50).astype(int), percents)
        report["percent_roc_auc"] = report["roc_auc"]
    report.update(
        extractor=extractor,
        preset=preset if get_extractor(extractor).uses_preset else None,
        best_params=fitted.best_params,
        validation=validation,
        cv_score={
            "metric": fitted.cv_metric,
            "mean": None if fitted.cv_score is None else round(fitted.cv_score, 4),
            "folds": fitted.cv_folds,
        },
        line=fitted.line,
        calibration={"slope": fitted.pipeline[-1].slope_},
        data_counts={
            "target": int((y == TARGET).sum()),
            "not_target": int((y == NOT_TARGET).sum()),
            "train": len(train_at),
            "test": len(test_at),
        },
        seconds=round(time.perf_counter() - started, 3),
    )
    report["intervals"] = intervals(report["confusion_matrix"]["matrix"])
    report["warnings"] = warnings(report)
    report["verdict"] = verdict(report)
    report["parameters_in_words"] = parameters_in_words(
        fitted.best_params, report["calibration"]["slope"], fitted.line
    )
    return TrainingOutcome(fitted.pipeline, report, test_at, percents)


def validate_by_folds(
    pick: Callable[[np.ndarray], Any], y: np.ndarray, *, progress: Progress | None, **options: Any
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Score each crop with a model fitted without it, for classes too small to hold a
    quarter out: every crop of the smaller class left out alone (leave-one-out), the larger
    class in up to 5 folds. A crop whose class would be left empty cannot be scored (a
    single crop of a class). Returns the scored positions, their percents and a summary.
    """
    counts = np.bincount(y, minlength=2)
    small = int(np.argmin(counts))
    rng = np.random.default_rng(options.get("random_state", 0))
    large_at = rng.permutation(np.flatnonzero(y != small))
    folds = [np.array([i]) for i in np.flatnonzero(y == small)]
    folds += [part for part in np.array_split(large_at, min(5, len(large_at))) if len(part)]
    scored, percents = [], []
    for number, test_at in enumerate(folds):
        train_at = np.setdiff1d(np.arange(len(y)), test_at)
        if np.bincount(y[train_at], minlength=2).min() < 1:
            continue
        if progress:
            progress(number / len(folds), f"validating: fold {number + 1} of {len(folds)}")
        fitted = _fit_part(pick, y, train_at, **options)
        scored.extend(test_at.tolist())
        percents.extend(look_alike_percents(fitted.pipeline, pick(test_at)).tolist())
    order = np.argsort(scored)
    at, percents_at = np.array(scored, dtype=int)[order], np.array(percents)[order]
    missed = len(y) - len(at)
    name = CLASS_NAMES[small].replace("_", " ")
    parts = len(folds) - counts[small]
    text = (
        f"too few crops to hold a quarter out: each {name} crop was scored by a model trained"
        f" without it (leave-one-out), the others in {parts} fold{'s' if parts != 1 else ''}"
    )
    if missed:
        text += (
            f"; {missed} crop{'s' if missed != 1 else ''} could not be scored (a class with"
            " a single crop cannot be left out of its own training)"
        )
    summary = {"method": "leave-one-out", "held_out": len(at), "not_scored": missed, "text": text}
    return at, percents_at, summary


def _fit_part(
    pick: Callable[[np.ndarray], Any],
    y: np.ndarray,
    at: np.ndarray,
    *,
    variants_of: Callable[[np.ndarray], Variants] | None = None,
    **options: Any,
) -> FittedModel:
    """:func:`fit_model` on the crops at ``at`` (and their variants, when there are any)."""
    variants = variants_of(at) if variants_of else None
    return fit_model(pick(at), y[at], variants=variants, **options)


def _picker(faces: Sequence[np.ndarray] | np.ndarray) -> Callable[[np.ndarray], Any]:
    if isinstance(faces, np.ndarray):
        return lambda at: faces[at]
    return lambda at: [faces[i] for i in at]


def look_alike_percents(model: Pipeline, faces: Sequence[np.ndarray]) -> np.ndarray:
    """The look-alike percentage (0..100) of each face; >= 50 exactly when predicted target."""
    return 100 * model.predict_proba(faces)[:, TARGET]


def percent(model: Pipeline, face: np.ndarray) -> float:
    """The look-alike percentage of one face (in the form the model's extractor reads)."""
    return float(look_alike_percents(model, [face])[0])
