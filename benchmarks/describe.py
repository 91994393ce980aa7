"""How long do describing many crops and a Retrain take, with the face ResNet on dlib's
runtime and on onnxruntime, in one run?

    .venv/bin/python benchmarks/describe.py [--crops 2000] [--workers 2]...
        [--runtime dlib --runtime onnxruntime] [--retrain-crops 400] [--json]

Extracts every frame of ../shared/data/movie/dev_movie.mp4 into a scratch store (about
2800 crops), then, for each runtime (``webapp.learn.features.embeddings.use_runtime``):

- times the parts on 100 crops: reading the crop, dlib's 5-point alignment, the ResNet;
- writes and reads those crops' PNG files with the previous PNG settings (the encoder's
  best filter per row) and the app's (every row "up"): time and size;
- describes the first ``--crops`` crops from scratch with the app's own operation
  (``webapp.operations.describing.describe_crops``: read the PNG, align, ResNet, keep the
  vector) in ``--workers`` processes (default 2: one per core of the development machine);
- times a Retrain with face embeddings (``webapp.operations.training.train_from_store``,
  as the Retrain button runs it) on about ``--retrain-crops`` crops labelled from the
  movie's truth table, its descriptors computed fresh, then again with them kept.

Targets for onnxruntime: 2000 crops in at most 10 s on two processes, a fresh Retrain of
about 400 crops in at most 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import TARGET_NAME, identity_at, truth_table  # noqa: E402

from webapp.learn.features import embeddings  # noqa: E402
from webapp.operations.crop_files import face_in_crop  # noqa: E402
from webapp.operations.describing import describe_crops  # noqa: E402
from webapp.operations.extraction import extract_faces  # noqa: E402
from webapp.operations.training import train_from_store  # noqa: E402
from webapp.store import labels as label_store  # noqa: E402
from webapp.store import users  # noqa: E402
from webapp.store.db import open_store  # noqa: E402
from webapp.store.descriptors import crops_without_descriptor  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import PNG_PARAMS  # noqa: E402
from webapp.vision.video import Sampling  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MOVIE = DATA / "movie" / "dev_movie.mp4"
TRUTH = DATA / "movie" / "dev_movie_truth.tsv"
TARGETS = {"describe_seconds": 10.0, "retrain_seconds": 10.0}
# How crops were written before every row was filtered "up": the encoder's per-row choice.
PREVIOUS_PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE
]  # fmt: skip


def parts(conn, crops: Path, n: int = 100) -> dict:
    rows = crops_without_descriptor(conn, embeddings.DESCRIPTOR_MODEL)[:n]
    _, describe = embeddings.load_models()
    started = time.perf_counter()
    faces = [face_in_crop(crops, row) for row in rows]
    read = time.perf_counter() - started
    started = time.perf_counter()
    chips = [embeddings.face_chip(face) for face in faces]
    align = time.perf_counter() - started
    started = time.perf_counter()
    describe(chips)
    resnet = time.perf_counter() - started
    size = np.median([face.box[2] for face in faces])
    return {
        "crops": len(rows),
        "median_face_width_px": float(size),
        "read_ms_per_crop": round(1000 * read / len(rows), 2),
        "align_ms_per_crop": round(1000 * align / len(rows), 2),
        "resnet_ms_per_crop": round(1000 * resnet / len(rows), 2),
    }


def png_storage(conn, crops: Path, n: int = 100) -> dict:
    """Writing and reading ``n`` crops' files (colour crop and grey model input) with the
    previous PNG settings and the app's, taking turns: milliseconds a crop, KB a crop."""
    rows = conn.execute("SELECT image_file, face_file FROM crops ORDER BY id").fetchall()[:n]
    images = [
        cv2.imread(str(crops / row[column]), cv2.IMREAD_UNCHANGED)
        for row in rows
        for column in ("image_file", "face_file")
    ]
    settings = {"previous": PREVIOUS_PNG_PARAMS, "now": PNG_PARAMS}
    totals = {name: {"write": 0.0, "read": 0.0, "bytes": 0} for name in settings}
    for image in images:
        for name, params in settings.items():
            started = time.perf_counter()
            data = cv2.imencode(".png", image, params)[1]
            totals[name]["write"] += time.perf_counter() - started
            started = time.perf_counter()
            cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
            totals[name]["read"] += time.perf_counter() - started
            totals[name]["bytes"] += data.size
    return {
        name: {
            "write_ms_per_crop": round(1000 * total["write"] / len(rows), 2),
            "read_ms_per_crop": round(1000 * total["read"] / len(rows), 2),
            "kb_per_crop": round(total["bytes"] / 1024 / len(rows), 1),
        }
        for name, total in totals.items()
    }


def label_from_truth(conn, every: int) -> dict[str, int]:
    """Label one crop in ``every`` from the movie's truth table (the others stay unlabelled,
    so training reads only these)."""
    table = truth_table(TRUTH)
    user = users.create_user(conn, "benchmark", "-")
    rows = conn.execute("SELECT id, frame_index FROM crops ORDER BY id").fetchall()[::every]
    labels = {
        row["id"]: "target"
        if identity_at(table, row["frame_index"]) == TARGET_NAME
        else "not_target"
        for row in rows
    }
    label_store.set_labels(conn, user, labels)
    values = list(labels.values())
    return {"crops": len(values), "target": values.count("target")}


def retrain(conn, crops: Path, models: Path, workers: int) -> dict:
    """A Retrain with face embeddings from no kept descriptor, then one with them kept."""
    conn.execute("DELETE FROM crop_descriptors")
    runs = {}
    for kind in ("fresh", "descriptors kept"):
        started = time.perf_counter()
        result = train_from_store(
            conn, crops, models, extractor=embeddings.NAME, describe_workers=workers
        )
        runs[kind] = round(time.perf_counter() - started, 2)
    runs["accuracy"] = result.report["accuracy"]
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=2000)
    parser.add_argument("--workers", type=int, action="append", help="default: 2")
    parser.add_argument("--runtime", action="append", choices=embeddings.RUNTIMES,
                        help="default: dlib and onnxruntime")  # fmt: skip
    parser.add_argument("--retrain-crops", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not MOVIE.is_file():
        print(
            f"development data not found: {DATA}\nThis benchmark needs ../shared/data"
            f" ({MOVIE.relative_to(DATA)} and its truth table; see its README).",
            file=sys.stderr,
        )
        return 2
    problem = embeddings.model_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    workers_list = options.workers or [2]
    report: dict[str, Any] = {"cores": os.cpu_count(), "runtimes": {}}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        conn = open_store(work / "lookalike.sqlite3")
        crops = work / "crops"
        started = time.perf_counter()
        extract_faces(conn, crops, MOVIE, Sampling(every=0, cap=3000, seed=1))
        report["extract_seconds"] = round(time.perf_counter() - started, 1)
        ids = [row[0] for row in conn.execute("SELECT id FROM crops ORDER BY id")]
        chosen = ids[: options.crops]
        report["crops_available"] = len(ids)
        report["png"] = png_storage(conn, crops)
        report["labelled"] = label_from_truth(conn, max(1, len(ids) // options.retrain_crops))
        for runtime in options.runtime or ["dlib", "onnxruntime"]:
            embeddings.use_runtime(runtime)
            row: dict[str, Any] = {}
            started = time.perf_counter()
            embeddings.load_models()
            row["model_load_seconds"] = round(time.perf_counter() - started, 3)
            conn.execute("DELETE FROM crop_descriptors")
            row["parts"] = parts(conn, crops)
            row["describe"] = []
            for workers in workers_list:
                conn.execute("DELETE FROM crop_descriptors")
                started = time.perf_counter()
                result = describe_crops(conn, crops, chosen, workers=workers)
                seconds = time.perf_counter() - started
                row["describe"].append(
                    {
                        "workers": workers,
                        "crops": result["described"],
                        "seconds": round(seconds, 1),
                        "crops_per_second": round(result["described"] / seconds, 1),
                    }
                )
            row["retrain_seconds"] = retrain(conn, crops, work / "models", max(workers_list))
            report["runtimes"][runtime] = row
            print(f"  {runtime}: {row}", file=sys.stderr)
        conn.close()
    report["load_average"] = [round(x, 1) for x in os.getloadavg()]
    if options.json:
        print(json.dumps(report))
        return 0
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    labelled = report["labelled"]
    print(
        f"{report['crops_available']} crops extracted in {report['extract_seconds']} s;"
        f" {labelled['crops']} labelled for the Retrain ({labelled['target']} target)"
    )
    png = report["png"]
    print(
        "crop files (colour and grey) written / read / size, previous PNG filters -> every"
        " row up: "
        + ", ".join(
            f"{png['previous'][key]} -> {png['now'][key]} {unit}"
            for key, unit in (
                ("write_ms_per_crop", "ms"),
                ("read_ms_per_crop", "ms"),
                ("kb_per_crop", "KB"),
            )
        )
    )
    for runtime, row in report["runtimes"].items():
        p = row["parts"]
        print(
            f"{runtime}: model load {row['model_load_seconds']} s (once per process); per crop:"
            f" read {p['read_ms_per_crop']} ms, align {p['align_ms_per_crop']} ms, ResNet"
            f" {p['resnet_ms_per_crop']} ms (median face {p['median_face_width_px']:.0f} px)"
        )
        for run in row["describe"]:
            print(
                f"{runtime}: {run['crops']} crops described by {run['workers']} process(es) in"
                f" {run['seconds']} s ({run['crops_per_second']} crops/s)"
            )
        retrained = row["retrain_seconds"]
        print(
            f"{runtime}: Retrain on {labelled['crops']} crops, descriptors computed fresh"
            f" {retrained['fresh']} s, kept {retrained['descriptors kept']} s"
        )
    ours = report["runtimes"].get("onnxruntime")
    if ours:
        two = [run for run in ours["describe"] if run["workers"] == 2]
        checks = [("Retrain, fresh", ours["retrain_seconds"]["fresh"], TARGETS["retrain_seconds"])]
        if two:
            checks.insert(0, (f"{two[0]['crops']} crops, 2 processes", two[0]["seconds"],
                              TARGETS["describe_seconds"]))  # fmt: skip
        for what, seconds, goal in checks:
            verdict = "met" if seconds <= goal else "NOT met"
            print(f"target, onnxruntime: {what} {seconds} s (<= {goal:g} s): {verdict}")
    load = ", ".join(str(x) for x in report["load_average"])
    print(f"machine: {report['cores']} cores, load average {load} at the end")


if __name__ == "__main__":
    sys.exit(main())
