"""Reading a movie file: probing it, choosing frames to keep, decoding only those.

Frames are read sequentially: ``grab()`` every frame (cheap: no colour conversion) and
``retrieve()`` only the kept ones. Seeking with ``CAP_PROP_POS_FRAMES`` re-decodes from the
previous keyframe each time, several times slower on long-GOP H.264; ``read()`` of every
frame is slower too (benchmarks/extract.py).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webapp.vision import cv2
from webapp.vision.limits import MAX_CAP, MAX_EVERY

FINGERPRINT_CHUNK = 1 << 20


class VideoError(Exception):
    """The file cannot be used as a video; the message is meant for the user."""


@dataclass(frozen=True)
class Sampling:
    """Which frames to keep: skip ``offset`` frames, keep one, skip a random number of
    frames averaging ``every``, keep the next... until ``cap`` frames are kept."""

    offset: int = 0
    every: int = 25
    cap: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValueError(f"offset must be 0 or more frames, not {self.offset}")
        if not 0 <= self.every <= MAX_EVERY:
            raise ValueError(f"every must be between 0 and {MAX_EVERY} frames, not {self.every}")
        if not 1 <= self.cap <= MAX_CAP:
            raise ValueError(f"cap must be between 1 and {MAX_CAP} frames, not {self.cap}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be between 0 and {2**32 - 1}, not {self.seed}")

    def kept_frames(self) -> Iterator[int]:
        """Indices of the frames to keep, in order, ``cap`` of them (the file may end first).

        Each gap skips a uniform random number of frames in ``[0, 2 * every]``: its mean is
        exactly ``every``, and the same seed always gives the same frames.
        """
        rng = np.random.default_rng(self.seed)
        index = self.offset
        for _ in range(self.cap):
            yield index
            index += 1 + int(rng.integers(0, 2 * self.every + 1))


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    size_bytes: int
    fingerprint: str
    frame_count: int
    fps: float
    width: int
    height: int

    def time_ms(self, frame_index: int) -> int:
        return round(frame_index * 1000 / self.fps)


def fingerprint(path: Path, size: int) -> str:
    """A content fingerprint: sha256 of the size and three 1 MiB samples (start, middle,
    end). Reading a whole movie would take seconds; this tells files apart in milliseconds.
    """
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for start in (
            0,
            max(0, size // 2 - FINGERPRINT_CHUNK // 2),
            max(0, size - FINGERPRINT_CHUNK),
        ):
            f.seek(start)
            digest.update(f.read(FINGERPRINT_CHUNK))
    return digest.hexdigest()


def probe(path: str | Path) -> VideoInfo:
    """Check that ``path`` is a whole, readable video and describe it.

    :raise VideoError: missing file, not a video, or truncated (its index announces frames
        that cannot be decoded: the last frame is checked with one seek).
    """
    path = Path(path)
    if not path.exists():
        raise VideoError(f"no such file: {path}")
    if not path.is_file():
        raise VideoError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise VideoError(f"cannot read {path}: permission denied")
    size = path.stat().st_size
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise VideoError(f"not a video OpenCV can read (or its index is missing): {path}")
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if frame_count <= 0 or width <= 0 or height <= 0 or not capture.grab():
            raise VideoError(f"not a video OpenCV can read (no decodable frames): {path}")
        if not fps > 0:
            fps = 25.0  # some containers omit it; times are then approximate
        if frame_count > 1:
            capture.set(cv2.CAP_PROP_POS_FRAMES, frame_count - 1)
            if not capture.grab():
                raise VideoError(
                    f"the video looks truncated: it announces {frame_count} frames but its end"
                    f" cannot be decoded: {path}"
                )
    finally:
        capture.release()
    return VideoInfo(path, size, fingerprint(path, size), frame_count, fps, width, height)


@dataclass
class ReadStats:
    """How far a read got: frames decoded (grabbed) and frames kept (retrieved)."""

    frames_read: int = 0
    frames_kept: int = 0


def read_kept_frames(
    info: VideoInfo, sampling: Sampling, stats: ReadStats
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR frame) for each kept frame, grabbing through the rest.

    Stops at the cap or at the end of the file. ``stats`` is updated as frames are read.

    :raise VideoError: decoding stopped well before the frame count the file announced.
    """
    capture = cv2.VideoCapture(str(info.path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise VideoError(f"cannot open the video any more: {info.path}")
    try:
        position = 0  # index of the frame the next grab() decodes
        for wanted in sampling.kept_frames():
            while position <= wanted:
                if not capture.grab():
                    _check_end(info, position)
                    return
                position += 1
                stats.frames_read = position
            ok, frame = capture.retrieve()
            if not ok:
                raise VideoError(f"frame {wanted} of {info.path} could not be decoded")
            stats.frames_kept += 1
            yield wanted, frame
    finally:
        capture.release()


def _check_end(info: VideoInfo, position: int) -> None:
    # Container frame counts are estimates for some formats: tolerate a small shortfall.
    missing = info.frame_count - position
    if missing > max(2, info.frame_count // 100):
        raise VideoError(
            f"decoding stopped at frame {position} of the {info.frame_count} announced:"
            f" the file is damaged or truncated: {info.path}"
        )
