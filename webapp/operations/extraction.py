"""Extract faces from a movie into the store: the operation behind ``flask extract``.

Safe to interrupt and to repeat: each frame's crop files are written (atomically) before
its rows are committed, file names derive from the video id, frame and box only, and a
face already stored is skipped. Killed half-way, the store holds whole frames; run again,
the same seed keeps the same frames and the work completes without duplicates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from webapp.operations.crop_files import remove_abandoned_files, write_atomic
from webapp.settings import Settings
from webapp.store import videos as video_store
from webapp.store.db import Connection
from webapp.vision.extract import FrameFaces, scan_video
from webapp.vision.faces import DetectorSettings, FaceCrop, FaceDetector
from webapp.vision.find import FaceFinder, shared_verifier
from webapp.vision.limits import MAX_FACE_SIZE, MIN_FACE_SIZE
from webapp.vision.video import ReadStats, Sampling, VideoError, VideoInfo, probe

# How an upload through the admin page is named in the videos folder (upload-<UTC time>-
# <random>-<original name made safe>): the original part is the name shown.
UPLOADED_FILE = re.compile(r"^upload-\d{8}-\d{6}-[0-9a-f]{6}-(?P<original>.+)$")


def shown_name(path: str | Path) -> str:
    """The name a video file is shown under: an upload's original name, else the file's."""
    name = Path(path).name
    match = UPLOADED_FILE.match(name)
    return match["original"] if match else name


@dataclass
class ExtractionSummary:
    video_id: int
    extraction_id: int
    video_name: str
    frames_in_file: int
    frames_read: int
    frames_kept: int
    faces_found: int
    crops_added: int
    seconds: float
    seed: int
    status: str = "done"

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[int, ReadStats], None]  # (frames the run will read at most, stats so far)


def check_options(info: VideoInfo, sampling: Sampling, size: int) -> None:
    """Refuse options that cannot make sense for this video.

    :raise ValueError: with a message for the user.
    """
    if not MIN_FACE_SIZE <= size <= MAX_FACE_SIZE:
        raise ValueError(f"size must be between {MIN_FACE_SIZE} and {MAX_FACE_SIZE} pixels")
    if sampling.offset >= info.frame_count:
        raise ValueError(
            f"offset {sampling.offset} is past the end of the video ({info.frame_count} frames)"
        )


def frames_to_read(info: VideoInfo, sampling: Sampling) -> int:
    """The most frames a run can decode: to its last kept frame, or to the end of the file."""
    last_kept = sampling.offset
    for last_kept in sampling.kept_frames():
        if last_kept >= info.frame_count:
            break
    return min(info.frame_count, last_kept + 1)


def extract_faces(
    conn: Connection,
    crops_dir: str | Path,
    video_path: str | Path,
    sampling: Sampling,
    *,
    size: int = Settings.face_size,
    margin: float = Settings.crop_margin,
    detector: FaceDetector | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> ExtractionSummary:
    """Scrape a video for faces and store every new crop. ``name`` is the name the video
    is shown under (an upload's original file name); by default :func:`shown_name`.

    :raise VideoError: the file is missing, not a video, or truncated; the store is left
        as it was (a run that fails part-way removes the crops it added).
    :raise ValueError: options that make no sense for this video (nothing is stored).
    """
    started = time.perf_counter()
    info = probe(video_path)
    check_options(info, sampling, size)
    detector = detector or FaceDetector(DetectorSettings())
    video_id = video_store.save_video(
        conn,
        path=str(info.path.resolve()),
        name=name or shown_name(info.path),
        size_bytes=info.size_bytes,
        fingerprint=info.fingerprint,
        frame_count=info.frame_count,
        fps=info.fps,
        width=info.width,
        height=info.height,
    )
    params = {
        **asdict(sampling),
        "size": size,
        "margin": margin,
        "detector": asdict(detector.settings),
    }
    extraction_id = video_store.start_extraction(conn, video_id, params)
    known = video_store.stored_face_boxes(conn, video_id)
    folder = Path(crops_dir) / f"video-{video_id}"
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned_files(folder)
    stats = ReadStats()
    shown = video_store.get_video(conn, video_id)["name"]
    summary = ExtractionSummary(
        video_id, extraction_id, shown, info.frame_count, 0, 0, 0, 0, 0.0, sampling.seed
    )
    total = frames_to_read(info, sampling)

    def finish(status: str, error: str | None = None) -> None:
        summary.frames_read, summary.frames_kept = stats.frames_read, stats.frames_kept
        summary.seconds = round(time.perf_counter() - started, 3)
        summary.status = status
        video_store.finish_extraction(
            conn,
            extraction_id,
            status=status,
            frames_read=summary.frames_read,
            frames_kept=summary.frames_kept,
            faces_found=summary.faces_found,
            crops_added=summary.crops_added,
            seconds=summary.seconds,
            error=error,
        )

    try:
        # Every box verified (no second pass: most frames of a movie hold no face).
        finder = FaceFinder(detector, shared_verifier())
        for frame in scan_video(info, sampling, finder, size=size, margin=margin, stats=stats):
            summary.faces_found += len(frame.crops)
            new = [
                c for c in frame.crops if (frame.frame_index, *c.face_box.as_tuple()) not in known
            ]
            if new:
                rows = [_write_crop(folder, video_id, frame, crop, size) for crop in new]
                summary.crops_added += video_store.add_video_crops(
                    conn, video_id, extraction_id, rows
                )
            if progress:
                progress(total, stats)
    except VideoError as error:
        for name in video_store.remove_extraction_crops(conn, extraction_id):
            (Path(crops_dir) / name).unlink(missing_ok=True)
        summary.crops_added = 0
        finish("failed", str(error))
        raise
    except BaseException:  # Ctrl-C, a kill signal turned exception: keep what is stored
        finish("interrupted", "stopped before the end")
        raise
    finish("done")
    return summary


def _write_crop(
    folder: Path, video_id: int, frame: FrameFaces, crop: FaceCrop, size: int
) -> video_store.NewVideoCrop:
    box = crop.face_box
    stem = f"f{frame.frame_index:07d}-{box.x}-{box.y}-{box.w}-{box.h}"
    image_name = f"{stem}.png"
    face_name = f"{stem}-grey{size}.png"
    write_atomic(folder / image_name, crop.image_png)
    write_atomic(folder / face_name, crop.face_png)
    return video_store.NewVideoCrop(
        frame_index=frame.frame_index,
        time_ms=frame.time_ms,
        face_box=box.as_tuple(),
        crop_box=crop.crop_box.as_tuple(),
        image_file=f"{folder.name}/{image_name}",
        face_file=f"{folder.name}/{face_name}",
        face_size=size,
    )
