"""The look-alike percentage: a sigmoid of the SVM's decision value that cannot run backwards.

``p = 1 / (1 + exp(-a * d))`` with ``d`` the SVM decision value measured from the line
(``d = svm(x) - line``; the line is 0, the SVM's own, unless :mod:`webapp.learn.line`
placed it) and ``a > 0`` fitted by maximum likelihood (Platt's smoothed targets) on
decision values the SVM did not train on. Because ``a`` is positive, ``p >= 0.5`` exactly
when ``d >= 0`` (the model predicts the target) and ``p`` orders faces as the decision
function does. We do not use
``SVC(probability=True)``: its internal Platt fit has a free offset and sign, came out
inverted with few target images (ORL, 5 target images: probability AUC 0.04 against a
decision AUC of 0.96), and scikit-learn 1.9 deprecates it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import SVC

MIN_SLOPE, MAX_SLOPE = 1e-3, 1e3
# With a single crop of a class there is no held-out decision value of it to fit a slope
# on: this one makes the SVM's margin (a decision value of 1) read about 95%.
ONE_CROP_SLOPE = 3.0


def sigmoid(values: np.ndarray, slope: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-slope * np.asarray(values, dtype=float)))


def fit_slope(decisions: np.ndarray, y: np.ndarray) -> float:
    """The ``a > 0`` that maximises the likelihood of labels ``y`` (1 = target).

    Targets are Platt's smoothed ones, (N+ + 1)/(N+ + 2) and 1/(N- + 2), so a perfectly
    separated sample does not send ``a`` to infinity (and every percent to 0 or 100). A
    decision function that ranks held-out faces backwards gets the smallest slope, so
    every percent sits near 50: uninformative, never inverted.
    """
    decisions = np.asarray(decisions, dtype=float)
    y = np.asarray(y)
    positives, negatives = int((y == 1).sum()), int((y != 1).sum())
    targets = np.where(y == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def negative_log_likelihood(log_slope: float) -> float:
        z = np.exp(log_slope) * decisions
        # log(1 + exp(-z)) and log(1 + exp(z)), computed without overflow
        return float(np.sum(targets * np.logaddexp(0, -z) + (1 - targets) * np.logaddexp(0, z)))

    found = minimize_scalar(
        negative_log_likelihood,
        bounds=(np.log(MIN_SLOPE), np.log(MAX_SLOPE)),
        method="bounded",
    )
    return float(np.exp(found.x))


class SigmoidCalibratedSVC(ClassifierMixin, BaseEstimator):
    """An SVC whose ``predict_proba`` is the calibrated, never-inverted sigmoid above.

    ``fit`` computes cross-validated decision values on the training data (each from an
    SVC that did not see that face), fits the slope on them, then fits the SVC on all of
    it; or, given ``held_out`` (decision values and labels computed elsewhere, as the line
    search does), fits the slope on those. Classes must be 0 (not target) and 1 (target).
    ``line``: the SVC decision value that reads 50%.
    """

    # Versions saved before the line existed have no such attribute: theirs is the SVM's.
    line = 0.0

    def __init__(
        self, svc: SVC | None = None, cv: int = 5, random_state: int = 0, line: float = 0.0
    ) -> None:
        self.svc = svc
        self.cv = cv
        self.random_state = random_state
        self.line = line

    def fit(self, X, y, held_out: tuple[np.ndarray, np.ndarray] | None = None):
        y = np.asarray(y)
        svc = clone(self.svc if self.svc is not None else SVC(class_weight="balanced"))
        smallest = int(np.bincount(y, minlength=2).min())
        if held_out is not None:
            decisions, labels = (np.asarray(values) for values in held_out)
            held_out = decisions - self.line
            self.slope_ = fit_slope(held_out, labels)
        elif smallest >= 2:
            folds = max(2, min(self.cv, smallest))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            held_out = cross_val_predict(svc, X, y, cv=splitter, method="decision_function")
            self.slope_ = fit_slope(held_out, y)
        else:  # one crop of a class: nothing held out to fit on
            held_out = np.zeros(0)
            self.slope_ = ONE_CROP_SLOPE
        self.held_out_decisions_ = held_out
        self.svc_ = svc.fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X) -> np.ndarray:
        return self.svc_.decision_function(X) - self.line

    def predict_proba(self, X) -> np.ndarray:
        p = sigmoid(self.decision_function(X), self.slope_)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        # >= so that the prediction and "percent >= 50" agree even at d == 0 exactly.
        return (self.decision_function(X) >= 0).astype(int)
