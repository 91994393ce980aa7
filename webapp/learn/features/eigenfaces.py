"""The tutorial's features: preprocessed greyscale pixels, flattened; the PCA (the
eigenfaces proper) follows them in the model's pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from webapp.learn.features import EIGENFACES as EXTRACTOR
from webapp.learn.preprocess import DEFAULT_PRESET, get_preset, preprocess

NAME = EXTRACTOR.name


class EigenfacePixels(TransformerMixin, BaseEstimator):
    """Greyscale faces -> preprocessed, flattened pixels (stateless apart from the shape)."""

    def __init__(self, preset: str = DEFAULT_PRESET) -> None:
        self.preset = preset

    def fit(self, faces, y=None):
        get_preset(self.preset)  # fail at fit time for an unknown preset
        images = preprocess(faces[:1], self.preset)
        self.image_shape_ = tuple(images.shape[1:])
        return self

    def transform(self, faces) -> np.ndarray:
        images = preprocess(faces, self.preset)
        return images.reshape(len(images), -1)
