"""A second opinion on face boxes: dlib's HOG detector checks the Haar cascade, and back.

OpenCV's Haar cascade is fast but takes necklaces, lace, coins and printed backdrops for
faces. dlib's HOG frontal-face detector looks at something else (gradient shapes, with
sub-models for frontal, turned and tilted faces), so the two rarely make the same mistake:
a box is kept when the other detector also sees a face there.

- :meth:`FaceVerifier.check` runs HOG on each cascade box grown by a margin and resized to
  a fixed size (the check costs the same for a 40 px and a 400 px face), and keeps the box
  when HOG finds a face centred in it, of about its size, scoring at least the threshold.
  The threshold sits below HOG's own default (0) so that faces it is unsure of stay;
  unsure scores are averaged with the mirrored picture's score.
- :meth:`FaceVerifier.hog_candidates` and :meth:`FaceVerifier.cascade_confirms` are the
  other way round, for the second pass (see ``webapp.vision.find``): HOG on the whole
  picture proposes, the cascade (lenient, also on the region tilted both ways) confirms.

dlib is optional: without it ``available`` is False, ``problem`` says why (logged once per
verifier) and nothing is checked.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.vision import cv2
from webapp.vision.faces import Box, FaceDetector, cut, margin_box

log = logging.getLogger(__name__)

INSTALL = ".venv/bin/pip install dlib-bin"

# How the cascade frames a face that HOG boxes as (x, y, w, w): a larger square, a little
# higher (HOG's box runs from the eyebrows to the chin, the cascade's takes in the
# forehead). Medians over the faces both find in the development photos; boxes reframed
# this way are cut and scored like the cascade's own.
HAAR_SIZE_PER_HOG = 1.12
HAAR_RISE_PER_HOG = 0.11


@dataclass(frozen=True)
class VerifierSettings:
    """How a candidate box is checked.

    ``margin``: context added around the box on each side, as a fraction of its size:
    HOG needs the face's outline, and a box a little off the face still holds it.
    ``size``: the grown box is resized to this many pixels on its longer side, which puts
    the face above HOG's 80 px window without upsampling (which would quadruple the cost).
    ``threshold``: the lowest score a face may have (HOG's own default is 0).
    ``sure``: scores from here up are taken at once; lower ones are averaged with the score
    of the mirrored region (a face looks like a face both ways round; a texture that
    happens to score one way rarely does the other).
    ``size_ratios``: how much HOG's box may differ in width from the candidate's.
    """

    margin: float = 0.5
    size: int = 200
    upsample: int = 0
    threshold: float = -0.3
    sure: float = 0.5
    size_ratios: tuple[float, float] = (0.4, 1.6)


@dataclass(frozen=True)
class ConfirmSettings:
    """How the cascade confirms a HOG candidate: on the candidate grown by ``margin``,
    resized to ``size`` px, with a lenient vote (``min_neighbors``), upright and turned by
    each of ``angles`` degrees (HOG finds tilted faces that the upright cascade does not)."""

    margin: float = 0.5
    size: int = 160
    scale_factor: float = 1.05
    min_neighbors: int = 2
    angles: tuple[float, ...] = (0.0, 15.0, -15.0, 30.0, -30.0)


@dataclass(frozen=True)
class Checked:
    """Boxes a verifier kept and dropped (order kept); ``ran`` is False when it could not
    check (dlib missing): then every box is in ``kept``."""

    kept: list[Box]
    dropped: list[Box]
    ran: bool


class FaceVerifier:
    """dlib's HOG frontal-face detector as a check on face boxes, safe to share between
    threads (each thread builds its own detector on first use)."""

    def __init__(self, settings: VerifierSettings | None = None) -> None:
        self.settings = settings or VerifierSettings()
        self._local = threading.local()
        self._dlib = _import_dlib()
        self.problem: str | None = None
        if self._dlib is None:
            self.problem = f"dlib is not installed, face boxes are not verified ({INSTALL})"
            log.warning("%s", self.problem)
        else:
            self._hog()  # built now, in the caller's thread, not during a first request

    @property
    def available(self) -> bool:
        return self._dlib is not None

    def _hog(self) -> Any:
        if self._dlib is None:
            raise RuntimeError(self.problem)
        detector = getattr(self._local, "hog", None)
        if detector is None:
            detector = self._local.hog = self._dlib.get_frontal_face_detector()
        return detector

    def check(self, image: np.ndarray, boxes: list[Box]) -> Checked:
        """Split a BGR (or greyscale) picture's ``boxes`` into faces HOG confirms and the
        rest."""
        if not self.available:
            return Checked(list(boxes), [], ran=False)
        kept, dropped = [], []
        for box in boxes:
            (kept if self.score(image, box) >= self.settings.threshold else dropped).append(box)
        return Checked(kept, dropped, ran=True)

    def score(self, image: np.ndarray, box: Box) -> float:
        """How sure HOG is that ``box`` holds a face (-inf: it sees none there at all).

        :raise RuntimeError: dlib is missing (check ``available`` first).
        """
        s = self.settings
        patch, (left, top, side) = _region(image, box, s.margin, s.size)
        if patch.ndim == 3:
            patch = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)
        plain = self._best(patch, left, top, side)
        if plain >= s.sure or plain == -np.inf:
            return plain
        mirrored = np.ascontiguousarray(patch[:, ::-1])
        return (plain + self._best(mirrored, patch.shape[1] - left - side, top, side)) / 2

    def _best(self, patch: np.ndarray, left: float, top: float, side: float) -> float:
        """HOG's best score for a face centred in the square (left, top, side) of the patch
        and of about its size."""
        s = self.settings
        # Scores down to a point below the threshold: an unsure score is averaged with the
        # mirrored one, which may make up for it.
        rects, scores, _ = self._hog().run(patch, s.upsample, s.threshold - 1.0)
        low, high = s.size_ratios
        best = -np.inf
        for rect, score in zip(rects, scores, strict=True):
            centre_x = (rect.left() + rect.right()) / 2
            centre_y = (rect.top() + rect.bottom()) / 2
            inside = left <= centre_x <= left + side and top <= centre_y <= top + side
            if inside and low <= rect.width() / side <= high:
                best = max(best, float(score))
        return best

    def hog_candidates(
        self, image: np.ndarray, *, width: int, upsample: int, threshold: float
    ) -> list[Box]:
        """Faces HOG finds on the whole picture (scaled down to at most ``width``) scoring
        at least ``threshold``, boxed as the cascade would box them, largest first.

        :raise RuntimeError: dlib is missing.
        """
        height, full_width = image.shape[:2]
        scale = min(1.0, width / full_width)
        small = image
        if scale < 1.0:
            size = (max(1, round(full_width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        rects, _, _ = self._hog().run(small, upsample, threshold)
        boxes = [_cascade_framing(rect, 1.0 / scale, full_width, height) for rect in rects]
        return sorted((b for b in boxes if b.w > 0 and b.h > 0), key=largest_first)

    def cascade_confirms(
        self, image: np.ndarray, box: Box, cascade: FaceDetector, settings: ConfirmSettings
    ) -> bool:
        """Whether the Haar cascade, run leniently on the region around ``box`` (upright,
        then turned by each angle about the box's centre), sees a face centred in the box
        and of about its size."""
        patch, (left, top, side) = _region(image, box, settings.margin, settings.size)
        grey = patch if patch.ndim == 2 else cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
        centre = (left + side / 2, top + side / 2)
        smallest = max(1, round(side * self.settings.size_ratios[0]))
        largest = round(side * self.settings.size_ratios[1])
        classifier = cascade.cascade()
        for angle in settings.angles:
            turned = grey
            if angle:
                turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
                size = (grey.shape[1], grey.shape[0])
                turned = cv2.warpAffine(grey, turn, size, borderMode=cv2.BORDER_REPLICATE)
            found = classifier.detectMultiScale(
                turned,
                scaleFactor=settings.scale_factor,
                minNeighbors=settings.min_neighbors,
                minSize=(smallest, smallest),
                maxSize=(largest, largest),
            )
            for x, y, w, h in found:
                if (
                    abs(x + w / 2 - centre[0]) <= side / 2
                    and abs(y + h / 2 - centre[1]) <= side / 2
                ):
                    return True
        return False


def _region(
    image: np.ndarray, box: Box, margin: float, size: int
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The box grown by ``margin`` and resized to ``size`` px on its longer side, with the
    box's (left, top, side) in the resized region's pixels."""
    height, width = image.shape[:2]
    around = margin_box(box, margin, width, height)
    factor = size / max(around.w, around.h)
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(cut(image, around), None, fx=factor, fy=factor, interpolation=interpolation)
    where = ((box.x - around.x) * factor, (box.y - around.y) * factor, box.w * factor)
    return patch, where


def _cascade_framing(rect: Any, factor: float, width: int, height: int) -> Box:
    """A HOG rectangle (in pixels scaled by 1 / ``factor``) as the cascade would box that
    face, in full-resolution pixels, kept inside the picture."""
    side = rect.width() * HAAR_SIZE_PER_HOG
    centre_x = (rect.left() + rect.right()) / 2
    centre_y = (rect.top() + rect.bottom()) / 2 - rect.width() * HAAR_RISE_PER_HOG
    x0 = max(0, round((centre_x - side / 2) * factor))
    y0 = max(0, round((centre_y - side / 2) * factor))
    x1 = min(width, round((centre_x + side / 2) * factor))
    y1 = min(height, round((centre_y + side / 2) * factor))
    return Box(x0, y0, x1 - x0, y1 - y0)


def largest_first(box: Box) -> tuple[int, int, int]:
    """Sort key: the order ``FaceDetector.detect`` returns boxes in."""
    return (-box.area, box.y, box.x)


def _import_dlib() -> Any:
    try:
        return importlib.import_module("dlib")
    except ImportError:
        return None
