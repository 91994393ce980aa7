"""How fast is dlib's face recognition ResNet under dlib and converted to onnxruntime?

    .venv/bin/python benchmarks/resnet_runtime.py [--chips 32] [--batch 8 --batch 16]
        [--repeat 3] [--photos DIR] [--json]

Aligns faces dlib finds in scikit-image's astronaut and in ../shared/data/photos (or
``--photos``; said when missing), fills up to ``--chips`` with jittered astronauts,
then times, per face, dlib's ``compute_face_descriptor`` (one chip a call, and all in one
call) against ``webapp.learn.features.dlib_resnet`` (one chip a call, and in batches), both on one
thread, best of ``--repeat`` passes. Also times the conversion from scratch and prints the
ONNX file's size and the largest difference from dlib's descriptors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.learn.features import dlib_resnet  # noqa: E402
from webapp.learn.features.embeddings import RESNET_FILE, SHAPE_FILE, model_folder, model_problem  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "data" / "photos"


def face_chips(image: np.ndarray, detector, shape_predictor) -> list[np.ndarray]:
    import dlib

    return [
        dlib.get_face_chip(image, shape_predictor(image, box), size=150, padding=0.25)
        for box in detector(image, 1)
    ]


def gather_chips(count: int, folder: Path, photos: Path) -> tuple[list[np.ndarray], str]:
    """Aligned chips of real faces, and where they came from."""
    import dlib
    from PIL import Image
    from skimage import data

    detector = dlib.get_frontal_face_detector()
    shape_predictor = dlib.shape_predictor(str(folder / SHAPE_FILE))
    chips: list[np.ndarray] = []
    if photos.is_dir():
        found = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        used = 0
        for used, photo in enumerate(found, start=1):  # noqa: B007 - counted for the report
            with Image.open(photo) as opened:
                opened.thumbnail((800, 800))  # faster to find faces, still a large chip
                image = np.asarray(opened.convert("RGB"))
            chips += face_chips(image, detector, shape_predictor)
            if len(chips) >= count - 1:
                break
        origin = f"{len(chips)} faces in {used} photos of {photos}"
    else:
        origin = f"development photos not found ({photos}): the astronaut only"
    astronaut = face_chips(data.astronaut(), detector, shape_predictor)[0]
    chips = [astronaut, *chips][:count]
    while len(chips) < count:
        chips += dlib.jitter_image(astronaut, num_jitters=min(8, count - len(chips)))
    return chips, origin


def best_ms_per_face(run: Callable[[], object], faces: int, repeat: int) -> dict:
    """Per-face CPU and wall milliseconds of the fastest of ``repeat`` passes."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return {
        "cpu_ms": round(1000 * best_cpu / faces, 2),
        "wall_ms": round(1000 * best_wall / faces, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=32)
    parser.add_argument("--batch", type=int, action="append", help="default: 8")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--photos", type=Path, default=PHOTOS, help=f"default: {PHOTOS}")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    problem = model_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    import dlib

    folder = model_folder()
    source = folder / RESNET_FILE
    chips, origin = gather_chips(options.chips, folder, options.photos)
    print(f"{len(chips)} chips: {origin}", file=sys.stderr)
    report: dict = {"chips": len(chips), "origin": origin}
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        converted = dlib_resnet.converted_model(source, Path(scratch))
        report["conversion_seconds"] = round(time.perf_counter() - started, 3)
        report["onnx_megabytes"] = round(converted.stat().st_size / 1e6, 1)
        started = time.perf_counter()
        runner = dlib_resnet.ResNetRunner(converted)
        report["session_seconds"] = round(time.perf_counter() - started, 3)
    network = dlib.face_recognition_model_v1(str(source))
    theirs = np.array([network.compute_face_descriptor(chip) for chip in chips])
    report["max_abs_difference"] = float(np.abs(runner.describe(chips) - theirs).max())
    stacked, n, repeat = np.stack(chips), len(chips), options.repeat
    timings = report["ms_per_face"] = {}
    timings["dlib, one chip a call"] = best_ms_per_face(
        lambda: [network.compute_face_descriptor(chip) for chip in chips], n, repeat
    )
    timings["dlib, all in one call"] = best_ms_per_face(
        lambda: network.compute_face_descriptor(chips), n, repeat
    )
    timings["onnxruntime, one chip a call"] = best_ms_per_face(
        lambda: [runner.describe(chip) for chip in chips], n, repeat
    )
    for batch in options.batch or [8]:
        timings[f"onnxruntime, batches of {batch}"] = best_ms_per_face(
            lambda batch=batch: [
                runner.session.run(None, {"chips": stacked[start : start + batch]})
                for start in range(0, n, batch)
            ],
            n,
            repeat,
        )
    if options.json:
        print(json.dumps(report))
        return 0
    print(
        f"conversion {report['conversion_seconds']} s (once), ONNX file"
        f" {report['onnx_megabytes']} MB, session start {report['session_seconds']} s;"
        f" largest difference from dlib {report['max_abs_difference']:.2e}"
    )
    for name, value in timings.items():
        print(f"{name:>30}: {value['cpu_ms']:6.2f} ms CPU per face ({value['wall_ms']} ms wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
