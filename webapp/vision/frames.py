"""The frame a crop came from, with the face marked: shown to a labeller on demand.

Seeking with ``CAP_PROP_POS_FRAMES`` is slow for reading a whole movie but fine for the
one frame asked for here. No Flask, no SQL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webapp.vision import cv2

FACE_COLOUR = (60, 200, 60)  # BGR
CROP_COLOUR = (0, 190, 255)


class FrameUnavailable(Exception):
    """The frame cannot be read (video moved or deleted, file damaged); for the user."""


def read_frame(video_path: str | Path, frame_index: int) -> np.ndarray:
    """One BGR frame of a video.

    :raise FrameUnavailable: the file is gone or the frame cannot be decoded.
    """
    path = Path(video_path)
    if not path.is_file():
        raise FrameUnavailable(f"The video file {path.name} is no longer at {path}.")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise FrameUnavailable(f"The video file {path.name} cannot be opened any more.")
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok or frame is None:
        raise FrameUnavailable(f"Frame {frame_index} of {path.name} cannot be read.")
    return frame


def frame_with_face(
    video_path: str | Path,
    frame_index: int,
    face_box: tuple[int, int, int, int],
    crop_box: tuple[int, int, int, int],
    *,
    max_width: int = 960,
) -> bytes:
    """The frame as JPEG, at most ``max_width`` wide, the face box and the stored crop
    marked."""
    frame = read_frame(video_path, frame_index)
    thickness = max(2, frame.shape[1] // 300)
    for (x, y, w, h), colour in ((crop_box, CROP_COLOUR), (face_box, FACE_COLOUR)):
        cv2.rectangle(frame, (x, y), (x + w, y + h), colour, thickness)
    if frame.shape[1] > max_width:
        height = round(frame.shape[0] * max_width / frame.shape[1])
        frame = cv2.resize(frame, (max_width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise FrameUnavailable("The frame could not be encoded.")
    return data.tobytes()
