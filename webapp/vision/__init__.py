"""The vision core: video frames and faces as numpy arrays. No Flask, no SQL.

``cv2`` is imported from here so that FFmpeg's own console chatter ("moov atom not
found"...) is silenced before OpenCV loads it (the user gets our one-line errors instead)
and its thread pool's workers do not spin between jobs (below).
OpenCV loads with the first ``from webapp.vision import cv2``, not with the package, so the
core's light modules (:mod:`webapp.vision.limits`) cost nothing to import.
"""

import os
from typing import Any

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
# OpenCV's worker threads spin for about half a millisecond after each parallel job (the
# cascade's), in case another follows at once. On a server that is time on a core another
# process was waiting for: 1 ms of CPU a selfie, measured. They sleep at once instead;
# waking one for the next job takes microseconds. Read when OpenCV loads.
os.environ.setdefault("OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER", "0")

__all__ = ["cv2"]


def __getattr__(name: str) -> Any:
    if name == "cv2":
        import cv2

        globals()["cv2"] = cv2  # found directly from now on
        return cv2
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
