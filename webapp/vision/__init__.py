"""The vision core: video frames and faces as numpy arrays. No Flask, no SQL.

``cv2`` is imported from here so that FFmpeg's own console chatter ("moov atom not
found"...) is silenced before OpenCV loads it: the user gets our one-line errors instead.
"""

import os

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import cv2

__all__ = ["cv2"]
