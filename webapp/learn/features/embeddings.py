"""Face embeddings: 128-d descriptors from dlib's face recognition ResNet.

The face is found by OpenCV's Haar detector elsewhere (fast); here dlib only aligns it
(5-point landmarks, ``shape_predictor_5_face_landmarks.dat``, on the Haar box) and describes
the aligned 150x150 chip (``dlib_face_recognition_resnet_model_v1.dat``). Two photos of
one person are usually less than 0.6 apart, two people more.

Where the model files are, and what is missing when they are not, is
:mod:`webapp.learn.face_models`' business (its names are re-exported here); the extractor's
record is ``webapp.learn.features.FACE_EMBEDDINGS``.

The ResNet runs on onnxruntime (:mod:`webapp.learn.features.dlib_resnet`: dlib's file is
converted once into an ONNX graph, cached under a name from the file's hash): the same
descriptors, many times faster than the ResNet in dlib's wheels, which stays available as
a runtime for comparison (:func:`use_runtime`). One thread per process: the app runs one
process per core (gunicorn's workers, the describe job's processes).
"""

from __future__ import annotations

import importlib.util
import logging
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from webapp.learn.face_models import (  # noqa: F401 - re-exported: this module's public names
    DESCRIPTOR_MODEL,
    INSTALL,
    PACKAGE,
    RESNET_FILE,
    SHAPE_FILE,
    cache_folder,
    model_folder,
    model_problem,
    use_cache_folder,
    use_model_folder,
)
from webapp.learn.features import FACE_EMBEDDINGS as EXTRACTOR
from webapp.learn.features import dlib_resnet
from webapp.learn.features.base import FaceInImage
from webapp.vision import cv2

log = logging.getLogger(__name__)

NAME = EXTRACTOR.name
KERNEL_GAMMA = EXTRACTOR.kernel_gamma
KERNEL_GAMMAS = EXTRACTOR.kernel_gammas
VARIANTS_MODEL = EXTRACTOR.variants_cached_as
SIZE = 128
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # dlib's: what the ResNet was trained on
# Each target crop also trains as its mirror image and as JITTERS slightly moved copies:
# one photo per event teaches little about the same face turned or framed a little
# differently, which is what the target's photos from other events look like.
JITTERS = 6
VARIANTS = 1 + JITTERS
# dlib's own jitter (dlib.jitter_image): the crop moved by up to 2% of its size, zoomed to
# 97-100% and turned by up to 3 degrees, mirrored half the time. Redone here with a seeded
# generator: dlib's keeps one generator per process, so the same crops would give other
# copies at each training in one process.
JITTER_SHIFT, JITTER_ZOOM, JITTER_DEGREES = 0.02, (0.97, 0.99999), 3.0
# Larger faces are shrunk to this width before aligning: the chip holds the face at about
# 100 px, so more detail is thrown away anyway, and smaller pictures align faster.
MAX_FACE_WIDTH = 300


class EmbeddingsUnavailable(RuntimeError):
    """dlib or its model files are missing; the message says what to install."""


RUNTIMES = ("onnxruntime", "dlib")
_runtime = "onnxruntime"


def use_runtime(name: str) -> None:
    """Run the ResNet on ``onnxruntime`` (the app's) or on ``dlib`` (to compare them)."""
    global _runtime
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; one of: {', '.join(RUNTIMES)}")
    _runtime = name


Describer = Callable[[list[np.ndarray]], np.ndarray]


@lru_cache(maxsize=4)
def _load(folder: str, cache: str, runtime: str) -> tuple[Any, Describer]:
    import dlib

    shape_predictor = dlib.shape_predictor(str(Path(folder) / SHAPE_FILE))
    resnet_file = Path(folder) / RESNET_FILE
    if runtime == "onnxruntime" and importlib.util.find_spec("onnxruntime") is not None:
        runner = dlib_resnet.ResNetRunner(dlib_resnet.converted_model(resnet_file, Path(cache)))
        return shape_predictor, runner.describe
    if runtime == "onnxruntime":
        log.warning("onnxruntime is not installed: dlib runs the ResNet, many times slower")
    resnet = dlib.face_recognition_model_v1(str(resnet_file))

    def describe(chips: list[np.ndarray]) -> np.ndarray:
        vectors = resnet.compute_face_descriptor(chips) if chips else []
        return np.array([np.asarray(v) for v in vectors], dtype=np.float32).reshape(-1, SIZE)

    return shape_predictor, describe


def load_models() -> tuple[Any, Describer]:
    """dlib's shape predictor and the ResNet (a function from chips to descriptors),
    loaded once per process; the first load may convert the ResNet (well under a second).

    :raise EmbeddingsUnavailable: dlib or a model file is missing.
    """
    problem = model_problem()
    if problem:
        raise EmbeddingsUnavailable(problem)
    return _load(str(model_folder()), str(cache_folder()), _runtime)


def face_box_in_crop(shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    """The face box in a crop cut as the face grown by ``margin`` of its size per side."""
    height, width = shape[:2]
    w, h = width / (1 + 2 * margin), height / (1 + 2 * margin)
    return (round((width - w) / 2), round((height - h) / 2), round(w), round(h))


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def face_chip(face: FaceInImage) -> np.ndarray:
    """The face aligned on its 5 landmarks, as the 150x150 RGB chip the ResNet reads."""
    shape_predictor, _ = load_models()
    return _chip(face, shape_predictor)


def _chip(face: FaceInImage, shape_predictor: Any) -> np.ndarray:
    import dlib

    image = face.image
    x, y, w, h = face.box
    if w > MAX_FACE_WIDTH:
        scale = MAX_FACE_WIDTH / w
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        x, y, w, h = (round(v * scale) for v in (x, y, w, h))
    rgb = np.ascontiguousarray(_rgb(image))
    landmarks = shape_predictor(rgb, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    return dlib.get_face_chip(rgb, landmarks, size=CHIP_SIZE, padding=CHIP_PADDING)


def jitter_chip(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of a square chip moved, zoomed and turned a little, and mirrored half the time,
    as ``dlib.jitter_image`` does (same ranges; black where the copy leaves the chip)."""
    size = chip.shape[0]
    side = size - 6  # dlib jitters the chip's rectangle shrunk by 3 pixels on each side
    middle = (size - 1) / 2
    centre = middle + rng.uniform(-JITTER_SHIFT, JITTER_SHIFT, 2) * side
    box = side / rng.uniform(*JITTER_ZOOM)
    angle = np.deg2rad(rng.uniform(-JITTER_DEGREES, JITTER_DEGREES))
    cos, sin = np.cos(angle), np.sin(angle)
    turn = box / size * np.array([[cos, -sin], [sin, cos]])
    # Output pixel p reads the chip at centre + turn @ (p - middle).
    matrix = np.hstack([turn, (centre - turn @ np.array([middle, middle]))[:, None]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(chip, matrix, (size, size), flags=flags, borderValue=0)
    if rng.random() > 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def variant_chips(chip: np.ndarray) -> list[np.ndarray]:
    """The chip's mirror image, then :data:`JITTERS` jittered copies. The generator is
    seeded from the chip's pixels: the same crop always gives the same copies."""
    rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(chip).tobytes()))
    mirrored = np.ascontiguousarray(chip[:, ::-1])
    return [mirrored, *(jitter_chip(chip, rng) for _ in range(JITTERS))]


def describe_variants(faces: Sequence[FaceInImage]) -> np.ndarray:
    """The descriptors of each face's variants (:func:`variant_chips`), shape
    ``(len(faces), VARIANTS, 128)``: each face aligned once, the ResNet run in one batch.

    :raise EmbeddingsUnavailable: dlib or a model file is missing.
    """
    _, describe = load_models()
    chips = [chip for face in faces for chip in variant_chips(face_chip(face))]
    return describe(chips).reshape(len(faces), VARIANTS, SIZE)


def describe_faces(faces: Sequence[FaceInImage]) -> np.ndarray:
    """One 128-d float32 descriptor per face, shape ``(len(faces), 128)``, the ResNet run
    on them in batches.

    :raise EmbeddingsUnavailable: dlib or a model file is missing.
    """
    # Loaded (and the model files checked) once for all the faces, not once per face.
    shape_predictor, describe = load_models()
    return describe([_chip(face, shape_predictor) for face in faces])


def describe_face(image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The descriptor of the face at ``box`` in a colour picture (a selfie: in memory)."""
    return describe_faces([FaceInImage(image_bgr, box)])[0]


def is_descriptor(item: Any) -> bool:
    return isinstance(item, np.ndarray) and item.shape == (SIZE,)


def descriptors_of(items: Sequence[Any], crop_margin: float = 0.25) -> np.ndarray:
    """Descriptors for a mix of kept descriptors (used as they are), :class:`FaceInImage`
    and bare crops (the face is their centre), in one batch."""
    out = np.zeros((len(items), SIZE), dtype=np.float32)
    todo, at = [], []
    for i, item in enumerate(items):
        if is_descriptor(item):
            out[i] = item
        else:
            face = item if isinstance(item, FaceInImage) else None
            if face is None:
                image = np.asarray(item)
                face = FaceInImage(image, face_box_in_crop(image.shape, crop_margin))
            todo.append(face)
            at.append(i)
    if todo:
        out[at] = describe_faces(todo)
    return out


class FaceEmbeddings(TransformerMixin, BaseEstimator):
    """Faces (crops, :class:`FaceInImage`, or kept descriptors) -> dlib descriptors."""

    def __init__(self, crop_margin: float = 0.25) -> None:
        self.crop_margin = crop_margin

    def fit(self, faces, y=None):
        self.descriptor_size_ = SIZE  # stateless: fitted once fit was called
        return self

    def transform(self, faces) -> np.ndarray:
        return descriptors_of(faces, self.crop_margin)
