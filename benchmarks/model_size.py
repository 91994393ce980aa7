"""What does a model version weigh, in the models folder and in the store?

    .venv/bin/python benchmarks/model_size.py [--crops 200] [--face-size 224] [--json]

Trains and saves (``webapp.learn.versions.save_version``, as training does) eigenfaces
versions at the app's default face size, with the default preset (which works at 64x64)
and with ``seed`` (which keeps the crops' own size): each with the default search, then
one per number of components the search can choose (the size grows with them: each
component is a whole face of pixels); and a face-embeddings version. The eigenfaces
crops are generated as the tests make them (``tests/learn_data.py``: a tenth the
astronaut, the others scikit-image's LFW faces); the face-embeddings version trains on
generated descriptors (``benchmarks/train.py --descriptors``), its model being an SVM
over 128 numbers per crop. No data from ``../shared`` is needed. Prints the bytes of
``model.joblib`` and ``version.json``: what each version adds to the ``model_files`` table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train import descriptors  # noqa: E402

from tests.learn_data import faces_and_labels  # noqa: E402
from webapp.learn.model import SearchSpace, train  # noqa: E402
from webapp.learn.preprocess import DEFAULT_PRESET  # noqa: E402
from webapp.learn.versions import FILES, METADATA_FILE, MODEL_FILE, save_version  # noqa: E402


def weigh(
    outcome, extractor: str, preset: str | None, face_size: int, models_dir: Path
) -> dict[str, int]:
    directory, _ = save_version(
        models_dir,
        outcome.pipeline,
        extractor=extractor,
        preset=preset,
        face_size=face_size,
        report=outcome.report,
        started_at="",
    )
    folder = models_dir / directory
    return {name: (folder / name).stat().st_size for name in FILES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=200)
    parser.add_argument("--face-size", type=int, default=224)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    targets = args.crops // 10
    faces, labels = faces_and_labels(targets, args.crops - targets, args.face_size)
    with tempfile.TemporaryDirectory() as models:
        searches = [("default search", None)] + [
            (f"{n} components", SearchSpace(n_components=(n,))) for n in SearchSpace.n_components
        ]
        for preset in (DEFAULT_PRESET, "seed"):
            for name, space in searches:
                outcome = train(faces, labels, extractor="eigenfaces", preset=preset, space=space)
                sizes = weigh(outcome, "eigenfaces", preset, args.face_size, Path(models))
                chosen = outcome.report["best_params"].get("n_components")
                version = f"eigenfaces {preset}, {name}"
                rows.append({"version": version, "n_components": chosen, **sizes})
                print(rows[-1], file=sys.stderr)
        vectors, vector_labels, variants = descriptors(args.crops)
        outcome = train(vectors, vector_labels, extractor="face-embeddings", variants=variants)
        sizes = weigh(outcome, "face-embeddings", None, 150, Path(models))
        rows.append({"version": "face-embeddings", "n_components": None, **sizes})
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.crops} crops, eigenfaces at {args.face_size} px")
    print(f"{'version':<34} {'components':>10} {MODEL_FILE:>14} {METADATA_FILE:>14}")
    for row in rows:
        components = "" if row["n_components"] is None else str(row["n_components"])
        print(
            f"{row['version']:<34} {components:>10} {row[MODEL_FILE]:>14,}"
            f" {row[METADATA_FILE]:>14,}"
        )


if __name__ == "__main__":
    main()
