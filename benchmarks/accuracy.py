"""How good is each preprocessing preset? Two tasks from ../shared/data, side by side.

    .venv/bin/python benchmarks/accuracy.py [--every 5] [--skip-orl] [--json]

1. Movie to photos: extract faces from ``movie/dev_movie.mp4`` into a scratch store
   (``webapp.extraction.extract_faces``), label each crop from ``dev_movie_truth.tsv``
   (lin_manuel_miranda = target, everyone else not), train each preset with the app's own
   operation (``webapp.training.train_from_store``), report its held-out scores, then score
   every photo under ``photos/`` (largest face, as the public page does):
   ``lin-manuel-miranda.png`` is the target, all others are not.
2. ORL faces (Olivetti Research Laboratory, ``crops/orl_faces``): each of the 40 people in
   turn as the target, 5 images of everyone to train and the other 5 to test; mean ROC AUC
   of the look-alike percentage (and of the decision function: they must agree).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score, roc_auc_score  # noqa: E402

from webapp.extraction import extract_faces  # noqa: E402
from webapp.learn.model import fit_model, look_alike_percents  # noqa: E402
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS  # noqa: E402
from webapp.learn.scoring import score_largest_face  # noqa: E402
from webapp.learn.versions import load_version  # noqa: E402
from webapp.store import labels as label_store  # noqa: E402
from webapp.store import users  # noqa: E402
from webapp.store.db import open_store  # noqa: E402
from webapp.training import train_from_store  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import FaceDetector  # noqa: E402
from webapp.vision.video import Sampling  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TARGET_NAME = "lin_manuel_miranda"
TARGET_PHOTO = "lin-manuel-miranda.png"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def truth_table(path: Path) -> list[tuple[int, int, str]]:
    with path.open() as f:
        return [
            (int(r["first_frame"]), int(r["last_frame"]), r["identity"])
            for r in csv.DictReader(f, delimiter="\t")
        ]


def identity_at(table: list[tuple[int, int, str]], frame: int) -> str:
    return next(name for first, last, name in table if first <= frame <= last)


def build_movie_store(work: Path, every: int) -> tuple[object, Path, dict]:
    conn = open_store(work / "lookalike.sqlite3")
    crops = work / "crops"
    started = time.perf_counter()
    summary = extract_faces(
        conn, crops, DATA / "movie" / "dev_movie.mp4", Sampling(every=every, cap=3000, seed=1)
    )
    table = truth_table(DATA / "movie" / "dev_movie_truth.tsv")
    user = users.create_user(conn, "benchmark", "-")
    rows = conn.execute("SELECT id, frame_index FROM crops").fetchall()
    labels = {
        row["id"]: (
            "target" if identity_at(table, row["frame_index"]) == TARGET_NAME else "not_target"
        )
        for row in rows
    }
    label_store.set_labels(conn, user, labels)
    counts = {
        "crops": len(rows),
        "target": sum(v == "target" for v in labels.values()),
        "extract_seconds": round(time.perf_counter() - started, 1),
        "frames_kept": summary.frames_kept,
    }
    return conn, crops, counts


def photo_files() -> list[tuple[Path, int]]:
    photos = sorted(p for p in (DATA / "photos").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(p, int(p.name == TARGET_PHOTO)) for p in photos]


def score_photos(version, detector: FaceDetector) -> dict:
    truth, percents, target_percent, skipped = [], [], None, 0
    for path, is_target in photo_files():
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        face = score_largest_face(version, image, detector) if image is not None else None
        if face is None:
            skipped += 1
            continue
        truth.append(is_target)
        percents.append(face.percent)
        if is_target:
            target_percent = face.percent
    truth_arr, pct = np.array(truth), np.array(percents)
    predicted = (pct >= 50).astype(int)
    return {
        "photos": len(truth),
        "skipped": skipped,
        "accuracy": float((predicted == truth_arr).mean()),
        "f1": float(f1_score(truth_arr, predicted, zero_division=0)),
        "auc": float(roc_auc_score(truth_arr, pct)),
        "target_percent": target_percent,
        "others_above_target": int((pct[truth_arr == 0] >= (target_percent or 0)).sum()),
        "others_mean_percent": float(pct[truth_arr == 0].mean()),
    }


def movie_task(every: int) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conn, crops, counts = build_movie_store(work, every)
        print(f"movie: {counts}", file=sys.stderr)
        detector = FaceDetector()
        for preset in PRESETS:
            result = train_from_store(conn, crops, work / "models", preset=preset)
            report = result.report
            version = load_version(work / "models", result.directory)
            results[preset] = {
                "held_out": {
                    "accuracy": report["accuracy"],
                    "f1": report["classes"]["target"]["f1-score"],
                    "auc": report["roc_auc"],
                },
                "photos": score_photos(version, detector),
                "train_seconds": report["seconds"],
                "best_params": report["best_params"],
            }
            print(f"  {preset}: {results[preset]}", file=sys.stderr)
    return {"counts": counts, "presets": results}


def orl_task() -> dict:
    folder = DATA / "crops" / "orl_faces"
    people = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
    images = {
        p.name: [cv2.imread(str(p / f"{i}.pgm"), cv2.IMREAD_GRAYSCALE) for i in range(1, 11)]
        for p in people
    }
    results = {}
    for preset in PRESETS:
        started = time.perf_counter()
        percent_aucs, decision_aucs = [], []
        for target in images:
            train_x, train_y, test_x, test_y = [], [], [], []
            for name, faces in images.items():
                train_x += faces[:5]
                test_x += faces[5:]
                train_y += [int(name == target)] * 5
                test_y += [int(name == target)] * 5
            pipeline = fit_model(train_x, train_y, preset=preset).pipeline
            percent_aucs.append(roc_auc_score(test_y, look_alike_percents(pipeline, test_x)))
            decision_aucs.append(roc_auc_score(test_y, pipeline.decision_function(test_x)))
        results[preset] = {
            "mean_auc": float(np.mean(percent_aucs)),
            "min_auc": float(np.min(percent_aucs)),
            "decision_mean_auc": float(np.mean(decision_aucs)),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(f"  orl {preset}: {results[preset]}", file=sys.stderr)
    return results


def print_table(movie: dict | None, orl: dict | None) -> None:
    header = (
        f"{'preset':<10} {'held-out acc':>12} {'f1':>6} {'AUC':>6} | {'photos acc':>10}"
        f" {'f1':>6} {'AUC':>6} {'target %':>9} {'others >=':>9} | {'ORL mean AUC':>12}"
    )
    print(header)
    print("-" * len(header))
    for preset in PRESETS:
        line = f"{preset + ('*' if preset == DEFAULT_PRESET else ''):<10}"
        if movie:
            held, photos = movie["presets"][preset]["held_out"], movie["presets"][preset]["photos"]
            line += (
                f" {held['accuracy']:>12.3f} {held['f1']:>6.3f} {held['auc']:>6.3f} |"
                f" {photos['accuracy']:>10.3f} {photos['f1']:>6.3f} {photos['auc']:>6.3f}"
                f" {photos['target_percent']:>9.1f} {photos['others_above_target']:>9d} |"
            )
        if orl:
            line += f" {orl[preset]['mean_auc']:>12.3f}"
        print(line)
    print("* the default preset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=5, help="average frame gap when extracting")
    parser.add_argument("--skip-orl", action="store_true")
    parser.add_argument("--skip-movie", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"The development data is missing: expected it at {DATA} (see its README).")
    movie = None if args.skip_movie else movie_task(args.every)
    orl = None if args.skip_orl else orl_task()
    if args.json:
        print(json.dumps({"movie": movie, "orl": orl}))
    else:
        print_table(movie, orl)


if __name__ == "__main__":
    main()
