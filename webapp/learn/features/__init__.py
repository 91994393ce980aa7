"""The pluggable feature stage: what turns a face into the numbers the SVM sees.

An extractor is a scikit-learn transformer placed first in the model's pipeline, so a
saved model version always scores with the features it was trained on. Each extractor
says which stored form of a crop it reads:

- ``"face"``: the greyscale model input (``crops.face_file``, ``face_size`` square);
- ``"image"``: the colour crop with its margin (``crops.image_file``), BGR.

An ``"image"`` extractor is given either the bare crop (the face is then its centre: the
crop is the face box grown by the margin on each side) or a :class:`FaceInImage`, which
says where the face is (a crop clipped at the frame's edge, a selfie).

``eigenfaces`` (:mod:`webapp.learn.features.eigenfaces`) reads faces, preprocesses them
with a preset and flattens them; the PCA (the eigenfaces proper) follows it in the
pipeline. ``face-embeddings`` (:mod:`webapp.learn.features.embeddings`) reads images,
needs no PCA, and its per-crop descriptors are kept in the store (``cached_as``) so that
retraining does not recompute them. When no extractor is chosen, training uses the
highest-ranked one that is available.

The registry below describes them without loading them: the forms and commands that list
extractors start without scikit-learn, OpenCV or dlib, which load with the first
transformer made (``Extractor.make``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webapp.learn import face_models
from webapp.learn.features.base import Extractor, ExtractorError, FaceInImage

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from sklearn.base import TransformerMixin

__all__ = [
    "EXTRACTORS",
    "DEFAULT_EXTRACTOR",
    "EIGENFACES",
    "FACE_EMBEDDINGS",
    "Extractor",
    "ExtractorError",
    "FaceInImage",
    "default_extractor",
    "extractor_problems",
    "get_extractor",
]

# The SVM's RBF kernel in dlib's own metric: at gamma 4, two faces at its same-person
# threshold (0.6 apart) have kernel value 1/4. With enough target crops the width is chosen
# from EMBEDDINGS_KERNEL_GAMMAS by cross-validation that holds whole people out
# (webapp.learn.line), because a plain search ties (every width separates a movie's few
# people) and the widest then reaches people it was never shown. With fewer target crops,
# EMBEDDINGS_KERNEL_GAMMA is used as is.
EMBEDDINGS_KERNEL_GAMMA = 4.0
EMBEDDINGS_KERNEL_GAMMAS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def _eigenface_pixels(preset: str) -> TransformerMixin:
    from webapp.learn.features.eigenfaces import EigenfacePixels

    return EigenfacePixels(preset)


def _embedding_variants(faces: Sequence[FaceInImage]) -> np.ndarray:
    from webapp.learn.features.embeddings import describe_variants

    return describe_variants(faces)


def _face_embeddings(preset: str) -> TransformerMixin:
    from webapp.learn.features.embeddings import FaceEmbeddings

    return FaceEmbeddings()


EIGENFACES = Extractor(
    name="eigenfaces",
    description="The tutorial's: preprocessed greyscale pixels, whitened PCA, SVM.",
    reads="face",
    uses_pca=True,
    uses_preset=True,
    make=_eigenface_pixels,
)
FACE_EMBEDDINGS = Extractor(
    name="face-embeddings",
    description="dlib's face recognition ResNet: 128-d descriptors of the aligned face, SVM.",
    reads="image",
    uses_pca=False,
    uses_preset=False,
    make=_face_embeddings,
    rank=10,  # measured best (benchmarks/accuracy.py)
    problem=face_models.model_problem,
    cached_as=face_models.DESCRIPTOR_MODEL,
    kernel_gamma=EMBEDDINGS_KERNEL_GAMMA,
    kernel_gammas=EMBEDDINGS_KERNEL_GAMMAS,
    variants=_embedding_variants,
    variants_cached_as=f"{face_models.DESCRIPTOR_MODEL}/variants",
    min_per_class=1,
    aligns_faces=True,
)

# Every extractor this install knows. Face embeddings load dlib only when first used, so
# the app runs without it (their ``problem()`` then says what is missing).
EXTRACTORS: dict[str, Extractor] = {
    extractor.name: extractor for extractor in (EIGENFACES, FACE_EMBEDDINGS)
}
DEFAULT_EXTRACTOR = EIGENFACES.name  # needs nothing beyond the base install


def __getattr__(name: str) -> Any:
    # Model versions saved before extractors had modules of their own name the eigenfaces
    # transformer here: it stays importable from here (loaded when asked for) so they load.
    if name == "EigenfacePixels":
        from webapp.learn.features.eigenfaces import EigenfacePixels

        return EigenfacePixels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def extractor_problems() -> dict[str, str | None]:
    """Why each extractor cannot be used on this install (None: it can)."""
    return {name: extractor.problem() for name, extractor in EXTRACTORS.items()}


def default_extractor(
    setting: str | None = None, problems: dict[str, str | None] | None = None
) -> str:
    """The extractor a training run uses when none is chosen: ``setting`` (the app's
    ``EXTRACTOR``) when given, else the highest-ranked one available on this install
    (``problems``, from :func:`extractor_problems`, when the caller has them already)."""
    if setting:
        return setting
    problems = extractor_problems() if problems is None else problems
    usable = [e for name, e in EXTRACTORS.items() if problems.get(name) is None]
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
