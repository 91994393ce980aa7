"""Scoring a photo with a model version, exactly as the public page does.

The largest face is detected with the same Haar detector extraction uses and cut out in
the form the version's extractor was trained on: the greyscale model input of the
version's face size, or the colour crop with the extraction margin (and where the face is
in it: a crop clipped at the photo's edge has a smaller margin on that side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from webapp.learn.features import FaceInImage, get_extractor
from webapp.learn.model import look_alike_percents
from webapp.learn.versions import ModelVersion
from webapp.vision.faces import Box, FaceDetector, cut, margin_box, model_input


@dataclass(frozen=True)
class FaceScore:
    box: Box
    percent: float  # look-alike percentage, 0..100, unrounded (round only for display)
    is_target: bool  # percent >= 50


def face_for_model(
    version: ModelVersion, image_bgr: np.ndarray, face: Box
) -> np.ndarray | FaceInImage:
    """The face in the form ``version``'s extractor reads."""
    if get_extractor(version.extractor).reads == "image":
        height, width = image_bgr.shape[:2]
        around = margin_box(face, version.crop_margin, width, height)
        inside = (face.x - around.x, face.y - around.y, face.w, face.h)
        return FaceInImage(cut(image_bgr, around), inside)
    return model_input(image_bgr, face, version.face_size)


def score_faces(
    version: ModelVersion,
    image_bgr: np.ndarray,
    faces: list[Box],
    known: Mapping[Box, np.ndarray] | None = None,
) -> list[FaceScore]:
    """Every face of one picture scored in one batch (the features of all of them at once).

    ``known``: features already computed for some of the boxes by the version's feature
    step, used as they are; only for an extractor whose features are kept
    (``Extractor.cached_as``: its feature step reads its own output back).
    """
    if not faces:
        return []
    known = known or {}
    inputs = [
        known[face] if face in known else face_for_model(version, image_bgr, face) for face in faces
    ]
    percents = look_alike_percents(version.pipeline, inputs)
    return [
        FaceScore(face, float(p), bool(p >= 50)) for face, p in zip(faces, percents, strict=True)
    ]


def score_face(version: ModelVersion, image_bgr: np.ndarray, face: Box) -> FaceScore:
    return score_faces(version, image_bgr, [face])[0]


def score_largest_face(
    version: ModelVersion, image_bgr: np.ndarray, detector: FaceDetector
) -> FaceScore | None:
    """The look-alike score of the largest face in a BGR photo, or None without a face."""
    faces = detector.detect(image_bgr)
    if not faces:
        return None
    return score_face(version, image_bgr, faces[0])
