"""What a report may claim: intervals on small counts, warnings, a one-sentence verdict, and
the search's parameters in words.

A recall measured on 3 held-out target crops is "100%" by luck as often as not; the 95%
Wilson interval says how far the truth may be from it (3 of 3 is anywhere from 44% to
100%). The verdict is deliberately strict: a model is "good enough to publish" only
when its target figures hold on enough held-out target crops for the interval to be
narrow, and the ranking is good.
"""

from __future__ import annotations

import math
from typing import Any

Z_95 = 1.959964  # the standard normal's 97.5th percentile: a two-sided 95% interval
FEW_TARGET_CROPS = 10  # below this many validated target crops, figures get a warning
# What "good enough to publish" asks of the validated crops.
PUBLISH_F1, PUBLISH_AUC, PUBLISH_RECALL_LOW = 0.9, 0.95, 0.7


def wilson_interval(successes: int, trials: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a proportion ``successes / trials`` (None for 0
    trials): sensible at 0 and at 100%, unlike the normal approximation."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = Z_95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def intervals(confusion: list[list[int]]) -> dict[str, dict[str, list[float] | None]]:
    """95% intervals of each class's precision and recall, from the confusion matrix (rows:
    true not target, target; columns: predicted)."""
    (tn, fp), (fn, tp) = confusion
    found = {
        "target": {
            "recall": wilson_interval(tp, tp + fn),
            "precision": wilson_interval(tp, tp + fp),
        },
        "not_target": {
            "recall": wilson_interval(tn, tn + fp),
            "precision": wilson_interval(tn, tn + fn),
        },
    }
    return {
        name: {
            key: None if value is None else [round(v, 4) for v in value] for key, value in d.items()
        }
        for name, d in found.items()
    }


def warnings(report: dict[str, Any]) -> list[str]:
    """What an admin must know before believing the figures."""
    found = []
    support = report["classes"]["target"]["support"]
    interval = report["intervals"]["target"]["recall"]
    if support < FEW_TARGET_CROPS:
        spread = (
            f": its recall could be anywhere from {interval[0]:.0%} to {interval[1]:.0%}"
            if interval
            else ""
        )
        found.append(
            f"only {support} target crop{'s' if support != 1 else ''} could be validated"
            f" (fewer than {FEW_TARGET_CROPS}){spread}. Label more crops of the target."
        )
    missed = report["validation"].get("not_scored")
    if missed:
        found.append(f"{missed} crop{'s' if missed != 1 else ''} could not be validated at all.")
    return found


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    """``{"publish": bool, "text": one sentence}``: good enough to publish, or what to do."""
    target = report["classes"]["target"]
    support, f1, auc = target["support"], target["f1-score"], report["roc_auc"]
    recall_low = (report["intervals"]["target"]["recall"] or [0.0])[0]
    if support < FEW_TARGET_CROPS:
        text = (
            f"Label more target crops: {support} validated are too few to tell how often"
            f" the target's own photos reach 50% (at least {FEW_TARGET_CROPS} are needed)."
        )
        return {"publish": False, "text": text}
    problems = []
    if f1 is None or f1 < PUBLISH_F1:
        problems.append(f"the target's F1 is {_share(f1)} (at least {PUBLISH_F1:.0%} is needed)")
    if auc is None or auc < PUBLISH_AUC:
        problems.append(f"the ranking (ROC AUC) is {_number(auc)}, under {PUBLISH_AUC}")
    if recall_low < PUBLISH_RECALL_LOW:
        problems.append(
            f"the target's recall could be as low as {recall_low:.0%}"
            " (label more target crops, from other scenes)"
        )
    if problems:
        return {
            "publish": False,
            "text": "Not good enough to publish yet: " + "; ".join(problems) + ".",
        }
    return {
        "publish": True,
        "text": f"Good enough to publish: target F1 {_share(f1)} and ROC AUC {_number(auc)}"
        f" on {support} validated target crops.",
    }


def parameters_in_words(
    params: dict[str, Any], slope: float | None, line: dict[str, Any] | None = None
) -> list[str]:
    """The search's choices as an admin can read them (``line``: the line search's
    summary, when the line was placed from held-out crops)."""
    words = []
    n = params.get("n_components")
    words.append(
        "No PCA: the features are face descriptors, used as they are."
        if n is None
        else f"PCA keeps the {n} strongest eigenfaces (directions in which faces differ)."
    )
    if "C" in params:
        words.append(
            f"SVM penalty C = {params['C']:g}: how hard the model tries to get every training"
            " crop right (higher: tighter fit, more risk of learning the crops by heart)."
        )
    if "gamma" in params:
        words.append(
            f"Kernel width gamma = {params['gamma']:.3g}: how far one crop's influence reaches"
            " (higher: only very similar faces count as alike)."
        )
    if line is not None:
        words.append(
            f"Kernel width, C and the 50% line chosen together: {len(line['tried'])} settings"
            f" tried on folds that held whole people out ({line['people_held_out']} people among"
            " the not-target crops); this one separates the target from people it never saw"
            f" best (the line {line['separation']:.2f} standard deviations from either)."
        )
        words.append(
            f"The 50% line sits at the SVM's decision value {line['line']:+.3g}, not 0: where as"
            " many of the target's held-out crops are expected under it as other people over"
            f" it ({line['strangers_over']:.1%} of the held-out other people are over it)."
        )
        if line.get("variants"):
            words.append(
                f"The target's crops also trained mirrored and slightly moved"
                f" ({line['variants']} extra faces)."
            )
    if slope is not None:
        words.append(
            f"Calibration slope {slope:.3g}: turns the SVM's decision value into the"
            " percentage (steeper: percentages nearer 0% and 100%); 50% stays the model's line."
        )
    return words


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
