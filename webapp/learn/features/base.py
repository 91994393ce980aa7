"""What every feature extractor is: a scikit-learn transformer placed first in the model's
pipeline, described by an :class:`Extractor` record (what it reads, whether a PCA follows
it, where its per-crop features are kept). Neither numpy nor scikit-learn is loaded here:
the records are read by forms and commands that never make a transformer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from sklearn.base import TransformerMixin

Reads = Literal["face", "image"]


class ExtractorError(ValueError):
    """An unknown or unavailable extractor; the message says what to do."""


@dataclass(frozen=True)
class FaceInImage:
    """A colour picture (BGR) and the face box in it, ``(x, y, w, h)`` in its pixels."""

    image: np.ndarray
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Extractor:
    name: str
    description: str
    reads: Reads
    uses_pca: bool  # whether the model puts a whitened PCA between features and SVM
    uses_preset: bool
    make: Callable[[str], TransformerMixin]  # preset -> a new (unfitted) transformer
    rank: int = 0  # measured quality: with no choice made, the best available one is used
    # Why it cannot be used on this install (a missing library or model file), or None.
    problem: Callable[[], str | None] = lambda: None
    # The name its per-crop features are kept under in the store; None: never kept.
    cached_as: str | None = None
    # The RBF kernel's gamma for features with a metric of their own; None: searched, as
    # multiples of 1/width (right for whitened PCA components of unit variance).
    kernel_gamma: float | None = None
    # Gammas in that metric the line search chooses from when there are enough target
    # crops (webapp.learn.line); empty: kernel_gamma is always used.
    kernel_gammas: tuple[float, ...] = ()
    # Extra training points made from a target crop's picture (mirrored, jittered): faces
    # in, an array (faces, variants, features) out; None: none. Kept in the store under
    # variants_cached_as, like the crops' features.
    variants: Callable[[Sequence[FaceInImage]], np.ndarray] | None = None
    variants_cached_as: str | None = None
    # Fewest labelled crops of each class it trains from: a PCA needs many faces, a face
    # descriptor recognises a person from one photo.
    min_per_class: int = 8
    # Whether its features come from the face aligned on landmarks it finds itself, so that
    # a box a few pixels off gives nearly the same features; False: it reads the box's own
    # pixels, and every pixel the box moves is another input. The selfie path looks for
    # faces more cheaply for the first kind (webapp.operations.selfies).
    aligns_faces: bool = False
