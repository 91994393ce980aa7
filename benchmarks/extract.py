"""How fast is extraction, compared with decoding alone, in one run on one machine?

    .venv/bin/python benchmarks/extract.py [VIDEO] [--every 25] [--repeat 3] [--json]

Prints, for the video (default ../shared/data/movie/dev_movie.mp4):
- the bare grab() pass (decode every frame, keep none): the floor;
- decode + retrieve of the kept frames, no detection;
- the naive loop the tutorial implies (decode, detect each kept frame in turn at half size);
- Look-alike's extraction into a scratch store (the real `extract_faces`);
each as the median of --repeat interleaved runs, with its ratio to the bare pass, frames per
second, and the detection time per kept frame.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.operations.extraction import extract_faces  # noqa: E402
from webapp.store.db import open_store  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import DetectorSettings, FaceDetector  # noqa: E402
from webapp.vision.video import ReadStats, Sampling, probe, read_kept_frames  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "movie" / "dev_movie.mp4"


def bare_grab(path: Path) -> int:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = 0
    while capture.grab():
        frames += 1
    capture.release()
    return frames


def kept_only(path: Path, sampling: Sampling) -> int:
    return sum(1 for _ in read_kept_frames(probe(path), sampling, ReadStats()))


def naive(path: Path, sampling: Sampling) -> int:
    """Detect each kept frame in turn on a half-size greyscale frame, one thread."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    faces = 0
    for _, frame in read_kept_frames(probe(path), sampling, ReadStats()):
        half = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(half, cv2.COLOR_BGR2GRAY)
        faces += len(cascade.detectMultiScale(grey, 1.1, 5, minSize=(24, 24)))
    return faces


def lookalike(path: Path, sampling: Sampling, min_face: float) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        conn = open_store(Path(scratch) / "bench.sqlite3")
        summary = extract_faces(
            conn,
            Path(scratch) / "crops",
            path,
            sampling,
            detector=FaceDetector(DetectorSettings(min_face=min_face)),
        )
        conn.close()
    return summary.faces_found


def detection_ms_per_frame(path: Path, sampling: Sampling, min_face: float) -> float:
    frames = [frame for _, frame in read_kept_frames(probe(path), sampling, ReadStats())]
    detector = FaceDetector(DetectorSettings(min_face=min_face))
    started = time.perf_counter()
    for frame in frames:
        detector.detect(frame)
    return (time.perf_counter() - started) * 1000 / max(1, len(frames))


def timed(fn, *args) -> tuple[float, int]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--cap", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-face", type=float, default=DetectorSettings.min_face)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not options.video.is_file():
        print(
            f"benchmark video not found: {options.video}\n"
            "The development data lives in ../shared/data (see its README); pass a video path.",
            file=sys.stderr,
        )
        return 2
    info = probe(options.video)
    sampling = Sampling(offset=0, every=options.every, cap=options.cap, seed=options.seed)
    runs = {
        "bare grab()": lambda: bare_grab(options.video),
        "decode + retrieve kept": lambda: kept_only(options.video, sampling),
        "naive (serial, half size)": lambda: naive(options.video, sampling),
        "look-alike extract": lambda: lookalike(options.video, sampling, options.min_face),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, int] = {}
    for _ in range(options.repeat):  # interleaved: machine noise hits every variant alike
        for name, run in runs.items():
            seconds, results[name] = timed(run)
            times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    bare = median["bare grab()"]
    kept = results["decode + retrieve kept"]
    report = {
        "video": str(options.video),
        "frames": info.frame_count,
        "resolution": f"{info.width}x{info.height}",
        "every": options.every,
        "kept_frames": kept,
        "min_face": options.min_face,
        "seconds": {name: round(value, 3) for name, value in median.items()},
        "ratio_to_bare_grab": {name: round(value / bare, 2) for name, value in median.items()},
        "frames_per_second": round(info.frame_count / median["look-alike extract"], 1),
        "faces": {
            "naive": results["naive (serial, half size)"],
            "look-alike": results["look-alike extract"],
        },
        "detection_ms_per_kept_frame": round(
            detection_ms_per_frame(options.video, sampling, options.min_face), 1
        ),
    }
    if options.json:
        print(json.dumps(report))
        return 0
    print(
        f"{info.path.name}: {info.frame_count} frames, {report['resolution']},"
        f" --every {options.every}: {kept} kept; median of {options.repeat} runs"
    )
    for name in runs:
        print(f"  {name:28s} {median[name]:6.2f} s  x{median[name] / bare:4.2f}")
    print(f"  extraction speed             {report['frames_per_second']} frames/s")
    print(
        f"  faces found                  naive {report['faces']['naive']},"
        f" look-alike {report['faces']['look-alike']}"
    )
    print(f"  detection per kept frame     {report['detection_ms_per_kept_frame']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
