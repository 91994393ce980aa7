"""Whether a newly trained version goes live: the active one and the new one are scored on
the same held-out crops, and the new one replaces it only when it is at least as good.

The deciding figure is the target's F1 at the 50% line (what a visitor reads as "the
model thinks this is the character"); when both F1 are equal, the ROC AUC of the percent
decides (the ranking). Both are computed from the crops' current labels, so a version
trained on labels the active one never saw is judged on them too. The held-out crops may
have been in the active version's own training set: that favours keeping it, the cautious
side. An admin can always activate a kept version from the dashboard, or train with
``--activate always``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from webapp.store import models as model_store
from webapp.store.db import Connection

if TYPE_CHECKING:  # loaded where used: the train command's options need only POLICIES
    import numpy as np

    from webapp.learn.versions import ModelVersion

Policy = Literal["if-better", "always", "never"]
POLICIES: tuple[Policy, ...] = ("if-better", "always", "never")
# Figures this close are equal (F1 and AUC of a few dozen crops move in steps of 1/n).
TIE = 1e-9


@dataclass(frozen=True)
class Figures:
    """How one version does on the held-out crops."""

    f1: float  # the target's F1 at the 50% line
    roc_auc: float | None  # None when the held-out crops hold one class only
    crops: int

    def beats_or_ties(self, other: Figures) -> bool:
        if self.f1 > other.f1 + TIE:
            return True
        if self.f1 < other.f1 - TIE:
            return False
        mine, theirs = self.roc_auc, other.roc_auc
        return mine is None or theirs is None or mine >= theirs - TIE


@dataclass(frozen=True)
class Decision:
    activate: bool
    reason: str  # one sentence for the admin
    active_version_id: int | None = None  # the version it was compared with
    new: Figures | None = None
    active: Figures | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["activated"] = data.pop("activate")
        return data


def figures(labels: list[int] | np.ndarray, percents: np.ndarray) -> Figures:
    """The target's F1 at 50% and the ROC AUC of ``percents`` against ``labels``, as the
    training report computes them (:func:`webapp.learn.model.binary_scores`)."""
    import numpy as np

    from webapp.learn.model import binary_scores

    y = np.asarray(labels, dtype=int)
    if len(y) == 0:  # nothing could be validated (one crop of each class): nothing to tell
        return Figures(0.0, None, 0)
    report = binary_scores(y, (np.asarray(percents) >= 50).astype(int), percents)
    auc = report["roc_auc"]
    f1 = report["classes"]["target"]["f1-score"]
    return Figures(round(f1, 4), None if auc is None else round(auc, 4), len(y))


def _percents_of(
    conn: Connection, crops_dir: str | Path, version: ModelVersion, crop_ids: list[int]
) -> tuple[np.ndarray, list[int]]:
    """The version's percent of each crop still stored, as it reads them; (percents, ids)."""
    import numpy as np

    from webapp.learn.features import get_extractor
    from webapp.learn.model import look_alike_percents
    from webapp.operations.crop_files import load_crop_images
    from webapp.operations.describing import load_crop_descriptors

    rows = [row for row in model_store.training_crops(conn) if row["id"] in set(crop_ids)]
    extractor = get_extractor(version.extractor)
    if extractor.cached_as:
        inputs, _, ids = load_crop_descriptors(conn, crops_dir, rows, lambda *_: None)
    else:
        inputs, _, ids = load_crop_images(crops_dir, rows, extractor.reads, version.face_size)
    if not inputs:
        return np.zeros(0), []
    return look_alike_percents(version.pipeline, inputs), ids


def decide(
    conn: Connection,
    crops_dir: str | Path,
    models_dir: str | Path,
    *,
    policy: Policy,
    held_out: dict[int, tuple[int, float]],
) -> Decision:
    """Whether the new version (its percent and label of each held-out crop by crop id)
    should replace the active one, under ``policy``."""
    import numpy as np

    from webapp.learn.versions import VersionError
    from webapp.operations.model_files import load_version

    if policy not in POLICIES:
        raise ValueError(f"activate must be one of {', '.join(POLICIES)}, not {policy!r}")
    ids = sorted(held_out)
    new = figures([held_out[i][0] for i in ids], np.array([held_out[i][1] for i in ids]))
    if policy == "always":
        return Decision(True, "activated as asked (always)", new=new)
    active_row = model_store.get_active_model_version(conn)
    if active_row is None:
        if policy == "never":
            return Decision(False, "kept inactive as asked (never); no version is active", new=new)
        return Decision(True, "the first version: there was no active one", new=new)
    try:
        active_version = load_version(conn, models_dir, active_row["directory"])
    except VersionError as error:
        if policy == "never":
            return Decision(False, "kept inactive as asked (never)", active_row["id"], new)
        return Decision(
            True, f"the active version cannot be loaded ({error})", active_row["id"], new
        )
    percents, scored_ids = _percents_of(conn, crops_dir, active_version, ids)
    new = figures(
        [held_out[i][0] for i in scored_ids], np.array([held_out[i][1] for i in scored_ids])
    )
    active = figures([held_out[i][0] for i in scored_ids], percents)
    compared = (
        f"target F1 {new.f1:.3f} against {active.f1:.3f}, ROC AUC {_auc(new)} against"
        f" {_auc(active)} on the same {new.crops} held-out crops"
    )
    if policy == "never":
        return Decision(
            False, f"kept inactive as asked (never): {compared}", active_row["id"], new, active
        )
    if new.beats_or_ties(active):
        return Decision(
            True, f"at least as good as version {active_row['id']}: {compared}",
            active_row["id"], new, active,
        )  # fmt: skip
    return Decision(
        False, f"worse than the active version {active_row['id']}: {compared}",
        active_row["id"], new, active,
    )  # fmt: skip


def _auc(figures: Figures) -> str:
    return "n/a" if figures.roc_auc is None else f"{figures.roc_auc:.3f}"
