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
(:mod:`webapp.learn.features.embeddings`) reads images, needs no PCA, and its per-crop descriptors
are kept in the store (``cached_as``) so that retraining does not recompute them.
When no extractor is chosen, training uses the highest-ranked one that is available.
"""

from __future__ import annotations

from webapp.learn.features import eigenfaces, embeddings
from webapp.learn.features.base import Extractor, ExtractorError, FaceInImage

# Model versions saved before extractors had modules of their own name the eigenfaces
# transformer here: keep the name importable so they load.
from webapp.learn.features.eigenfaces import EigenfacePixels  # noqa: F401

__all__ = [
    "EXTRACTORS",
    "DEFAULT_EXTRACTOR",
    "Extractor",
    "ExtractorError",
    "FaceInImage",
    "default_extractor",
    "extractor_problems",
    "get_extractor",
]

# Every extractor this install knows. Face embeddings load dlib only when first used, so
# the app runs without it (their ``problem()`` then says what is missing).
EXTRACTORS: dict[str, Extractor] = {
    extractor.name: extractor for extractor in (eigenfaces.EXTRACTOR, embeddings.EXTRACTOR)
}
DEFAULT_EXTRACTOR = eigenfaces.NAME  # needs nothing beyond the base install


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
