"""Finding the faces to show: the cascade's boxes, verified, and a second look when there
are none.

    found = find_faces(bgr, detector, verifier, SecondPass())
    found.boxes              # what the user sees, largest first (may be empty)
    found.verified           # False: dlib is missing, the boxes are the cascade's unchecked
    found.second_pass_used   # the first pass had nothing, the second ran

First pass: the caller's ``FaceDetector``; every box is checked by the verifier (dlib's
HOG, see ``webapp.vision.verify``) and the ones it rejects are dropped. Without a working
verifier the boxes are shown unchecked, and those of the second pass's denser look (when it
has one) rather than the first's: its stricter vote lets fewer false faces through.

Second pass, only when the first keeps nothing and only with a working verifier (an
unchecked, more sensitive cascade mostly adds false faces):
1. when the first pass is a cheap one (a coarse pyramid on a small copy), the cascade
   again with a denser pyramid on a larger copy (``SecondPass.denser``), each box
   verified as in the first pass;
2. HOG on the whole picture, at a lower score than its default, proposes faces the
   cascade cannot see (turned, tilted, in shadow); each must be confirmed by a lenient
   cascade on its region, upright or tilted, since HOG alone takes round badges for faces;
3. if HOG has nothing, the cascade again on the picture at its full decoded width (smaller
   faces) with a lower vote, each box verified as in the first pass.
The first step that finds anything answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from webapp.vision.faces import Box, DetectorSettings, FaceDetector
from webapp.vision.verify import ConfirmSettings, FaceVerifier, largest_first


@dataclass(frozen=True)
class SecondPass:
    """The more sensitive search, run when the first pass keeps no face.

    ``denser``: the cascade's settings for a first, denser look (None: skipped); its boxes
    are verified. A photo the cheap first pass finds nothing in gets the faces this finds;
    without a verifier, every photo does.
    ``hog_width``: HOG runs on the picture scaled to at most this width (None: skipped); it
    finds faces from 80 px up at that width without upsampling.
    ``hog_threshold``: the score from which HOG proposes a face (its default is 0).
    ``confirm``: how the cascade confirms HOG's proposals.
    ``haar``: the cascade's finer pass (None: skipped); its boxes are verified.
    """

    denser: DetectorSettings | None = None
    hog_width: int | None = 400
    hog_upsample: int = 0
    hog_threshold: float = -0.5
    confirm: ConfirmSettings = field(default_factory=ConfirmSettings)
    haar: DetectorSettings | None = DetectorSettings(
        detect_width=640, scale_factor=1.1, min_neighbors=3
    )


@dataclass(frozen=True)
class FacesFound:
    """The faces to show for one picture, largest first.

    ``verified``: the boxes were checked by the verifier (False when dlib is missing or no
    verifier was given: they are the cascade's, unchecked).
    ``second_pass_used``: the first pass kept nothing and the second pass ran, whether or
    not it found a face.
    ``dropped``: candidate boxes that were rejected (for logs and benchmarks).
    """

    boxes: list[Box]
    verified: bool
    second_pass_used: bool
    dropped: list[Box] = field(default_factory=list)


def find_faces(
    image: np.ndarray,
    detector: FaceDetector,
    verifier: FaceVerifier | None,
    second_pass: SecondPass | None = None,
    candidates: Callable[[list[Box]], object] | None = None,
) -> FacesFound:
    """The faces in a BGR (or greyscale) picture, in its pixels, largest first.

    ``candidates``, when given, is called with the first pass's boxes as soon as the
    cascade has them, before they are verified: the caller may start work on them (most
    are kept) while the verifier runs.
    """
    if verifier is None or not verifier.available:
        # Unchecked, a cheap first look's looser vote would show its false faces: the
        # denser look, stricter, answers instead.
        if second_pass is not None and second_pass.denser is not None:
            detector = detector_for(second_pass.denser)
        return FacesFound(detector.detect(image), verified=False, second_pass_used=False)
    first = detector.detect(image)
    if candidates is not None and first:
        candidates(first)
    checked = verifier.check(image, first)
    if checked.kept or second_pass is None:
        return FacesFound(checked.kept, True, False, checked.dropped)
    dropped = list(checked.dropped)
    if second_pass.denser is not None:
        denser = verifier.check(image, detector_for(second_pass.denser).detect(image))
        dropped += denser.dropped
        if denser.kept:
            return FacesFound(denser.kept, True, True, dropped)
    if second_pass.hog_width:
        proposed = verifier.hog_candidates(
            image,
            width=second_pass.hog_width,
            upsample=second_pass.hog_upsample,
            threshold=second_pass.hog_threshold,
        )
        kept = []
        for box in proposed:
            confirmed = verifier.cascade_confirms(image, box, detector, second_pass.confirm)
            (kept if confirmed else dropped).append(box)
        if kept:
            return FacesFound(kept, True, True, dropped)
    if second_pass.haar is not None:
        again = verifier.check(image, detector_for(second_pass.haar).detect(image))
        dropped += again.dropped
        return FacesFound(sorted(again.kept, key=largest_first), True, True, dropped)
    return FacesFound([], True, True, dropped)


@lru_cache(maxsize=8)
def detector_for(settings: DetectorSettings) -> FaceDetector:
    """One detector per settings for the whole process (each loads its cascade per thread)."""
    return FaceDetector(settings)


@lru_cache(maxsize=1)
def shared_verifier() -> FaceVerifier:
    """One verifier for the whole process: it is safe to share between threads, and
    building it loads dlib's detector."""
    return FaceVerifier()


@dataclass(frozen=True)
class FaceFinder:
    """How one kind of picture is searched: a cascade, its boxes verified (when dlib is
    installed) and, for photos, a second pass before "no face"."""

    detector: FaceDetector
    verifier: FaceVerifier | None = None
    second_pass: SecondPass | None = None

    def find(
        self, image: np.ndarray, candidates: Callable[[list[Box]], object] | None = None
    ) -> list[Box]:
        """The faces in a BGR (or greyscale) picture, in its pixels, largest first
        (``candidates``: see :func:`find_faces`)."""
        return find_faces(image, self.detector, self.verifier, self.second_pass, candidates).boxes
