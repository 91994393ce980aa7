"""The pluggable feature stage: what turns a face into the numbers the SVM sees.

An extractor is a scikit-learn transformer placed first in the model's pipeline, so a
saved model version always scores with the features it was trained on. Each extractor
says which stored form of a crop it reads:

- ``"face"``: the greyscale model input (``crops.face_file``, ``face_size`` square);
- ``"image"``: the colour crop with its margin (``crops.image_file``), BGR.

``eigenfaces`` reads faces, preprocesses them with a preset and flattens them; the PCA
(the eigenfaces proper) follows it in the pipeline. A descriptor-based extractor (issue 6:
``face-embeddings``) registers here with ``reads="image"`` and ``uses_pca=False``.
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
DEFAULT_EXTRACTOR = "eigenfaces"


def register_extractor(extractor: Extractor) -> None:
    """Add (or replace) an extractor, e.g. one that needs an optional library."""
    EXTRACTORS[extractor.name] = extractor


def get_extractor(name: str) -> Extractor:
    """The extractor called ``name``.

    :raise ExtractorError: for an unknown name.
    """
    try:
        return EXTRACTORS[name]
    except KeyError:
        known = ", ".join(EXTRACTORS)
        raise ExtractorError(f"unknown extractor {name!r}; choose one of: {known}") from None
