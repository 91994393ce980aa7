"""The vision core: video frames and faces as numpy arrays. No Flask, no SQL.

``cv2`` is imported from here so that FFmpeg's own console chatter ("moov atom not
found"...) is silenced before OpenCV loads it: the user gets our one-line errors instead.
OpenCV loads with the first ``from webapp.vision import cv2``, not with the package, so the
core's light modules (:mod:`webapp.vision.limits`) cost nothing to import.
"""

import os
from typing import Any

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

__all__ = ["cv2"]


def __getattr__(name: str) -> Any:
    if name == "cv2":
        import cv2

        globals()["cv2"] = cv2  # found directly from now on
        return cv2
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
