"""Face embeddings: 128-d descriptors from dlib's face recognition ResNet.

The face is found by OpenCV's Haar detector elsewhere (fast); here dlib only aligns it
(5-point landmarks, ``shape_predictor_5_face_landmarks.dat``, on the Haar box) and describes
the aligned 150x150 chip (``dlib_face_recognition_resnet_model_v1.dat``). Two photos of
one person are usually less than 0.6 apart, two people more.

Both model files ship in the PyPI package ``face-recognition-models``; dlib comes as wheels
in ``dlib-bin``. The files are found through the package's folder, never by importing it
(its ``__init__`` imports ``pkg_resources``, gone from recent setuptools), or in the folder
the FACE_MODELS setting names (:func:`use_model_folder`). Nothing is downloaded: without
them, :func:`model_problem` says what is missing and how to add it, and the app trains
with eigenfaces.

The ResNet runs on onnxruntime (:mod:`webapp.learn.features.dlib_resnet`: dlib's file is
converted once into an ONNX graph, cached under a name from the file's hash): the same
descriptors, many times faster than the ResNet in dlib's wheels, which stays available as
a runtime for comparison (:func:`use_runtime`). One thread per process: the app runs one
process per core (gunicorn's workers, the describe job's processes).
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from webapp.learn.features import dlib_resnet
from webapp.learn.features.base import Extractor, FaceInImage
from webapp.vision import cv2

log = logging.getLogger(__name__)

NAME = "face-embeddings"
DESCRIPTOR_MODEL = "dlib-resnet-v1"  # what the store keeps descriptors under
VARIANTS_MODEL = f"{DESCRIPTOR_MODEL}/variants"  # and a target crop's variants under
SIZE = 128
SHAPE_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
PACKAGE = "face_recognition_models"
INSTALL = "pip install dlib-bin face-recognition-models"
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # dlib's: what the ResNet was trained on
# The SVM's RBF kernel in dlib's own metric: at gamma 4, two faces at its same-person
# threshold (0.6 apart) have kernel value 1/4. With enough target crops the width is chosen
# from these by cross-validation that holds whole people out (webapp.learn.line), because a
# plain search ties (every width separates a movie's few people) and the widest then
# reaches people it was never shown. With fewer target crops, KERNEL_GAMMA is used as is.
KERNEL_GAMMA = 4.0
KERNEL_GAMMAS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
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
_chosen_folder: Path | None = None
_cache_folder: Path | None = None
_runtime = "onnxruntime"


def use_model_folder(folder: str | Path | None) -> None:
    """Look for dlib's model files in ``folder`` (the FACE_MODELS setting) instead of the
    installed package; None goes back to the package. Set once per process at start."""
    global _chosen_folder
    _chosen_folder = Path(folder) if folder else None


def use_cache_folder(folder: str | Path | None) -> None:
    """Keep the converted ResNet in ``folder`` (the app's: ``<instance>/cache``); None: a
    folder in the system's temporary directory."""
    global _cache_folder
    _cache_folder = Path(folder) if folder else None


def use_runtime(name: str) -> None:
    """Run the ResNet on ``onnxruntime`` (the app's) or on ``dlib`` (to compare them)."""
    global _runtime
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; one of: {', '.join(RUNTIMES)}")
    _runtime = name


def model_folder() -> Path | None:
    """The folder holding the model files: the one chosen with :func:`use_model_folder`,
    else the ``models`` folder of the installed ``face-recognition-models`` package (found
    without importing it), else None."""
    if _chosen_folder is not None:
        return _chosen_folder
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _dlib_missing() -> bool:
    return importlib.util.find_spec("dlib") is None


def model_problem() -> str | None:
    """Why face embeddings cannot be used here (what is missing, how to add it), or None."""
    missing = []
    if _dlib_missing():
        missing.append("the dlib library")
    folder = model_folder()
    files = [n for n in (SHAPE_FILE, RESNET_FILE) if not (folder and (folder / n).is_file())]
    if files:
        where = f" (looked in {folder})" if folder else ""
        missing.append(f"dlib's model files {' and '.join(files)}{where}")
    if not missing:
        return None
    return (
        f"Face embeddings are not available: {' and '.join(missing)} not installed."
        f" Add them with `{INSTALL}` in the app's environment and restart it;"
        " until then training uses eigenfaces."
    )


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
    cache = _cache_folder or Path(tempfile.gettempdir()) / "lookalike-cache"
    return _load(str(model_folder()), str(cache), _runtime)


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
    import dlib

    shape_predictor, _ = load_models()
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
    _, describe = load_models()
    return describe([face_chip(face) for face in faces])


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


EXTRACTOR = Extractor(
    name=NAME,
    description="dlib's face recognition ResNet: 128-d descriptors of the aligned face, SVM.",
    reads="image",
    uses_pca=False,
    uses_preset=False,
    make=lambda preset: FaceEmbeddings(),
    rank=10,  # measured best (benchmarks/accuracy.py)
    problem=model_problem,
    cached_as=DESCRIPTOR_MODEL,
    kernel_gamma=KERNEL_GAMMA,
    kernel_gammas=KERNEL_GAMMAS,
    variants=describe_variants,
    variants_cached_as=VARIANTS_MODEL,
    min_per_class=1,
)
