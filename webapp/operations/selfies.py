"""Scoring a visitor's photo with the active model: what the public page and API run.

The photo is decoded in memory at most ``SELFIE_WIDTH`` pixels wide (big JPEGs straight
from the DCT at 1/2-1/8 scale); its faces are looked for as the model's features need, and
each face is scored from the 640 px picture with the model version it came from. Nothing
about the photo is stored.

How faces are looked for depends on the model's extractor (:class:`SelfieFinders`):

- face embeddings align each face on landmarks of their own, so the box only has to find
  the face: a 300 px wide copy with a coarse pyramid first, and only when that finds no
  face, the cascade again, densely on a 400 px copy, before the rest of the second pass
  (``webapp.vision.find``). On the development photos the cheap look finds every real
  face the dense one finds, for much less work (docs/performance.md);
- eigenfaces read the box's own pixels, so a box a few pixels off is another input: the
  dense look answers first, as it always has, and their scores stay what they were.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from webapp.learn.features import get_extractor
from webapp.learn.look_alike import FaceScore, face_for_model, score_faces
from webapp.learn.versions import ModelVersion
from webapp.vision import cv2
from webapp.vision.faces import Box, DetectorSettings, encode_png
from webapp.vision.find import FaceFinder, SecondPass, detector_for, shared_verifier
from webapp.vision.images import FORMATS, DecodedImage, ImageLimits, decode_upload

SELFIE_WIDTH = 640
# Finds faces down to 24 / 300 = 8% of the photo's width (the smallest real face in the
# development photos is 8%), one pyramid level per 20% of face size.
SELFIE_DETECTOR = DetectorSettings(detect_width=300, scale_factor=1.2, min_neighbors=2)
# The second pass's first look: faces down to 24 / 400 = 6% of the width, a level per 10%.
SELFIE_DENSER = DetectorSettings(detect_width=400, scale_factor=1.1, min_neighbors=5)


@dataclass(frozen=True)
class SelfieFinders:
    """How visitors' photos are searched, by the kind of features a model reads: every box
    verified, and a second, more sensitive pass before answering "no face".

    ``cheap``: for extractors that align faces on their own landmarks (the first look
    coarse, the dense one only before saying "no face"); ``dense``: for those that read
    the box's pixels (the dense look first).
    """

    cheap: FaceFinder
    dense: FaceFinder

    def for_extractor(self, name: str) -> FaceFinder:
        return self.cheap if first_look(name) == "cheap" else self.dense


def first_look(extractor: str) -> str:
    """Which look finds the faces of a model of ``extractor`` first: "cheap" (it aligns
    faces on its own landmarks) or "dense" (it reads the box's pixels)."""
    return "cheap" if get_extractor(extractor).aligns_faces else "dense"


def selfie_finders() -> SelfieFinders:
    """The app's finders (one pair per process: each holds a cascade per thread)."""
    verifier = shared_verifier()
    return SelfieFinders(
        cheap=FaceFinder(detector_for(SELFIE_DETECTOR), verifier, SecondPass(denser=SELFIE_DENSER)),
        dense=FaceFinder(detector_for(SELFIE_DENSER), verifier, SecondPass()),
    )


class NoFaceFound(Exception):
    """The photo holds no face the detector can find."""


@dataclass(frozen=True)
class PhotoScore:
    """Every face of one photo, largest first, scored by one model version."""

    image: DecodedImage
    faces: list[FaceScore]
    model_version: str

    @property
    def main(self) -> FaceScore:
        return self.faces[0]

    def original_box(self, face: FaceScore) -> list[int]:
        """The face's box in the photo as uploaded (upright), not in the reduced copy."""
        scale = self.image.scale
        return [round(v / scale) for v in face.box.as_tuple()]

    def as_dict(self, target_name: str) -> dict[str, Any]:
        return {
            "look_alike_percent": round(self.main.percent, 1),
            "target": target_name,
            "model_version": self.model_version,
            "faces": [
                {"box": self.original_box(face), "look_alike_percent": round(face.percent, 1)}
                for face in self.faces
            ],
        }


def score_photo(
    version: ModelVersion,
    data: bytes,
    limits: ImageLimits,
    finders: SelfieFinders,
    formats: dict[str, str] = FORMATS,
) -> PhotoScore:
    """Decode an uploaded photo (of one of ``formats``) and score every face in it, found
    by the finder for the version's extractor.

    :raise ImageError: the upload is empty, too big, not an accepted image, or corrupt.
    :raise NoFaceFound: no face in it.
    """
    image = decode_upload(data, limits, max_width=SELFIE_WIDTH, formats=formats)
    ahead = FeaturesAhead(version, image.bgr)
    finder = finders.for_extractor(version.extractor)
    boxes = finder.find(image.bgr, candidates=ahead.start)
    if not boxes:
        raise NoFaceFound("No face was found in the photo.")
    faces = score_faces(version, image.bgr, boxes, known=ahead.features())
    return PhotoScore(image, faces, version.directory)


# The most candidate faces of one photo described before the check: a selfie or a small
# group; the faces of a larger group the check keeps are described after it.
AHEAD_MAX = 4


class FeaturesAhead:
    """The features of the first look's candidate faces, computed on another thread while
    the verifier checks them.

    For face embeddings the two are the larger part of a photo's time, and they run side
    by side: onnxruntime releases Python's GIL while the ResNet runs, and dlib's check
    mostly runs beside it (a 720p selfie: about 3.5 ms sooner, docs/performance.md). A
    candidate the verifier drops was described for nothing; the first look's boxes are
    nearly all faces; at most :data:`AHEAD_MAX` of them, the largest, are described ahead,
    so that a picture full of false faces (a texture, a crowd print) costs at most that
    many ResNet runs more than the faces the check keeps. Only for extractors whose
    features are kept (their feature step reads its own output back); eigenfaces' are
    cheap and computed in line.
    """

    def __init__(self, version: ModelVersion, image_bgr: np.ndarray) -> None:
        self.version, self.image = version, image_bgr
        self._boxes: list[Box] = []
        self._future: Future[np.ndarray] | None = None

    def start(self, boxes: list[Box]) -> None:
        if get_extractor(self.version.extractor).cached_as is None:
            return
        self._boxes = list(boxes[:AHEAD_MAX])  # largest first: the likeliest faces
        inputs = [face_for_model(self.version, self.image, box) for box in self._boxes]
        self._future = _describer(os.getpid()).submit(self.version.pipeline[0].transform, inputs)

    def features(self) -> dict[Box, np.ndarray]:
        """The candidates' features by box (empty: none were started, or they failed)."""
        if self._future is None:
            return {}
        try:
            vectors = self._future.result()
        except Exception:  # scoring computes them again in line, and says why it fails
            return {}
        return dict(zip(self._boxes, vectors, strict=True))


@lru_cache(maxsize=1)
def _describer(pid: int) -> ThreadPoolExecutor:
    """This process's threads for :class:`FeaturesAhead` (one pool per process id: a forked
    child gets its own, not its parent's threads, which it does not have). Four, as many
    as gunicorn's threads per worker by default: with more threads (LOOKALIKE_THREADS),
    a photo's faces may wait for another's, on a core that is busy anyway."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="features-ahead")


def face_png(score: PhotoScore, face: FaceScore) -> bytes:
    """The scored face, cut from the (reduced) photo, as PNG bytes for the result page."""
    box = face.box
    return encode_png(score.image.bgr[box.y : box.y + box.h, box.x : box.x + box.w])


def photo_with_boxes_jpeg(score: PhotoScore) -> bytes:
    """The photo with each face boxed and numbered (1 = the largest), as JPEG bytes."""
    picture = score.image.bgr.copy()
    thickness = max(2, picture.shape[1] // 250)
    for number, face in enumerate(score.faces, start=1):
        x, y, w, h = face.box.as_tuple()
        colour = (40, 170, 40) if face.is_target else (40, 90, 230)
        cv2.rectangle(picture, (x, y), (x + w, y + h), colour, thickness)
        # The number on a filled tag at the box's top-left corner, inside the picture.
        tag_y = y if y >= 26 else y + 26
        cv2.rectangle(picture, (x, tag_y - 26), (x + 24, tag_y), colour, -1)
        cv2.putText(
            picture,
            str(number),
            (x + 5, tag_y - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (255, 255, 255),
            2,
        )
    ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return data.tobytes() if ok else b""
