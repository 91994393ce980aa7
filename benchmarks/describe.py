"""How long does describing many crops take (face embeddings), and do more processes help?

    .venv/bin/python benchmarks/describe.py [--crops 2000] [--workers 1 --workers 2] [--json]

Extracts every frame of ../shared/data/movie/dev_movie.mp4 into a scratch store (about
2800 crops), then describes the first ``--crops`` of them with the app's own operation
(``webapp.operations.describing.describe_crops``: read the PNG, align on 5 landmarks, ResNet, keep
the vector), once per ``--workers`` value, from scratch each time. Also times the parts
on 100 crops: reading + alignment, and the ResNet alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.learn.features import embeddings  # noqa: E402
from webapp.operations.crop_files import face_in_crop  # noqa: E402
from webapp.operations.describing import describe_crops  # noqa: E402
from webapp.operations.extraction import extract_faces  # noqa: E402
from webapp.store.db import open_store  # noqa: E402
from webapp.store.descriptors import crops_without_descriptor  # noqa: E402
from webapp.vision.video import Sampling  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MOVIE = DATA / "movie" / "dev_movie.mp4"


def parts(conn, crops: Path, n: int = 100) -> dict:
    rows = crops_without_descriptor(conn, embeddings.DESCRIPTOR_MODEL)[:n]
    started = time.perf_counter()
    faces = [face_in_crop(crops, row) for row in rows]
    read = time.perf_counter() - started
    started = time.perf_counter()
    chips = [embeddings.face_chip(face) for face in faces]
    align = time.perf_counter() - started
    started = time.perf_counter()
    embeddings._describe_chips(chips)
    resnet = time.perf_counter() - started
    size = np.median([face.box[2] for face in faces])
    return {
        "crops": len(rows),
        "median_face_width_px": float(size),
        "read_ms_per_crop": round(1000 * read / len(rows), 2),
        "align_ms_per_crop": round(1000 * align / len(rows), 2),
        "resnet_ms_per_crop": round(1000 * resnet / len(rows), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=2000)
    parser.add_argument("--workers", type=int, action="append", help="default: 1 and 2")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not MOVIE.is_file():
        print(f"development data not found: {DATA} (see its README)", file=sys.stderr)
        return 2
    problem = embeddings.model_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    report: dict = {"runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        conn = open_store(work / "lookalike.sqlite3")
        crops = work / "crops"
        extract_faces(conn, crops, MOVIE, Sampling(every=0, cap=3000, seed=1))
        ids = [row[0] for row in conn.execute("SELECT id FROM crops ORDER BY id")]
        chosen = ids[: options.crops]
        report["crops_available"] = len(ids)
        started = time.perf_counter()
        embeddings.load_models()
        report["model_load_seconds"] = round(time.perf_counter() - started, 3)
        report["parts"] = parts(conn, crops)
        for workers in options.workers or [1, 2]:
            conn.execute("DELETE FROM crop_descriptors")
            started = time.perf_counter()
            result = describe_crops(conn, crops, chosen, workers=workers)
            seconds = time.perf_counter() - started
            run = {
                "workers": workers,
                "crops": result["described"],
                "seconds": round(seconds, 1),
                "crops_per_second": round(result["described"] / seconds, 1),
                "ms_per_crop": round(1000 * seconds / result["described"], 1),
            }
            report["runs"].append(run)
            print(f"  {run}", file=sys.stderr)
        conn.close()
    if options.json:
        print(json.dumps(report))
        return 0
    p = report["parts"]
    print(
        f"model load {report['model_load_seconds']} s (once per process); per crop: read"
        f" {p['read_ms_per_crop']} ms, align {p['align_ms_per_crop']} ms, ResNet"
        f" {p['resnet_ms_per_crop']} ms (median face {p['median_face_width_px']:.0f} px wide)"
    )
    for run in report["runs"]:
        print(
            f"{run['crops']} crops, {run['workers']} process(es): {run['seconds']} s,"
            f" {run['crops_per_second']} crops/s ({run['ms_per_crop']} ms per crop)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
