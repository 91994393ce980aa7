"""Where the 50% line sits: the kernel width, C and the line itself, chosen from held-out crops.

An SVM trained on a few crops of the target is timid: its own line (decision value 0) hugs
the target's crops, so the target's photos from other events, a little further away, come
out under 50% although they rank above everyone else. This module measures how far they
fall and moves the line there, and chooses the kernel width the same way.

1. **People held out whole.** The not-target crops are grouped into people (clusters in the
   face descriptors' own metric, :data:`SAME_PERSON`); cross-validation holds whole groups
   out, so the held-out not-target crops are of people the fold's model never saw, as a
   visitor is. A plain split leaves frames of each held-out person in training, and every
   width then looks perfect. Each target crop is a group of its own; its variants (mirrored,
   jittered) train with it and are never scored.
2. **The line.** Normal distributions fitted to the held-out decision values of the target
   and of the other people; the line is where the two are equally many standard deviations
   away: as many target photos expected under it as other people over it (the equal error
   point). Two guards: at most :data:`MAX_STRANGERS_OVER` of the held-out other people may
   be over it (the line is raised until they are not), and it is never lowered past halfway
   from the SVM's own line to the value of a face unlike every training face (the SVM's
   intercept), so that faces far from everything stay under 50%.
3. **The width and C**: those whose line is the most standard deviations from both means
   (the separation), each with its own line.

The look-alike percent is then a sigmoid of the decision value measured from the line
(:mod:`webapp.learn.calibration`): 50% exactly on it, never inverted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.svm import SVC

TARGET = 1
# Fewer target crops than this leave too few held-out target values to fit their spread:
# the line then falls among other people's faces now and then. The model keeps the SVM's
# own line and the extractor's fixed width (docs/accuracy.md, few-shot).
MIN_TARGET_CROPS = 10
# Two crops belong to one person when their groups are on average closer than this, in
# dlib's metric (its same-person threshold is 0.6; average linkage at 0.5 finds the people
# of a movie and of LFW folders best).
SAME_PERSON = 0.5
# At most this share of held-out other people may score over 50%: 1 in 50.
MAX_STRANGERS_OVER = 0.02
# Shuffles of the folds pooled: one shuffle's handful of held-out target crops moves the
# line by chance. From MANY_TARGET_CROPS up one shuffle holds out enough of them, and each
# shuffle costs a fit per fold and setting, the longest part of training a large store.
REPEATS = 3
MANY_TARGET_CROPS = 30


@dataclass(frozen=True)
class Candidate:
    gamma: float
    C: float
    line: float  # the SVM decision value that reads 50%
    separation: float  # standard deviations from the line to each class's held-out mean
    strangers_over: float  # share of the held-out other people at or over the line
    target_f1: float  # the target's F1 at the line, on the held-out crops

    def as_dict(self) -> dict[str, float]:
        return {
            "gamma": float(self.gamma),
            "C": float(self.C),
            "line": round(float(self.line), 4),
            "separation": round(float(self.separation), 4),
            "strangers_over": round(float(self.strangers_over), 4),
            "target_f1": round(float(self.target_f1), 4),
        }


@dataclass
class LineChoice:
    """The chosen candidate, every candidate tried, and the chosen one's pooled held-out
    decision values and labels (what the calibration slope is fitted on)."""

    best: Candidate
    tried: list[Candidate]
    decisions: np.ndarray
    labels: np.ndarray
    folds: int
    people: int  # groups found among the not-target crops


def people_groups(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A group number per crop: the not-target crops clustered into people, each target
    crop alone."""
    groups = np.zeros(len(y), dtype=int)
    others = np.flatnonzero(y != TARGET)
    if len(others) > 1:
        tree = linkage(X[others], method="average", metric="euclidean")
        groups[others] = fcluster(tree, SAME_PERSON, criterion="distance") - 1
    targets = np.flatnonzero(y == TARGET)
    first = int(groups[others].max()) + 1 if len(others) else 0
    groups[targets] = first + np.arange(len(targets))
    return groups


def can_place_line(y: np.ndarray, groups: np.ndarray) -> bool:
    """Enough target crops, and at least two people among the others to hold out."""
    targets = int((y == TARGET).sum())
    return targets >= MIN_TARGET_CROPS and len(set(groups[y != TARGET].tolist())) >= 2


def equal_error_line(decisions: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(line, separation) of held-out decision values: the point equally many standard
    deviations from the target's mean and from the others', and that number."""
    target, others = decisions[y == TARGET], decisions[y != TARGET]
    target_mean, target_spread = float(target.mean()), float(target.std())
    others_mean, others_spread = float(others.mean()), float(others.std())
    spread = max(target_spread + others_spread, 1e-9)
    line = (others_mean * target_spread + target_mean * others_spread) / spread
    return line, (target_mean - others_mean) / spread


def guarded_line(line: float, decisions: np.ndarray, y: np.ndarray) -> float:
    """``line`` raised until at most :data:`MAX_STRANGERS_OVER` of the held-out other
    people are at or over it (just above the next one down, where it must move)."""
    others = np.sort(decisions[y != TARGET])[::-1]
    allowed = int(np.floor(MAX_STRANGERS_OVER * len(others)))
    if allowed >= len(others) or others[allowed] < line:
        return line
    return float(np.nextafter(others[allowed], np.inf))


def far_away_floor(intercept: float) -> float:
    """The lowest line allowed: halfway from the SVM's own line (0) to the value of a face
    unlike every training face (its intercept, when negative)."""
    return min(float(intercept), 0.0) / 2


def _one_fold(
    X: np.ndarray,
    y: np.ndarray,
    extra_X: np.ndarray,
    extra_y: np.ndarray,
    extra_of: np.ndarray,
    train_at: np.ndarray,
    test_at: np.ndarray,
    gamma: float,
    C: float,
) -> np.ndarray:
    keep = np.isin(extra_of, train_at)
    svc = SVC(kernel="rbf", class_weight="balanced", gamma=gamma, C=C)
    svc.fit(np.vstack([X[train_at], extra_X[keep]]), np.concatenate([y[train_at], extra_y[keep]]))
    return svc.decision_function(X[test_at])


def stack_variants(
    y: np.ndarray, variants: Sequence[np.ndarray | None] | None, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The variants as training rows: (features, labels, index of the crop each came from)."""
    rows, labels, of = [], [], []
    for i, extra in enumerate(variants or []):
        if extra is None or len(extra) == 0:
            continue
        rows.append(np.asarray(extra, dtype=float).reshape(-1, width))
        labels.append(np.full(len(rows[-1]), y[i]))
        of.append(np.full(len(rows[-1]), i))
    if not rows:
        return np.zeros((0, width)), np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return np.vstack(rows), np.concatenate(labels), np.concatenate(of)


def choose_line(
    X: np.ndarray,
    y: np.ndarray,
    *,
    gammas: Sequence[float],
    Cs: Sequence[float],
    variants: Sequence[np.ndarray | None] | None = None,
    folds: int = 5,
    repeats: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = -1,
) -> LineChoice:
    """Try every gamma and C: held-out decision values from ``repeats`` shuffles of
    group-aware folds (:func:`people_groups`; by default :data:`REPEATS`, or one from
    :data:`MANY_TARGET_CROPS` up), their equal error line raised by the strangers' guard,
    and keep the best separated. The far-away floor needs the final SVM and is applied by
    the caller (:func:`far_away_floor`).

    ``variants[i]``: extra training rows made from crop ``i`` (or None), used only when
    crop ``i`` is in the training part of a fold.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    groups = people_groups(X, y)
    people = len(set(groups[y != TARGET].tolist()))
    targets = int((y == TARGET).sum())
    k = max(2, min(folds, people, targets))
    if repeats is None:
        repeats = REPEATS if targets < MANY_TARGET_CROPS else 1
    extra_X, extra_y, extra_of = stack_variants(y, variants, X.shape[1])
    splits = [
        (train_at, test_at)
        for r in range(repeats)
        for train_at, test_at in StratifiedGroupKFold(
            k, shuffle=True, random_state=random_state + r
        ).split(X, y, groups)
    ]
    grid = [(float(g), float(c)) for g in gammas for c in Cs]
    # On threads: libsvm fits without Python's lock (see the grid search in model.py).
    runs = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_one_fold)(X, y, extra_X, extra_y, extra_of, tr, te, g, c)
        for g, c in grid
        for tr, te in splits
    )
    labels = np.concatenate([y[te] for _, te in splits])
    tried, pooled = [], []
    for number, (g, c) in enumerate(grid):
        decisions = np.concatenate(runs[number * len(splits) : (number + 1) * len(splits)])
        line, separation = equal_error_line(decisions, labels)
        line = guarded_line(line, decisions, labels)
        others = decisions[labels != TARGET]
        tried.append(
            Candidate(
                gamma=g,
                C=c,
                line=line,
                separation=separation,
                strangers_over=float((others >= line).mean()),
                target_f1=float(f1_score(labels, decisions >= line, zero_division=0)),
            )
        )
        pooled.append(decisions)
    # Between equals, the narrower kernel: it reaches fewer people it was never shown.
    best_at = max(range(len(tried)), key=lambda i: (tried[i].separation, tried[i].gamma))
    return LineChoice(tried[best_at], tried, pooled[best_at], labels, k, people)
