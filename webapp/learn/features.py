"""The pluggable feature stage: what turns a face into the numbers the SVM sees.

An extractor is a scikit-learn transformer placed first in the model's pipeline, so a
saved model version always scores with the features it was trained on. Each extractor
says which stored form of a crop it reads:

- ``"face"``: the greyscale model input (``crops.face_file``, ``face_size`` square);
- ``"image"``: the colour crop with its margin (``crops.image_file``), BGR.

An ``"image"`` extractor is given either the bare crop (the face is then its centre: the
crop is the face box grown by the margin on each side) or a :class:`FaceInImage`, which
says where the face is (a crop clipped at the frame's edge, a selfie).

``eigenfaces`` reads faces, preprocesses them with a preset and flattens them; the PCA
(the eigenfaces proper) follows it in the pipeline. ``face-embeddings``
(:mod:`webapp.learn.embeddings`) reads images, needs no PCA, and its per-crop descriptors
are kept in the store (``cached_as``) so that retraining does not recompute them.
When no extractor is chosen, training uses the highest-ranked one that is available.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from webapp.learn.preprocess import DEFAULT_PRESET, get_preset, preprocess

Reads = Literal["face", "image"]


class ExtractorError(ValueError):
    """An unknown or unavailable extractor; the message says what to do."""


@dataclass(frozen=True)
class FaceInImage:
    """A colour picture (BGR) and the face box in it, ``(x, y, w, h)`` in its pixels."""

    image: np.ndarray
    box: tuple[int, int, int, int]


class EigenfacePixels(TransformerMixin, BaseEstimator):
    """Greyscale faces -> preprocessed, flattened pixels (stateless apart from the shape)."""

    def __init__(self, preset: str = DEFAULT_PRESET) -> None:
        self.preset = preset

    def fit(self, faces, y=None):  # noqa: ANN001 - scikit-learn's signature
        get_preset(self.preset)  # fail at fit time for an unknown preset
        images = preprocess(faces[:1], self.preset)
        self.image_shape_ = tuple(images.shape[1:])
        return self

    def transform(self, faces) -> np.ndarray:  # noqa: ANN001
        images = preprocess(faces, self.preset)
        return images.reshape(len(images), -1)


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


EXTRACTORS: dict[str, Extractor] = {
    "eigenfaces": Extractor(
        name="eigenfaces",
        description="The tutorial's: preprocessed greyscale pixels, whitened PCA, SVM.",
        reads="face",
        uses_pca=True,
        uses_preset=True,
        make=lambda preset: EigenfacePixels(preset),
    ),
}
DEFAULT_EXTRACTOR = "eigenfaces"  # needs nothing beyond the base install


def register_extractor(extractor: Extractor) -> None:
    """Add (or replace) an extractor, e.g. one that needs an optional library."""
    EXTRACTORS[extractor.name] = extractor


def default_extractor(setting: str | None = None) -> str:
    """The extractor a training run uses when none is chosen: ``setting`` (the app's
    ``EXTRACTOR``) when given, else the highest-ranked one available on this install."""
    if setting:
        return setting
    usable = [e for e in EXTRACTORS.values() if e.problem() is None]
    return max(usable, key=lambda e: e.rank).name if usable else DEFAULT_EXTRACTOR


def get_extractor(name: str) -> Extractor:
    """The extractor called ``name``.

    :raise ExtractorError: for an unknown name.
    """
    try:
        return EXTRACTORS[name]
    except KeyError:
        known = ", ".join(EXTRACTORS)
        raise ExtractorError(f"unknown extractor {name!r}; choose one of: {known}") from None


# Registers face-embeddings (imported last: it builds on the names above). It loads dlib
# only when first used, so the app runs without it.
from webapp.learn import embeddings as _embeddings  # noqa: E402, F401
