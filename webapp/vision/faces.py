"""Finding faces in a frame and cutting them out.

Detection runs OpenCV's Haar frontal-face cascade on a downscaled greyscale copy of the
frame (its cost grows with the pixel count), with ``minSize`` scaled the same way; the
boxes are mapped back to full resolution. Each face is stored twice over: a colour crop
with a margin of context (what people label, what later feature extractors read), and the
tutorial's model input, the box alone, resized and greyscale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from webapp.vision import cv2

CASCADE_FILE = "haarcascade_frontalface_default.xml"
HAAR_WINDOW = 24  # the default cascade's training window: nothing smaller can be found
# Level 1 with run-length strategy: faster *and* smaller than the default on video frames;
# every row filtered as "up" (the difference from the row above) rather than the best of
# the five filters per row: 7% larger, written twice and read 1.6 times as fast, which
# describing and training feel (benchmarks/describe.py).
PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_UP,
]


class FaceError(Exception):
    """Detection cannot run (e.g. the cascade file is missing from the OpenCV install)."""


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True)
class DetectorSettings:
    """How faces are looked for.

    ``min_face``: the smallest face to find, as a fraction of the frame's shorter side.
    The frame is scaled down until such a face just fills the cascade's 24-pixel window,
    so detection costs the same at 480p and at 4K (on the development movie, 0.12 finds
    every face that detection at half size finds, for much less work: docs/performance.md).
    ``detect_width``, when set, replaces that rule: frames are scaled to this width (for
    photos, whose faces are measured against the width of the picture).
    ``scale_factor``/``min_neighbors``: the cascade's pyramid step and vote threshold.
    """

    min_face: float = 0.12
    scale_factor: float = 1.15
    min_neighbors: int = 4
    detect_width: int | None = None

    def scale_for(self, width: int, height: int) -> float:
        """The factor a ``width`` x ``height`` frame is scaled by before detection (<= 1)."""
        if self.detect_width:
            return min(1.0, self.detect_width / width)
        return min(1.0, HAAR_WINDOW / (self.min_face * min(width, height)))


class FaceDetector:
    """A Haar cascade face detector, safe to share between threads.

    ``CascadeClassifier`` objects are not safe to use from two threads at once, so each
    thread lazily loads its own copy; the calls release the GIL, so threads run in parallel.
    """

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self._path = cv2.data.haarcascades + CASCADE_FILE
        self._local = threading.local()
        self._cascade()  # fail now, in the caller's thread, if the file is missing

    def cascade(self) -> cv2.CascadeClassifier:
        """This thread's copy of the cascade, for callers that run it their own way (on a
        small region, at other settings)."""
        return self._cascade()

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self._path)
            if cascade.empty():
                raise FaceError(f"the Haar cascade {self._path} could not be loaded")
            self._local.cascade = cascade
        return cascade

    def detect(self, frame: np.ndarray) -> list[Box]:
        """Every frontal face in a BGR (or greyscale) frame, boxes in full-resolution pixels,
        largest first."""
        s = self.settings
        height, width = frame.shape[:2]
        scale = s.scale_for(width, height)
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        found = self._cascade().detectMultiScale(
            grey,
            scaleFactor=s.scale_factor,
            minNeighbors=s.min_neighbors,
            minSize=(HAAR_WINDOW, HAAR_WINDOW),
        )
        boxes = [_scale_box(box, 1.0 / scale, width, height) for box in found]
        return sorted(boxes, key=lambda b: (-b.area, b.y, b.x))


def _scale_box(box: np.ndarray, factor: float, width: int, height: int) -> Box:
    x, y, w, h = (int(v) for v in box)
    x0, y0 = round(x * factor), round(y * factor)
    x1, y1 = min(width, round((x + w) * factor)), min(height, round((y + h) * factor))
    return Box(x0, y0, x1 - x0, y1 - y0)


def margin_box(face: Box, margin: float, width: int, height: int) -> Box:
    """The face box grown by ``margin`` (a fraction of its size) on each side, kept inside
    the frame."""
    dx, dy = round(face.w * margin), round(face.h * margin)
    x0, y0 = max(0, face.x - dx), max(0, face.y - dy)
    x1, y1 = min(width, face.x + face.w + dx), min(height, face.y + face.h + dy)
    return Box(x0, y0, x1 - x0, y1 - y0)


def cut(image: np.ndarray, box: Box) -> np.ndarray:
    return image[box.y : box.y + box.h, box.x : box.x + box.w]


def model_input(image: np.ndarray, face: Box, size: int) -> np.ndarray:
    """The tutorial's model input: the face box alone, greyscale, ``size`` x ``size``."""
    face_pixels = cut(image, face)
    if face_pixels.ndim == 3:
        face_pixels = cv2.cvtColor(face_pixels, cv2.COLOR_BGR2GRAY)
    interpolation = cv2.INTER_AREA if face.w >= size else cv2.INTER_LINEAR
    return cv2.resize(face_pixels, (size, size), interpolation=interpolation)


@dataclass(frozen=True)
class FaceCrop:
    """One face cut out of an image, with both stored forms encoded as PNG."""

    face_box: Box
    crop_box: Box
    image_png: bytes  # colour crop with margin
    face_png: bytes  # greyscale model input, size x size


def crop_faces(image: np.ndarray, boxes: list[Box], *, size: int, margin: float) -> list[FaceCrop]:
    """Cut each box out of ``image`` as a colour crop with margin and as model input."""
    height, width = image.shape[:2]
    crops = []
    for face in boxes:
        around = margin_box(face, margin, width, height)
        crops.append(
            FaceCrop(
                face_box=face,
                crop_box=around,
                image_png=encode_png(cut(image, around)),
                face_png=encode_png(model_input(image, face, size)),
            )
        )
    return crops


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image, PNG_PARAMS)
    if not ok:
        raise FaceError("PNG encoding failed")
    return data.tobytes()
