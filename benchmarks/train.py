"""How long does training take for 500 and 2000 crops at the app's face size?

    .venv/bin/python benchmarks/train.py [--sizes 500 2000] [--presets equalize seed] [--json]
    .venv/bin/python benchmarks/train.py --descriptors [--sizes 500 2000 5000] [--json]

Crops are the ORL faces (Olivetti Research Laboratory, ``../shared/data/crops/orl_faces``)
resized to 224x224 (the app's default model input) and augmented with small random
shifts, rotations and lighting changes up to the wanted count; one person (about 10% of
the crops) is the target. Times the core's ``train`` (split, PCA once per candidate,
SVM search, calibration, held-out report) with the default search space.

``--descriptors`` times face embeddings instead, on generated descriptors in dlib's metric
(no data needed: the descriptors are kept in the store, so retraining starts from them):
10% of the crops the target at several events, each with 7 copies as the mirrored and
jittered ones, the others people of 6 crops each; once with the search for the kernel
width and the 50% line (``webapp.learn.line``), once as before it (width 4, C searched).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.learn import line  # noqa: E402
from webapp.learn.model import train  # noqa: E402
from webapp.learn.preprocess import DEFAULT_PRESET  # noqa: E402
from webapp.vision import cv2  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FACE_SIZE = 224


def jitter(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    centre = (face.shape[1] / 2, face.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-6, 6), rng.uniform(0.95, 1.05))
    matrix[:, 2] += rng.uniform(-4, 4, 2)
    moved = cv2.warpAffine(face, matrix, face.shape[::-1], borderMode=cv2.BORDER_REFLECT)
    return np.clip(moved * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)


def crops(count: int, seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    folder = DATA / "crops" / "orl_faces"
    people = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
    base = []
    for index, person in enumerate(people):
        for i in range(1, 11):
            grey = cv2.imread(str(person / f"{i}.pgm"), cv2.IMREAD_GRAYSCALE)
            face = cv2.resize(grey, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_LINEAR)
            base.append((face, int(index < 4)))  # 4 of 40 people: about 10% target
    rng = np.random.default_rng(seed)
    picked = [base[i % len(base)] for i in range(count)]
    faces = [face if i < len(base) else jitter(face, rng) for i, (face, _) in enumerate(picked)]
    return faces, [label for _, label in picked]


def _direction(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=128)
    return vector / np.linalg.norm(vector)


def descriptors(count: int, seed: int = 0) -> tuple[list[np.ndarray], list[int], list]:
    """(descriptors, labels, variants): a tenth of them the target, 4 crops per event 0.3
    from the target's centre; the others people 1.0 from it, 2 events of 3 crops each."""
    rng = np.random.default_rng(seed)
    centre = 0.5 * _direction(rng)
    vectors: list[np.ndarray] = []
    labels: list[int] = []
    while len(vectors) < count:
        target = len(vectors) < count // 10
        person = centre if target else centre + _direction(rng)
        for _ in range(1 if target else 2):
            event = person + (0.3 if target else 0.2) * _direction(rng)
            for _ in range(4 if target else 3):
                vectors.append(event + 0.1 * rng.normal(size=128) / np.sqrt(128))
                labels.append(int(target))
    vectors, labels = vectors[:count], labels[:count]
    variants = [
        v + 0.16 * rng.normal(size=(7, 128)) / np.sqrt(128) if label else None
        for v, label in zip(vectors, labels, strict=True)
    ]
    return [v.astype(np.float32) for v in vectors], labels, variants


def time_descriptors(sizes: list[int]) -> list[dict]:
    rows = []
    for count in sizes:
        vectors, labels, variants = descriptors(count)
        for search, minimum in (("width and line", line.MIN_TARGET_CROPS), ("before", 10**9)):
            saved, line.MIN_TARGET_CROPS = line.MIN_TARGET_CROPS, minimum
            try:
                started = time.perf_counter()
                outcome = train(vectors, labels, extractor="face-embeddings", variants=variants)
            finally:
                line.MIN_TARGET_CROPS = saved
            rows.append(timed_row(count, search, started, outcome))
    return rows


def timed_row(count: int, preset: str, started: float, outcome: Any) -> dict[str, Any]:
    """One training's row (timed from ``started``), printed as it comes."""
    row = {
        "crops": count,
        "preset": preset,
        "seconds": round(time.perf_counter() - started, 2),
        "accuracy": outcome.report["accuracy"],
        "auc": outcome.report["roc_auc"],
        "best_params": outcome.report["best_params"],
    }
    print(row, file=sys.stderr)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--presets", nargs="+", default=[DEFAULT_PRESET, "seed"])
    parser.add_argument("--descriptors", action="store_true", help="face embeddings instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.descriptors:
        rows = time_descriptors(args.sizes or [500, 2000, 5000])
        if args.json:
            print(json.dumps(rows))
        else:
            print_rows(rows, "search")
        return
    args.sizes = args.sizes or [500, 2000]
    if not DATA.is_dir():
        sys.exit(f"The development data is missing: expected it at {DATA} (see its README).")
    rows = []
    for count in args.sizes:
        faces, labels = crops(count)
        for preset in args.presets:
            started = time.perf_counter()
            outcome = train(faces, labels, preset=preset)
            rows.append(timed_row(count, preset, started, outcome))
    if args.json:
        print(json.dumps(rows))
        return
    print_rows(rows, "preset")


def print_rows(rows: list[dict], kind: str) -> None:
    print(f"{'crops':>6} {kind:<14} {'seconds':>8} {'accuracy':>9} {'AUC':>6}  best")
    for row in rows:
        print(
            f"{row['crops']:>6} {row['preset']:<14} {row['seconds']:>8.2f}"
            f" {row['accuracy']:>9.3f} {row['auc']:>6.3f}  {json.dumps(row['best_params'])}"
        )


if __name__ == "__main__":
    main()
