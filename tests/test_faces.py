"""Face detection and cropping on a real face (scikit-image's astronaut)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from webapp.vision import cv2
from webapp.vision.faces import (
    Box,
    DetectorSettings,
    FaceDetector,
    crop_faces,
    encode_png,
    margin_box,
)

# Where the astronaut's face is in the 512x512 picture (checked by eye): the detector's
# box must cover its middle.
FACE_CENTRE = (220, 112)


def covers(box: Box, point: tuple[int, int]) -> bool:
    return box.x <= point[0] <= box.x + box.w and box.y <= point[1] <= box.y + box.h


def test_detects_the_one_face_in_the_photo(astronaut_bgr):
    boxes = FaceDetector().detect(astronaut_bgr)
    assert len(boxes) == 1
    assert covers(boxes[0], FACE_CENTRE)
    assert 80 <= boxes[0].w <= 160


def test_boxes_come_back_at_full_resolution(astronaut_bgr):
    big = cv2.resize(astronaut_bgr, (2048, 2048))
    boxes = FaceDetector().detect(big)
    assert len(boxes) == 1
    assert covers(boxes[0], (FACE_CENTRE[0] * 4, FACE_CENTRE[1] * 4))
    assert 320 <= boxes[0].w <= 640


def test_detection_scale_follows_the_smallest_wanted_face():
    settings = DetectorSettings(min_face=0.12)
    # 12% of 480 px is 57.6 px; scaled to fill the 24 px window.
    assert abs(settings.scale_for(854, 480) - 24 / 57.6) < 1e-9
    assert settings.scale_for(100, 100) == 1.0  # never scaled up


def test_no_face_in_a_blank_picture():
    assert FaceDetector().detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_every_face_is_found_largest_first(astronaut_bgr):
    face = cv2.resize(astronaut_bgr, (256, 256))
    canvas = np.full((512, 1024, 3), 200, np.uint8)
    canvas[0:512, 0:512] = astronaut_bgr
    canvas[128:384, 700:956] = face
    boxes = FaceDetector(DetectorSettings(min_face=0.05)).detect(canvas)
    assert len(boxes) == 2
    assert boxes[0].area > boxes[1].area
    assert boxes[1].x > 600


def test_margin_box_grows_and_stays_inside():
    assert margin_box(Box(100, 100, 40, 40), 0.25, 640, 480) == Box(90, 90, 60, 60)
    assert margin_box(Box(0, 0, 40, 40), 0.25, 640, 480) == Box(0, 0, 50, 50)
    assert margin_box(Box(600, 440, 40, 40), 0.25, 640, 480) == Box(590, 430, 50, 50)


def test_crops_are_a_colour_png_with_margin_and_a_grey_model_input(astronaut_bgr):
    boxes = FaceDetector().detect(astronaut_bgr)
    [crop] = crop_faces(astronaut_bgr, boxes, size=224, margin=0.25)
    colour = cv2.imdecode(np.frombuffer(crop.image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    grey = cv2.imdecode(np.frombuffer(crop.face_png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert colour.shape == (crop.crop_box.h, crop.crop_box.w, 3)
    assert crop.crop_box.w > crop.face_box.w
    assert grey.shape == (224, 224)
    box = crop.crop_box
    assert np.array_equal(colour, astronaut_bgr[box.y : box.y + box.h, box.x : box.x + box.w])


def _png_row_filters(data: bytes, width: int, channels: int) -> set[int]:
    """The filter byte that starts each row of a (non-interlaced, 8-bit) PNG."""
    idat, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    rows = zlib.decompress(idat)
    stride = 1 + width * channels
    return {rows[i] for i in range(0, len(rows), stride)}


def test_crops_are_stored_with_every_row_filtered_up_and_read_back_exactly(astronaut_bgr):
    # "Up" for every row reads back much faster than the encoder's per-row best choice
    # (describing reads every crop), for a file a few percent larger.
    colour = np.ascontiguousarray(astronaut_bgr[20:220, 140:340])
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    for image, channels in ((colour, 3), (grey, 1)):
        data = encode_png(image)
        assert _png_row_filters(data, image.shape[1], channels) == {2}  # 2: "up"
        back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(back, image)


def test_photos_are_scaled_to_a_detection_width():
    settings = DetectorSettings(detect_width=400)
    assert settings.scale_for(640, 360) == 400 / 640
    assert settings.scale_for(640, 960) == 400 / 640  # portrait: the width decides
    assert settings.scale_for(300, 300) == 1.0
