"""Does face verification remove false faces without losing real ones, what does the
second pass recover, and does the cheap first look find what the previous one found?
Five detector configurations, on photos decoded at most 640 px wide like uploads.

    .venv/bin/python benchmarks/faces.py [--lfw test|train|all] [--repeat 5] [--json]
        [--show DIR]

Configurations (``webapp.vision.find.find_faces``):
- ``haar``: the selfie path's cascade alone (300 px copy, coarse pyramid); without dlib
  the app shows the boxes of its denser look instead, which are ``before: haar``;
- ``haar+verify``: each box checked by dlib's HOG, rejected boxes dropped;
- ``haar+verify+2nd``: and a second pass when nothing is left (the denser cascade, then
  HOG, then the cascade at 640 px): the app's selfie finder for face embeddings;
- ``before: haar`` and ``before: the app``: the same without and with verification and
  second pass, with the selfie path's previous cascade (400 px copy, a pyramid level per
  10%: ``benchmarks/previous_detection.py``), which the app still runs first for
  eigenfaces models.

Measured on:
- the 44 development photos (``photos/``, listed as benchmarks/score.py lists them): boxes
  found, real faces among them, false ones, real faces missed, against the faces counted
  by eye in ``benchmarks/true_faces.tsv``;
- the LFW look-alike tasks' test folders (one aligned 250x250 news photo per file, the
  named person's face in the middle): photos where that face is not found, and where
  verification dropped a box the cascade had put on it (a real face lost). Photos are
  counted once (the tasks share a few);
- pictures without faces (scikit-image's bundled sample pictures, and the part of each
  development photo below its faces: clothes, jewellery, logos): false faces;
- detection time per photo (on the development photos the median of ``--repeat`` runs,
  the configurations taking turns on each photo so that a busy machine slows them alike),
  and the decode time the selfie path adds.

``--show DIR`` writes each development photo with its boxes drawn (green: real, red: false)
per configuration, for a person to check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from previous_detection import previous_finder  # noqa: E402

from webapp.operations.selfies import SELFIE_WIDTH, selfie_finders  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import Box  # noqa: E402
from webapp.vision.find import FaceFinder, FacesFound, find_faces  # noqa: E402
from webapp.vision.images import decode_upload  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TRUE_FACES = ROOT / "benchmarks" / "true_faces.tsv"
# scikit-image's bundled pictures without a face (the astronaut and the cameraman have one).
NO_FACE_SAMPLES = [
    "brick",
    "cell",
    "checkerboard",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "microaneurysms",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
]

Finder = Callable[[np.ndarray], FacesFound]


@dataclass(frozen=True)
class Face:
    """A face counted by eye: centre and width as fractions of the picture's size."""

    x: float
    y: float
    w: float

    def matched_by(self, box: Box, width: int, height: int) -> bool:
        cx, cy = self.x * width, self.y * height
        inside = box.x <= cx <= box.x + box.w and box.y <= cy <= box.y + box.h
        return inside and 0.5 <= box.w / (self.w * width) <= 2.5


@dataclass(frozen=True)
class TruePhoto:
    path: str  # under ../shared/data
    faces: list[Face]
    background: list[Face]  # real but blurred or cut off: neither required nor false
    note: str


def read_true_faces(path: Path = TRUE_FACES) -> list[TruePhoto]:
    photos = []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#") or line.startswith("photo\t"):
            continue
        name, count, centres, background, note = (line.split("\t") + [""] * 5)[:5]
        faces, others = _faces(centres), _faces(background)
        if len(faces) != int(count):
            raise ValueError(f"{name}: {count} faces but {len(faces)} centres")
        photos.append(TruePhoto(name, faces, others, note))
    return photos


def _faces(text: str) -> list[Face]:
    return [Face(*map(float, item.split(","))) for item in text.split(";") if item]


def development_photos() -> list[Path]:
    """The photos benchmarks/score.py measures, in its order."""
    return sorted(p for p in (DATA / "photos").rglob("*") if p.suffix in {".jpg", ".png"})


def finders() -> dict[str, Finder]:
    app, before = selfie_finders().cheap, previous_finder()
    if not app.verifier.available:
        print(
            f"note: {app.verifier.problem}; the verified rows equal the cascade's",
            file=sys.stderr,
        )

    def run(finder: FaceFinder, verify: bool = True, second: bool = True) -> Finder:
        verifier = finder.verifier if verify else None
        second_pass = finder.second_pass if second else None
        return lambda image: find_faces(image, finder.detector, verifier, second_pass)

    return {
        "haar": run(app, verify=False, second=False),
        "haar+verify": run(app, second=False),
        "haar+verify+2nd": run(app),
        "before: haar": run(before, verify=False, second=False),
        "before: the app": run(before),
    }


def decode(path: Path) -> np.ndarray:
    return decode_upload(path.read_bytes(), max_width=SELFIE_WIDTH).bgr


def score_photo(photo: TruePhoto, boxes: list[Box], width: int, height: int) -> dict:
    """Real faces found and missed, and false boxes (a second box on a face is false)."""
    unmatched = list(photo.faces)
    real, background, false = [], [], []
    for box in boxes:
        face = next((f for f in unmatched if f.matched_by(box, width, height)), None)
        if face is not None:
            unmatched.remove(face)
            real.append(box)
        elif any(f.matched_by(box, width, height) for f in photo.background):
            background.append(box)
        else:
            false.append(box)
    return {"real": real, "background": background, "false": false, "missed": unmatched}


def take_turns(
    configurations: dict[str, Finder], image: np.ndarray, turn: int
) -> dict[str, tuple[FacesFound, float, float]]:
    """Each configuration on ``image``, with its wall-clock and CPU time (all threads: the
    cascade uses several); who goes first rotates with ``turn``, so that neither warm
    caches nor a busy neighbour favour one of them."""
    names = list(configurations)
    order = names[turn % len(names) :] + names[: turn % len(names)]
    results = {}
    for name in order:
        started, cpu = time.perf_counter(), time.process_time()
        found = configurations[name](image)
        results[name] = (found, time.perf_counter() - started, time.process_time() - cpu)
    return results


def development(
    configurations: dict[str, Finder], photos: list[TruePhoto], repeat: int, show: Path | None
) -> tuple[float, dict[str, dict]]:
    """Per configuration: boxes, real and false faces, missed faces, detection time. The
    configurations take turns on each decoded photo, so that a busy machine slows them
    alike; each time is the median of ``repeat`` runs. Also the mean decode time."""
    rows = {
        name: {
            "boxes": 0,
            "real": 0,
            "background": 0,
            "false": 0,
            "missed": 0,
            "times": [],
            "cpu": [],
        }
        for name in configurations
    }
    where: dict[str, list[str]] = {name: [] for name in configurations}
    decode_times = []
    for photo in photos:
        data = (DATA / photo.path).read_bytes()
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            image = decode_upload(data, max_width=SELFIE_WIDTH).bgr
            runs.append(time.perf_counter() - started)
        decode_times.append(statistics.median(runs))
        height, width = image.shape[:2]
        runs_by_name: dict[str, list[float]] = {name: [] for name in configurations}
        cpu_by_name: dict[str, list[float]] = {name: [] for name in configurations}
        results: dict[str, FacesFound] = {}
        for turn in range(repeat):
            for name, (found, seconds, cpu) in take_turns(configurations, image, turn).items():
                results[name] = found
                runs_by_name[name].append(seconds)
                cpu_by_name[name].append(cpu)
        for name, found in results.items():
            row = rows[name]
            row["times"].append(statistics.median(runs_by_name[name]))
            row["cpu"].append(statistics.median(cpu_by_name[name]))
            result = score_photo(photo, found.boxes, width, height)
            row["boxes"] += len(found.boxes)
            for key in ("real", "background", "false", "missed"):
                row[key] += len(result[key])
            where[name] += [f"false: {photo.path} {b.as_tuple()}" for b in result["false"]]
            where[name] += [
                f"missed: {photo.path} at {f.x:.2f},{f.y:.2f}" for f in result["missed"]
            ]
            if show:
                draw(show / name / photo.path.replace("/", "_"), image, result)
    summary = {}
    for name, row in rows.items():
        times, cpu = row.pop("times"), row.pop("cpu")
        summary[name] = {
            **row,
            "photos": len(photos),
            "true": sum(len(p.faces) for p in photos),
            "detect_ms": round(1000 * statistics.mean(times), 1),
            "detect_ms_max": round(1000 * max(times), 1),
            "detect_cpu_ms": round(1000 * statistics.mean(cpu), 1),
            "details": where[name],
        }
    return round(1000 * statistics.mean(decode_times), 1), summary


def draw(out: Path, image: np.ndarray, result: dict) -> None:
    picture = image.copy()
    colours = {"real": (40, 170, 40), "background": (200, 160, 0), "false": (40, 40, 230)}
    for kind, colour in colours.items():
        for b in result[kind]:
            cv2.rectangle(picture, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out.with_suffix(".png")), picture)


def lfw_photos(split: str) -> list[Path]:
    splits = ["test", "train"] if split == "all" else [split]
    unique: dict[str, Path] = {}
    for name in splits:
        for path in sorted((DATA / "lfw").glob(f"*/{name}/*/*.jpg")):
            unique.setdefault(path.name, path)
    return sorted(unique.values(), key=lambda p: p.name)


def covers_centre(box: Box, width: int, height: int) -> bool:
    return box.x <= width / 2 <= box.x + box.w and box.y <= height / 2 <= box.y + box.h


def lfw(configurations: dict[str, Finder], paths: list[Path]) -> dict[str, dict]:
    rows = {
        name: {"missed": [], "lost": [], "second": 0, "found": 0, "times": [], "second_times": []}
        for name in configurations
    }
    for turn, path in enumerate(paths):
        image = decode(path)
        height, width = image.shape[:2]
        for name, (found, seconds, _) in take_turns(configurations, image, turn).items():
            row = rows[name]
            row["times"].append(seconds)
            centre_found = any(covers_centre(b, width, height) for b in found.boxes)
            if not centre_found:
                row["missed"].append(path.name)
                if any(covers_centre(b, width, height) for b in found.dropped):
                    row["lost"].append(path.name)
            if found.second_pass_used:
                row["second"] += 1
                row["second_times"].append(seconds)
                row["found"] += centre_found
    return {
        name: {
            "photos": len(paths),
            "centre_face_missed": len(row["missed"]),
            "centre_face_dropped": len(row["lost"]),
            "second_pass_runs": row["second"],
            "second_pass_found_centre_face": row["found"],
            "ms_per_photo": round(1000 * statistics.mean(row["times"]), 1),
            "ms_second_pass_photos": round(1000 * statistics.mean(row["second_times"]), 1)
            if row["second_times"]
            else None,
            "missed_photos": row["missed"],
            "dropped_photos": row["lost"],
        }
        for name, row in rows.items()
    }


def no_face_pictures(photos: list[TruePhoto]) -> list[tuple[str, np.ndarray]]:
    """scikit-image's sample pictures without faces (when installed), and the part of
    each development photo below all its faces, when it is tall enough and holds none."""
    pictures = []
    try:
        from skimage import data as samples
    except ImportError:
        print(
            "note: scikit-image is not installed, its sample pictures are skipped", file=sys.stderr
        )
        samples = None
    for name in NO_FACE_SAMPLES if samples else []:
        try:
            picture = getattr(samples, name)()
        except Exception:
            continue
        if picture.dtype != np.uint8:
            picture = (255 * picture.astype(float) / max(1, picture.max())).astype(np.uint8)
        if picture.ndim == 2:
            picture = cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
        else:
            picture = cv2.cvtColor(picture[..., :3], cv2.COLOR_RGB2BGR)
        pictures.append((f"skimage:{name}", picture))
    for photo in photos:
        image = decode(DATA / photo.path)
        height, width = image.shape[:2]
        faces = photo.faces + photo.background
        # The cascade's box runs down to about the chin; leave the neck out too.
        top = max(round((f.y + 0.9 * f.w * width / height) * height) for f in faces)
        if height - top >= 160:
            pictures.append((f"below faces:{photo.path}", image[top:]))
    return pictures


def false_on_no_face(
    configurations: dict[str, Finder], pictures: list[tuple[str, np.ndarray]]
) -> dict[str, dict]:
    """False faces on pictures without any, and the detection time there (where the second
    pass runs to its end)."""
    rows = {name: {"boxes": 0, "where": [], "times": [], "cpu": []} for name in configurations}
    for turn, (picture_name, picture) in enumerate(pictures):
        for name, (found, seconds, cpu) in take_turns(configurations, picture, turn).items():
            row = rows[name]
            row["times"].append(seconds)
            row["cpu"].append(cpu)
            if found.boxes:
                row["boxes"] += len(found.boxes)
                row["where"].append(f"{picture_name} {[b.as_tuple() for b in found.boxes]}")
    return {
        name: {
            "pictures": len(pictures),
            "false_faces": row["boxes"],
            "ms_per_picture": round(1000 * statistics.mean(row["times"]), 1),
            "cpu_ms_per_picture": round(1000 * statistics.mean(row["cpu"]), 1),
            "where": row["where"],
        }
        for name, row in rows.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", choices=["test", "train", "all"], default="test")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per development photo")
    parser.add_argument("--show", type=Path, help="write the photos with boxes drawn here")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not (DATA / "photos").is_dir():
        print(
            f"development data not found: {DATA}\nThis benchmark needs ../shared/data (see"
            " its README); nothing was measured."
        )
        return 0
    photos = read_true_faces()
    listed = {str(p.relative_to(DATA)) for p in development_photos()}
    counted = {p.path for p in photos}
    if listed != counted:
        print(f"warning: photos not counted by eye: {sorted(listed - counted)}", file=sys.stderr)
        photos = [p for p in photos if p.path in listed]
    lfw_paths = lfw_photos(options.lfw)
    no_face = no_face_pictures(photos)
    configurations = finders()
    decode_ms, dev = development(configurations, photos, options.repeat, options.show)
    lfw_rows = lfw(configurations, lfw_paths)
    no_face_rows = false_on_no_face(configurations, no_face)
    report = {
        "load": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "decode_ms": decode_ms,
        "configurations": {
            name: {"development": dev[name], "lfw": lfw_rows[name], "no_face": no_face_rows[name]}
            for name in configurations
        },
    }
    if options.json:
        print(json.dumps(report))
        return 0
    print_report(report, options.lfw)
    return 0


def print_report(report: dict, split: str) -> None:
    rows = report["configurations"]
    first = next(iter(rows.values()))
    dev, lfw_row, blank = first["development"], first["lfw"], first["no_face"]
    print(
        f"development photos: {dev['photos']}, {dev['true']} real faces counted by eye"
        f" ({TRUE_FACES.name}); decoded at {SELFIE_WIDTH} px in {report['decode_ms']} ms on"
        f" average\nLFW {split}: {lfw_row['photos']} photos (each file once)\n"
        f"pictures without faces: {blank['pictures']}\n"
        f"load average while measuring: {report['load']} (on {os.cpu_count()} cores)\n"
    )
    header = (
        f"{'configuration':15s} | {'boxes':>5s} {'real':>4s} {'false':>5s} {'missed':>6s}"
        f" {'ms':>5s} {'max':>4s} {'cpu':>5s} | {'missed':>6s} {'dropped':>7s} {'2nd runs':>8s}"
        f" {'2nd found':>9s} {'ms':>5s} {'ms 2nd':>6s} | {'false':>5s} {'ms':>5s} {'cpu':>5s}"
    )
    print(f"{'':15s} | {'development photos':42s} | {'LFW, face in the middle':50s} | no face")
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        d, f, n = row["development"], row["lfw"], row["no_face"]
        ms_second = f"{f['ms_second_pass_photos']:.0f}" if f["ms_second_pass_photos"] else "-"
        print(
            f"{name:15s} | {d['boxes']:5d} {d['real']:4d} {d['false']:5d} {d['missed']:6d}"
            f" {d['detect_ms']:5.1f} {d['detect_ms_max']:4.0f} {d['detect_cpu_ms']:5.1f} |"
            f" {f['centre_face_missed']:6d} {f['centre_face_dropped']:7d}"
            f" {f['second_pass_runs']:8d} {f['second_pass_found_centre_face']:9d}"
            f" {f['ms_per_photo']:5.1f} {ms_second:>6s} | {n['false_faces']:5d}"
            f" {n['ms_per_picture']:5.1f} {n['cpu_ms_per_picture']:5.1f}"
        )
    print(
        "\nboxes: shown on the development photos; real: on a face counted by eye; missed:"
        " counted faces without a box;\nms, max: detection time per photo (mean, slowest),"
        " the median of each photo's runs; add the decode time for the selfie path; cpu:"
        " CPU time per photo (mean), less sensitive to a busy machine.\n"
        "LFW missed: photos where no box covers the middle; dropped: of those, where"
        " verification rejected a box that did;\n2nd runs: photos where the first pass kept"
        " nothing; 2nd found: of those, the face in the middle found; ms: detection time per"
        " photo, ms 2nd: per photo where the second pass ran.\nno face, false: boxes on the"
        " pictures without faces; ms, cpu: detection time per picture (the second pass runs"
        " in full there)."
    )
    for name, row in rows.items():
        details = (
            row["development"]["details"]
            + [f"LFW missed: {w}" for w in row["lfw"]["missed_photos"]]
            + [f"LFW dropped: {w}" for w in row["lfw"]["dropped_photos"]]
            + [f"no-face picture: {w}" for w in row["no_face"]["where"]]
        )
        if details:
            print(f"\n{name}:")
            for line in details:
                print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
