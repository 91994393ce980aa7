"""Face verification and the second pass, on generated pictures: what the user would see
is the list of boxes ``find_faces`` returns."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
from skimage import data

from webapp.vision import cv2, verify
from webapp.vision.faces import Box, DetectorSettings, FaceDetector
from webapp.vision.find import SecondPass, find_faces
from webapp.vision.verify import FaceVerifier

# The selfie path's settings (webapp/operations/selfies.py); copied, as the vision core's
# tests do not import the app: a cheap first look, and a denser one in the second pass.
SELFIE = DetectorSettings(detect_width=300, scale_factor=1.2, min_neighbors=2)
DENSER = DetectorSettings(detect_width=400, scale_factor=1.1, min_neighbors=5)
# Where the astronaut's face is in the 512x512 picture (checked by eye).
FACE_CENTRE = (220, 112)
# Smooth random "cloud" textures in which the cascade sees a face (found by trying seeds).
CLOUD_SEEDS = (4, 14, 59, 79)


def covers(box: Box, point: tuple[float, float]) -> bool:
    return box.x <= point[0] <= box.x + box.w and box.y <= point[1] <= box.y + box.h


@pytest.fixture(scope="module")
def verifier() -> FaceVerifier:
    found = FaceVerifier()
    assert found.available, "dlib-bin must be installed"
    return found


@pytest.fixture(scope="module")
def selfie_detector() -> FaceDetector:
    return FaceDetector(SELFIE)


@pytest.fixture(scope="module")
def dense_detector() -> FaceDetector:
    return FaceDetector(DENSER)


def selfie_second_pass() -> SecondPass:
    return SecondPass(denser=DENSER)


def clouds(seed: int) -> np.ndarray:
    """Greyscale noise smoothed at four scales, as a BGR picture: no face in it."""
    rng = np.random.default_rng(seed)
    picture = np.zeros((480, 640), np.float32)
    for cell, weight in ((4, 1.0), (8, 0.6), (16, 0.35), (32, 0.2)):
        noise = rng.standard_normal((480 // cell + 2, 640 // cell + 2)).astype(np.float32)
        picture += weight * cv2.resize(noise, (640, 480), interpolation=cv2.INTER_CUBIC)
    picture = cv2.normalize(picture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)


def coins() -> np.ndarray:
    return cv2.cvtColor(data.coins(), cv2.COLOR_GRAY2BGR)


def turned(picture: np.ndarray, degrees: float, about: tuple[int, int]) -> np.ndarray:
    turn = cv2.getRotationMatrix2D(about, degrees, 1.0)
    size = (picture.shape[1], picture.shape[0])
    return cv2.warpAffine(picture, turn, size, borderMode=cv2.BORDER_REFLECT)


def astronaut_on_canvas(astronaut_bgr: np.ndarray, scale: float):
    """The astronaut shrunk by ``scale`` on a plain 640x480 picture, and where her face's
    centre is then."""
    small = cv2.resize(astronaut_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), (130, 110, 90), np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    return canvas, (200 + FACE_CENTRE[0] * scale, 100 + FACE_CENTRE[1] * scale)


def test_a_real_face_is_kept(astronaut_bgr, selfie_detector, verifier):
    found = find_faces(astronaut_bgr, selfie_detector, verifier, selfie_second_pass())
    assert len(found.boxes) == 1
    assert covers(found.boxes[0], FACE_CENTRE)
    assert found.verified and not found.second_pass_used
    # The cascade's box, as is; its other box (her shoulder) is dropped.
    boxes = selfie_detector.detect(astronaut_bgr)
    assert found.boxes == [b for b in boxes if covers(b, FACE_CENTRE)]
    assert found.dropped == [b for b in boxes if not covers(b, FACE_CENTRE)]


def test_a_face_at_9_percent_of_the_width_is_found_by_the_first_look(
    astronaut_bgr, selfie_detector, verifier
):
    canvas, centre = astronaut_on_canvas(astronaut_bgr, 0.58)
    found = find_faces(canvas, selfie_detector, verifier, selfie_second_pass())
    assert not found.second_pass_used
    assert [covers(b, centre) for b in found.boxes] == [True]
    assert 0.08 <= found.boxes[0].w / canvas.shape[1] <= 0.1


def test_a_face_too_small_for_the_first_look_is_found_by_the_denser_one(
    astronaut_bgr, selfie_detector, dense_detector, verifier
):
    canvas, centre = astronaut_on_canvas(astronaut_bgr, 0.45)
    assert find_faces(canvas, selfie_detector, verifier).boxes == []
    found = find_faces(canvas, selfie_detector, verifier, selfie_second_pass())
    assert found.second_pass_used
    assert [covers(b, centre) for b in found.boxes] == [True]
    assert found.boxes[0].w / canvas.shape[1] < 0.075
    # The denser cascade's own box, verified: as the first pass of its settings finds it.
    assert found.boxes == find_faces(canvas, dense_detector, verifier).boxes


def test_a_greyscale_frame_is_verified_too(astronaut_bgr, verifier):
    grey = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)
    found = find_faces(grey, FaceDetector(), verifier)
    assert [covers(b, FACE_CENTRE) for b in found.boxes] == [True]


def test_the_coins_the_cascade_takes_for_faces_are_dropped(dense_detector, verifier):
    picture = coins()
    assert len(dense_detector.detect(picture)) >= 3  # what the user saw before
    found = find_faces(picture, dense_detector, verifier)
    assert found.boxes == []
    assert found.verified
    assert len(found.dropped) >= 3


def test_false_faces_in_cloud_textures_are_dropped(selfie_detector, dense_detector, verifier):
    pictures = [clouds(seed) for seed in CLOUD_SEEDS]
    before = sum(len(dense_detector.detect(p)) for p in pictures)
    assert before >= 2, "the cascade should see faces in these textures"
    second = selfie_second_pass()
    after = [find_faces(p, selfie_detector, verifier, second).boxes for p in pictures]
    assert after == [[] for _ in pictures]


def test_the_astronauts_other_regions_are_dropped_and_her_face_kept(astronaut_bgr, verifier):
    # A lenient cascade also boxes her shoulder and a corner of the helmet.
    lenient = FaceDetector(DetectorSettings(detect_width=640, scale_factor=1.05, min_neighbors=3))
    before = lenient.detect(astronaut_bgr)
    assert len(before) >= 2
    found = find_faces(astronaut_bgr, lenient, verifier)
    assert len(found.boxes) == 1
    assert covers(found.boxes[0], FACE_CENTRE)
    assert len(found.dropped) == len(before) - 1


def test_the_first_looks_boxes_are_handed_over_before_they_are_checked(astronaut_bgr, verifier):
    # What the caller may start work on (the selfie path describes them meanwhile): every
    # candidate, the ones the check then drops too.
    lenient = FaceDetector(DetectorSettings(detect_width=640, scale_factor=1.05, min_neighbors=3))
    handed = []
    found = find_faces(astronaut_bgr, lenient, verifier, candidates=handed.append)
    assert handed == [lenient.detect(astronaut_bgr)] and len(handed[0]) >= 2
    assert len(found.boxes) == 1 and found.boxes[0] in handed[0]
    # Unverified boxes are the answer itself: nothing to hand over ahead of it.
    handed.clear()
    assert find_faces(astronaut_bgr, lenient, None, candidates=handed.append).boxes
    assert handed == []


def test_a_tilted_face_missed_by_the_first_pass_is_found_by_the_second(
    astronaut_bgr, selfie_detector, verifier
):
    picture = turned(astronaut_bgr, -25, FACE_CENTRE)
    assert find_faces(picture, selfie_detector, verifier).boxes == []
    found = find_faces(picture, selfie_detector, verifier, selfie_second_pass())
    assert found.second_pass_used
    # One box, on her face (HOG also likes her round mission badge: not shown), framed
    # about as the cascade frames the upright face.
    assert len(found.boxes) == 1
    assert covers(found.boxes[0], FACE_CENTRE)
    upright = selfie_detector.detect(astronaut_bgr)[0]
    assert 0.8 <= found.boxes[0].w / upright.w <= 1.25


def test_a_small_face_missed_by_the_first_pass_is_found_by_the_second(
    astronaut_bgr, selfie_detector, verifier
):
    canvas, centre = astronaut_on_canvas(astronaut_bgr, 0.3)
    assert find_faces(canvas, selfie_detector, verifier).boxes == []
    found = find_faces(canvas, selfie_detector, verifier, selfie_second_pass())
    assert found.second_pass_used
    assert [covers(b, centre) for b in found.boxes] == [True]


def test_a_blank_picture_has_no_face_after_both_passes(selfie_detector, verifier):
    found = find_faces(
        np.full((480, 640, 3), 128, np.uint8), selfie_detector, verifier, selfie_second_pass()
    )
    assert found.boxes == []
    assert found.second_pass_used and found.verified


def test_the_second_pass_adds_no_false_face_to_the_coins(selfie_detector, verifier):
    found = find_faces(coins(), selfie_detector, verifier, selfie_second_pass())
    assert found.second_pass_used
    assert found.boxes == []


def test_no_second_pass_without_a_verifier(selfie_detector):
    found = find_faces(np.full((480, 640, 3), 128, np.uint8), selfie_detector, None, SecondPass())
    assert found == type(found)([], verified=False, second_pass_used=False)


def test_without_dlib_the_cascades_boxes_come_back_unchecked(monkeypatch, caplog, selfie_detector):
    monkeypatch.setattr(verify, "_import_dlib", lambda: None)
    with caplog.at_level(logging.WARNING, logger="webapp.vision.verify"):
        missing = FaceVerifier()
    assert not missing.available
    assert "dlib" in missing.problem and "dlib" in caplog.text
    picture = coins()
    found = find_faces(picture, selfie_detector, missing, SecondPass())
    assert found.boxes == selfie_detector.detect(picture)  # as before verification existed
    assert not found.verified and not found.second_pass_used
    assert missing.check(picture, found.boxes).ran is False


def test_without_dlib_the_denser_looks_boxes_are_shown(
    monkeypatch, selfie_detector, dense_detector
):
    # Unchecked, the cheap look's looser vote would show more false faces.
    monkeypatch.setattr(verify, "_import_dlib", lambda: None)
    missing = FaceVerifier()
    for picture in (coins(), clouds(CLOUD_SEEDS[0])):
        found = find_faces(picture, selfie_detector, missing, selfie_second_pass())
        assert found.boxes == dense_detector.detect(picture)
        assert not found.verified and not found.second_pass_used


def test_one_verifier_serves_several_threads(astronaut_bgr, selfie_detector, verifier):
    pictures = [astronaut_bgr, coins(), clouds(CLOUD_SEEDS[0]), astronaut_bgr]
    expected = [find_faces(p, selfie_detector, verifier).boxes for p in pictures]
    results: dict[int, list] = {}

    def work(index: int) -> None:
        results[index] = [find_faces(p, selfie_detector, verifier).boxes for p in pictures]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: expected, 1: expected}
