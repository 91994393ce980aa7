"""Named preprocessing presets for the greyscale model input (the eigenfaces path).

Each preset turns a stack of greyscale faces (``n x side x side``, uint8) into float32
images of one working side. ``seed`` is the tutorial's recipe, kept so its results can be
reproduced; the others were measured against it on the development data
(``benchmarks/accuracy.py``) and :data:`DEFAULT_PRESET` names the best.

The presets' names and descriptions are read by forms and commands that never preprocess
a face: numpy and OpenCV load with the first preprocessing, not with this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SEED_THRESHOLD = 0.25


class PresetError(ValueError):
    """An unknown preset name; the message lists the known ones."""


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    side: int | None  # working side in pixels; None keeps the crops' own size
    step: Callable[[np.ndarray], np.ndarray]  # one float32 face in 0..255 -> float32 face


def _divide_by_max(face: np.ndarray) -> np.ndarray:
    top = float(face.max())
    return face / top if top > 0 else face


def _seed(face: np.ndarray) -> np.ndarray:
    # The tutorial: scale to 0..1 by the brightest pixel, blur 5x5, then segment: pixels
    # brighter than 0.25 become 1, the rest 0 (a binary mask of the lit face).
    import numpy as np

    from webapp.vision import cv2

    blurred = cv2.GaussianBlur(_divide_by_max(face), (5, 5), 0)
    return (blurred > SEED_THRESHOLD).astype(np.float32)


def _plain(face: np.ndarray) -> np.ndarray:
    return face / 255.0


def _equalize(face: np.ndarray) -> np.ndarray:
    # Histogram equalisation then zero mean / unit variance per face: removes the
    # overall brightness and contrast of a scene, which otherwise dominate the first
    # eigenfaces and let the model learn the film's lighting instead of the face.
    import numpy as np

    from webapp.vision import cv2

    equalized = cv2.equalizeHist(face.astype(np.uint8)).astype(np.float32)
    return _standardize(equalized)


def _clahe(face: np.ndarray) -> np.ndarray:
    import numpy as np

    from webapp.vision import cv2

    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    return _standardize(clahe.apply(face.astype(np.uint8)).astype(np.float32))


def _standardize(face: np.ndarray) -> np.ndarray:
    spread = float(face.std())
    return (face - face.mean()) / (spread if spread > 0 else 1.0)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "seed",
            "The tutorial's: divide by the maximum, Gaussian blur 5x5, threshold at 0.25.",
            None,
            _seed,
        ),
        Preset("plain", "Pixels scaled to 0..1 at 64x64, nothing else.", 64, _plain),
        Preset(
            "equalize",
            "64x64, histogram equalised, each face to zero mean and unit variance.",
            64,
            _equalize,
        ),
        Preset(
            "clahe",
            "64x64, local (CLAHE) histogram equalisation, zero mean and unit variance.",
            64,
            _clahe,
        ),
    )
}
# The best preset over the tasks of benchmarks/accuracy.py taken together (figures in
# docs/accuracy.md; clahe does better on the photos task alone).
DEFAULT_PRESET = "plain"


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    :raise PresetError: for an unknown name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise PresetError(f"unknown preset {name!r}; choose one of: {known}") from None


def preprocess(faces: np.ndarray | list[np.ndarray], preset: str) -> np.ndarray:
    """Apply ``preset`` to greyscale faces; returns ``n x side x side`` float32."""
    import numpy as np

    from webapp.vision import cv2

    chosen = get_preset(preset)
    out = []
    for face in faces:
        face = np.asarray(face)
        if face.ndim != 2:
            raise ValueError(f"expected greyscale faces, got an array of shape {face.shape}")
        if chosen.side and face.shape != (chosen.side, chosen.side):
            interpolation = cv2.INTER_AREA if face.shape[0] > chosen.side else cv2.INTER_LINEAR
            face = cv2.resize(face, (chosen.side, chosen.side), interpolation=interpolation)
        out.append(chosen.step(face.astype(np.float32)).astype(np.float32))
    if not out:
        side = chosen.side or 0
        return np.zeros((0, side, side), dtype=np.float32)
    return np.stack(out)
