"""Scraping a movie for faces: decoding and detection overlapped.

The calling thread decodes (``grab``/``retrieve``) while a small thread pool detects and
encodes the faces of the frames already kept. OpenCV releases the GIL in both, so on two
cores the whole run approaches the time of decoding alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from webapp.vision.faces import FaceCrop, crop_faces
from webapp.vision.find import FaceFinder
from webapp.vision.video import ReadStats, Sampling, VideoInfo, read_kept_frames

# One detection thread: the cascade already spreads each call over the cores, and two
# threads measured slower (they fight the decoder's own threads for two cores).
DETECTION_THREADS = 1
MAX_FRAMES_IN_FLIGHT = 8  # bounds memory: a 4K frame is 25 MB


@dataclass(frozen=True)
class FrameFaces:
    frame_index: int
    time_ms: int
    crops: list[FaceCrop]


def scan_video(
    info: VideoInfo,
    sampling: Sampling,
    finder: FaceFinder,
    *,
    size: int,
    margin: float,
    stats: ReadStats,
    threads: int = DETECTION_THREADS,
) -> Iterator[FrameFaces]:
    """Yield the faces of every kept frame, in frame order (frames without faces too)."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="detect")
    pending: deque[tuple[int, Future[list[FaceCrop]]]] = deque()
    try:
        for index, frame in read_kept_frames(info, sampling, stats):
            pending.append((index, pool.submit(_faces_in, finder, frame, size, margin)))
            while pending and (len(pending) >= MAX_FRAMES_IN_FLIGHT or pending[0][1].done()):
                yield _result(info, *pending.popleft())
        while pending:
            yield _result(info, *pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _faces_in(finder: FaceFinder, frame: np.ndarray, size: int, margin: float) -> list[FaceCrop]:
    return crop_faces(frame, finder.find(frame), size=size, margin=margin)


def _result(info: VideoInfo, index: int, future: Future[list[FaceCrop]]) -> FrameFaces:
    return FrameFaces(index, info.time_ms(index), future.result())
