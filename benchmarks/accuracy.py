"""How good is each extractor and preprocessing preset? Four tasks from ../shared/data.

    .venv/bin/python benchmarks/accuracy.py [--every 5] [--task movie|orl|photos|lfw]...
        [--extractor eigenfaces|face-embeddings]... [--json]

One row per task x extractor x preset (face-embeddings has no preset): accuracy,
precision / recall / f1 of the target, ROC AUC of the look-alike percentage and of the
SVM's decision function (they must agree: the percentage never runs backwards), and in
the movie task the target photo's percentage and how many other photos score as high.

1. movie -> photos: extract faces from ``movie/dev_movie.mp4`` into a scratch store
   (``webapp.operations.extraction.extract_faces``), label each crop from
   ``dev_movie_truth.tsv`` (lin_manuel_miranda = target, everyone else not), train with the
   app's own operation (``webapp.operations.training.train_from_store``; descriptors are
   kept, as in the app), then score every photo under ``photos/`` as the public page does
   (decoded at 640 px, faces found by its finder for the extractor, the largest one
   scored): ``lin-manuel-miranda.png`` is the target, all others are not.
2. ORL faces (Olivetti Research Laboratory, ``crops/orl_faces``): each of the 40 people in
   turn as the target, 5 images of everyone to train and the other 5 to test; the mean
   over the 40 runs.
3. photos -> photos: each person in ``photos/people`` with several photos in turn as the
   target; every photo of the folder is held out once (leave-one-out) and scored by a
   model trained on all the others; scores pooled per target, then averaged.
4. lfw: three look-alike tasks cut from Labeled Faces in the Wild (``lfw/<task>/train`` and
   ``test``, each ``1`` the target, ``0`` hard look-alikes; see its README), run as the app
   runs them: ``import-folders`` of ``train`` into a fresh store, ``train``, ``evaluate``
   of ``test`` (the operations behind those commands). Per task: ROC AUC, the target's F1
   at 50%, the target's photos under 50% and the other people's photos at or over 50%,
   by file name.

The movie task also trains few-shot (face embeddings only: eigenfaces need 8 crops of each
class): 1, 3 and 6 target crops drawn at random (several draws) and every not-target crop;
for each, the target photo's percent, the ROC AUC over the photos, and how many other
people's photos reach 50%.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from webapp.learn.features import (  # noqa: E402
    FaceInImage,
    embeddings,
    get_extractor,
)
from webapp.learn.look_alike import face_for_model  # noqa: E402
from webapp.learn.model import TARGET, fit_model  # noqa: E402
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS  # noqa: E402
from webapp.learn.versions import ModelVersion, load_version  # noqa: E402
from webapp.operations.evaluation import score_folder  # noqa: E402
from webapp.operations.extraction import extract_faces  # noqa: E402
from webapp.operations.folders import import_folders  # noqa: E402
from webapp.operations.selfies import SELFIE_WIDTH, first_look, selfie_finders  # noqa: E402
from webapp.operations.training import train_from_store  # noqa: E402
from webapp.store import labels as label_store  # noqa: E402
from webapp.store import users  # noqa: E402
from webapp.store.db import open_store  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import (  # noqa: E402
    Box,
    DetectorSettings,
    FaceDetector,
    cut,
    margin_box,
    model_input,
)
from webapp.vision.images import ImageLimits, decode_upload  # noqa: E402
from webapp.vision.video import Sampling  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TARGET_NAME = "lin_manuel_miranda"
TARGET_PHOTO = "lin-manuel-miranda.png"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
FACE_SIZE = 224  # the app's default model input
MARGIN = 0.25  # the app's default crop margin
EMBEDDINGS = embeddings.NAME
TASKS = ("movie", "orl", "photos", "lfw")
LFW_TASKS = ("alvaro_uribe", "megawati_sukarnoputri", "serena_williams")
PHOTO_LIMITS = ImageLimits(max_bytes=15 * 1024 * 1024, max_pixels=50_000_000)  # the app's
FEW_SHOT = (1, 3, 6)  # target crops
LFW_NAMES_SHOWN = 6  # photos on the wrong side of 50% named in the table, at most
FEW_SHOT_DRAWS = 5

Combo = tuple[str, str | None]  # (extractor, preset or None)


def combos(extractors: Sequence[str]) -> list[Combo]:
    rows: list[Combo] = []
    for name in extractors:
        if get_extractor(name).uses_preset:
            rows += [(name, preset) for preset in PRESETS]
        else:
            rows.append((name, None))
    return rows


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


def scores(truth: Sequence[int], percents: Sequence[float], decisions: Sequence[float]) -> dict:
    """Accuracy, the target's precision/recall/f1, ROC AUC of the percent and of the
    decision function."""
    y, pct, dec = np.asarray(truth), np.asarray(percents), np.asarray(decisions)
    predicted = (pct >= 50).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, labels=[TARGET], zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "f1": float(f1[0]),
        "auc": float(roc_auc_score(y, pct)),
        "decision_auc": float(roc_auc_score(y, dec)),
    }


def mean_scores(runs: list[dict]) -> dict:
    return {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}


# --- Photos, read as the public page reads an upload ---


def photo_faces(paths: Sequence[Path], extractor: str) -> dict[Path, tuple[np.ndarray, Box]]:
    """Each photo decoded at 640 px wide with its largest face as the public page finds it
    for a model of ``extractor`` (verified, a second pass before "no face"); photos
    without one left out."""
    finder = selfie_finders().for_extractor(extractor)
    found = {}
    for path in paths:
        image = decode_upload(path.read_bytes(), max_width=SELFIE_WIDTH).bgr
        faces = finder.find(image)
        if faces:
            found[path] = (image, faces[0])
    return found


class PhotoFaces:
    """:func:`photo_faces` of some photos, found once per finder the extractors use."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = paths
        self._found: dict[str, dict[Path, tuple[np.ndarray, Box]]] = {}

    def __call__(self, extractor: str) -> dict[Path, tuple[np.ndarray, Box]]:
        look = first_look(extractor)
        if look not in self._found:
            self._found[look] = photo_faces(self.paths, extractor)
        return self._found[look]


def score_version(version: Any, faces: list[tuple[np.ndarray, Box]]) -> tuple[list, list]:
    """(percents, decisions) of faces under a model version, features computed once."""
    inputs = [face_for_model(version, image, box) for image, box in faces]
    features = version.pipeline[:-1].transform(inputs)
    svm = version.pipeline[-1]
    return list(100 * svm.predict_proba(features)[:, TARGET]), list(svm.decision_function(features))


def train_and_load(
    conn: Any, crops: Path, models: Path, extractor: str, preset: str | None, **options: Any
) -> tuple[Any, ModelVersion]:
    """A version trained with the app's own operation at the tasks' face size, and loaded."""
    result = train_from_store(
        conn,
        crops,
        models,
        preset=preset or DEFAULT_PRESET,
        extractor=extractor,
        face_size=FACE_SIZE,
        **options,
    )
    return result, load_version(models, result.directory)


def movie_task(every: int, chosen: list[Combo]) -> dict:
    photos = sorted(p for p in (DATA / "photos").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    faces_for = PhotoFaces(photos)
    results = {}
    with_face: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conn, crops, counts = build_movie_store(work, every)
        print(f"movie: {counts}", file=sys.stderr)
        for extractor, preset in chosen:
            faces = faces_for(extractor)
            with_face[extractor] = len(faces)
            truth = [int(p.name == TARGET_PHOTO) for p in faces]
            result, version = train_and_load(conn, crops, work / "models", extractor, preset)
            percents, decisions = score_version(version, list(faces.values()))
            target = percents[truth.index(1)]
            others = [p for p, t in zip(percents, truth, strict=True) if not t]
            row = {
                **scores(truth, percents, decisions),
                "target_percent": float(target),
                "others_at_or_above_target": int(sum(p >= target for p in others)),
                "others_over_50": int(sum(p >= 50 for p in others)),
                "others_max_percent": float(max(others)),
                "held_out_auc": result.report["roc_auc"],
                "train_seconds": result.report["seconds"],
                "best_params": result.report["best_params"],
            }
            results[f"{extractor}/{preset or '-'}"] = row
            print(f"  movie {extractor}/{preset}: {row}", file=sys.stderr)
        print(f"movie: photos with a face {with_face} of {len(photos)}", file=sys.stderr)
        few_shot = {
            extractor: few_shot_rows(conn, crops, work, extractor, faces_for(extractor))
            for extractor in dict.fromkeys(name for name, _ in chosen)
            if get_extractor(extractor).min_per_class <= min(FEW_SHOT)
        }
    return {
        "counts": {**counts, "photos_with_a_face": with_face},
        "rows": results,
        "few_shot": few_shot,
    }


def few_shot_rows(
    conn: Any, crops: Path, work: Path, extractor: str, faces: dict
) -> dict[str, Any]:
    """Train from ``n`` target crops drawn at random (the others unlabelled for the time)
    and every not-target crop, for each ``n`` in :data:`FEW_SHOT`, several draws each;
    score the photos' ``faces``. The labels are put back afterwards."""
    truth = [int(p.name == TARGET_PHOTO) for p in faces]
    user = users.create_user(conn, f"few-shot-{extractor}", "-")
    targets = [row[0] for row in conn.execute("SELECT id FROM crops WHERE label = 'target'")]
    rng = np.random.default_rng(0)
    rows: dict[str, Any] = {}
    for n in FEW_SHOT:
        draws = []
        for _ in range(FEW_SHOT_DRAWS):
            kept = set(rng.choice(targets, n, replace=False).tolist())
            label_store.set_labels(conn, user, {i: None for i in targets if i not in kept})
            try:
                result = train_from_store(
                    conn, crops, work / "models", extractor=extractor, activate="always"
                )
            finally:
                label_store.set_labels(conn, user, dict.fromkeys(targets, "target"))
            version = load_version(work / "models", result.directory)
            percents, _ = score_version(version, list(faces.values()))
            others = [p for p, t in zip(percents, truth, strict=True) if not t]
            draws.append(
                {
                    "target_percent": float(percents[truth.index(1)]),
                    "auc": float(roc_auc_score(truth, percents)),
                    "others_over_50": int(sum(p >= 50 for p in others)),
                    "others_max_percent": float(max(others)),
                    "best_params": result.report["best_params"],
                }
            )
        rows[str(n)] = {
            "draws": draws,
            "target_percent_median": float(np.median([d["target_percent"] for d in draws])),
            "target_over_50": int(sum(d["target_percent"] >= 50 for d in draws)),
            "auc_mean": float(np.mean([d["auc"] for d in draws])),
            "others_over_50": int(sum(d["others_over_50"] for d in draws)),
        }
        print(f"  movie few-shot {extractor} n={n}: {rows[str(n)]}", file=sys.stderr)
    return rows


# --- LFW look-alike tasks, as the app's commands run them ---


def lfw_task(chosen: list[Combo]) -> dict:
    folder = DATA / "lfw"
    missing = [name for name in LFW_TASKS if not (folder / name / "train").is_dir()]
    if missing:
        message = f"the LFW tasks are missing: expected {', '.join(missing)} in {folder}"
        print(f"lfw: {message}", file=sys.stderr)
        return {"missing": message, "rows": {}}
    results: dict[str, Any] = {}
    for name in LFW_TASKS:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            conn = open_store(work / "lookalike.sqlite3")
            crops = work / "crops"
            imported = import_folders(
                conn, crops, folder / name / "train", size=FACE_SIZE, margin=MARGIN
            )
            for extractor, preset in chosen:
                result, version = train_and_load(
                    conn, crops, work / "models", extractor, preset, activate="always"
                )
                evaluation = score_folder(version, folder / name / "test", PHOTO_LIMITS)
                row = lfw_row(evaluation)
                row.update(
                    imported=imported.imported,
                    best_params=result.report["best_params"],
                    train_seconds=result.report["seconds"],
                )
                results[f"{name} {extractor}/{preset or '-'}"] = row
                print(f"  lfw {name} {extractor}/{preset}: {row}", file=sys.stderr)
            conn.close()
    return {"rows": results}


def lfw_row(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The figures at the 50% line and who is on the wrong side of it, by file name."""
    images = evaluation["images"]
    targets = [item for item in images if item["truth"] == 1]
    others = [item for item in images if item["truth"] == 0]

    def named(items: list[dict[str, Any]]) -> list[list[Any]]:
        return [[Path(item["file"]).name, round(item["percent"], 1)] for item in items]

    return {
        "auc": evaluation["roc_auc"],
        "f1": evaluation["target"]["f1"],
        "precision": evaluation["target"]["precision"],
        "recall": evaluation["target"]["recall"],
        "targets": len(targets),
        "others": len(others),
        "targets_under_50": named([item for item in targets if item["percent"] < 50]),
        "others_over_50": named([item for item in others if item["percent"] >= 50]),
        "others_max_percent": max(item["percent"] for item in others),
        "skipped": len(evaluation["skipped"]),
    }


# --- Inputs of each extractor, computed once per picture ---


def eigen_input(image: np.ndarray, box: Box) -> np.ndarray:
    return model_input(image, box, FACE_SIZE)


def embedding_input(image: np.ndarray, box: Box) -> np.ndarray:
    """The descriptor of the face cut as the app cuts it (crop with margin), kept."""
    height, width = image.shape[:2]
    around = margin_box(box, MARGIN, width, height)
    inside = (box.x - around.x, box.y - around.y, box.w, box.h)
    return embeddings.describe_faces([FaceInImage(cut(image, around), inside)])[0]


def inputs_for(extractor: str) -> Callable[[np.ndarray, Box], np.ndarray]:
    return embedding_input if extractor == EMBEDDINGS else eigen_input


def fit_and_score(combo: Combo, train_x, train_y, test_x, test_y) -> dict:
    extractor, preset = combo
    pipeline = fit_model(
        train_x, train_y, extractor=extractor, preset=preset or DEFAULT_PRESET
    ).pipeline
    percents = 100 * pipeline.predict_proba(test_x)[:, TARGET]
    return scores(test_y, percents, pipeline.decision_function(test_x))


def orl_task(chosen: list[Combo]) -> dict:
    folder = DATA / "crops" / "orl_faces"
    people = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: int(p.name[1:]))
    grey = {p.name: [cv2.imread(str(p / f"{i}.pgm"), cv2.IMREAD_GRAYSCALE) for i in range(1, 11)]
            for p in people}  # fmt: skip
    # The pictures are faces already: eigenfaces reads them whole, as before; embeddings
    # align the face Haar finds in them (381 of 400), else the picture's centre.
    detector = FaceDetector(DetectorSettings(min_face=0.3, scale_factor=1.05, min_neighbors=3))
    results: dict[str, Any] = {}
    described: dict[str, list[np.ndarray]] = {}
    for combo in chosen:
        extractor, preset = combo
        started = time.perf_counter()
        if extractor == EMBEDDINGS and not described:
            for name, faces in grey.items():
                described[name] = []
                for face in faces:
                    found = detector.detect(face)
                    box = found[0] if found else Box(*embeddings.face_box_in_crop(face.shape, 0.25))
                    colour = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
                    described[name].append(
                        embeddings.describe_faces([FaceInImage(colour, box.as_tuple())])[0]
                    )
        images = described if extractor == EMBEDDINGS else grey
        runs = []
        for target in images:
            train_x, train_y, test_x, test_y = [], [], [], []
            for name, faces in images.items():
                train_x += faces[:5]
                test_x += faces[5:]
                train_y += [int(name == target)] * 5
                test_y += [int(name == target)] * 5
            runs.append(fit_and_score(combo, train_x, train_y, test_x, test_y))
        row = {
            **mean_scores(runs),
            "min_auc": float(min(run["auc"] for run in runs)),
            "seconds": round(time.perf_counter() - started, 1),
        }
        results[f"{extractor}/{preset or '-'}"] = row
        print(f"  orl {extractor}/{preset}: {row}", file=sys.stderr)
    return {"rows": results}


def photos_task(chosen: list[Combo]) -> dict:
    folder = DATA / "photos" / "people"
    owners = {
        path: path.parent.name
        for path in sorted(folder.rglob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES
    }
    faces_for = PhotoFaces(list(owners))
    results: dict[str, Any] = {}
    inputs_of: dict[str, list[np.ndarray]] = {}
    counts: dict[str, dict[str, int]] = {}
    for combo in chosen:
        extractor, preset = combo
        started = time.perf_counter()
        faces = faces_for(extractor)
        paths = list(faces)
        counts[extractor] = {}
        for path in paths:
            counts[extractor][owners[path]] = counts[extractor].get(owners[path], 0) + 1
        targets = sorted(name for name, n in counts[extractor].items() if n >= 3)
        if extractor not in inputs_of:
            inputs_of[extractor] = [inputs_for(extractor)(*faces[p]) for p in paths]
        inputs = inputs_of[extractor]
        runs = []
        for target in targets:
            y = [int(owners[p] == target) for p in paths]
            percents, decisions = [], []
            for out in range(len(paths)):
                keep = [i for i in range(len(paths)) if i != out]
                pipeline = fit_model(
                    [inputs[i] for i in keep],
                    [y[i] for i in keep],
                    extractor=extractor,
                    preset=preset or DEFAULT_PRESET,
                ).pipeline
                percents.append(100 * pipeline.predict_proba([inputs[out]])[0, TARGET])
                decisions.append(pipeline.decision_function([inputs[out]])[0])
            runs.append(scores(y, percents, decisions))
        row = {**mean_scores(runs), "seconds": round(time.perf_counter() - started, 1)}
        results[f"{extractor}/{preset or '-'}"] = row
        print(f"  photos {extractor}/{preset}: {row}", file=sys.stderr)
    photos = {extractor: sum(by_owner.values()) for extractor, by_owner in counts.items()}
    return {"counts": {"photos_with_a_face": photos, "per_person": counts}, "rows": results}


def print_table(report: dict) -> None:
    header = (
        f"{'task':<7} {'extractor / preset':<22} {'acc':>6} {'prec':>6} {'recall':>6}"
        f" {'f1':>6} {'AUC %':>6} {'AUC d':>6} {'target %':>9} {'others >=':>9}"
        f" {'others>=50':>10}"
    )
    print(header)
    print("-" * len(header))
    for task in ("movie", "orl", "photos"):
        for key, row in (report.get(task) or {}).get("rows", {}).items():
            extra = ""
            if "target_percent" in row:
                extra = (
                    f" {row['target_percent']:>9.1f} {row['others_at_or_above_target']:>9d}"
                    f" {row['others_over_50']:>10d}"
                )
            print(
                f"{task:<7} {key:<22} {row['accuracy']:>6.3f} {row['precision']:>6.3f}"
                f" {row['recall']:>6.3f} {row['f1']:>6.3f} {row['auc']:>6.3f}"
                f" {row['decision_auc']:>6.3f}{extra}"
            )
    print(
        "AUC %: ROC AUC of the look-alike percentage; AUC d: of the SVM's decision function."
        " ORL and photos rows are means over the targets. others>=50: other people's photos"
        " at or over 50%."
    )
    for extractor, rows in (report.get("movie") or {}).get("few_shot", {}).items():
        print(f"\nmovie, few-shot ({extractor}): n target crops, {FEW_SHOT_DRAWS} draws each")
        print(f"{'n':>3} {'target % (each draw)':<36} {'AUC':>6} {'others>=50':>10}")
        for n, row in rows.items():
            each = " ".join(f"{d['target_percent']:5.1f}" for d in row["draws"])
            print(f"{n:>3} {each:<36} {row['auc_mean']:>6.3f} {row['others_over_50']:>10d}")
    lfw = report.get("lfw")
    if lfw is not None:
        print("\nlfw: train on TASK/train, score TASK/test as `evaluate` does")
        if lfw.get("missing"):
            print(f"  not run: {lfw['missing']}")
        else:
            print(
                f"{'task':<22} {'extractor / preset':<22} {'AUC':>6} {'F1@50':>6}"
                f" {'targets<50':>10} {'others>=50':>10} {'max other %':>11}"
            )
        for key, row in lfw["rows"].items():
            name, combo = key.split(" ")
            under = f"{len(row['targets_under_50'])} of {row['targets']}"
            print(
                f"{name:<22} {combo:<22} {row['auc']:>6.3f} {row['f1']:>6.3f} {under:>10}"
                f" {len(row['others_over_50']):>10d} {row['others_max_percent']:>11.1f}"
            )
            wrong = row["targets_under_50"] + row["others_over_50"]
            if len(wrong) <= LFW_NAMES_SHOWN:  # a long list: in the JSON (--json)
                for file, percent in wrong:
                    print(f"{'':<22}   {file} {percent:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=5, help="average frame gap when extracting")
    parser.add_argument("--task", action="append", choices=TASKS, help="default: all four")
    parser.add_argument(
        "--extractor",
        action="append",
        choices=["eigenfaces", EMBEDDINGS],
        help="default: both",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(
            f"The development data is missing: expected it at {DATA} (the movie, the photos,"
            " ORL and LFW tasks; see its README). Nothing was measured."
        )
    extractors = args.extractor or ["eigenfaces", EMBEDDINGS]
    if EMBEDDINGS in extractors and embeddings.model_problem():
        sys.exit(embeddings.model_problem())
    chosen = combos(extractors)
    tasks = args.task or list(TASKS)
    report: dict[str, Any] = {}
    if "movie" in tasks:
        report["movie"] = movie_task(args.every, chosen)
    if "orl" in tasks:
        report["orl"] = orl_task(chosen)
    if "photos" in tasks:
        report["photos"] = photos_task(chosen)
    if "lfw" in tasks:
        report["lfw"] = lfw_task(chosen)
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
