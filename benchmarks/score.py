"""How fast is the selfie scoring path, in-process and under gunicorn, in one run?

    .venv/bin/python benchmarks/score.py [--repeat 60] [--requests 300] [--clients 4] [--rounds 3]
        [--dlib-runtime] [--database-url postgresql://USER:PASSWORD@HOST:PORT/EMPTY_DB] [--json]

Builds real models first (faces extracted from ../shared/data/movie/dev_movie.mp4, labelled
from its truth table, trained with the default preset): one with eigenfaces and, when dlib
and its model files are installed, one with face embeddings. Then it measures, side by
side, these set-ups, each scoring with its own copy of the store (its version active):

- ``eigenfaces`` (its faces found by the dense look first, as the app finds them for
  eigenfaces models);
- ``embeddings, previous detection``: face embeddings with the selfie path's previous face
  finding (``benchmarks/previous_detection.py``: the cascade on a 400 px copy, a pyramid
  level per 10%), as before the cheap first look;
- ``embeddings, onnxruntime``: face embeddings as the app runs them;
- with ``--dlib-runtime``, also ``embeddings, dlib``: the ResNet on dlib's own runtime.

For each set-up:
- in-process, through the Flask app (POST /api/score): p50/p95 for a 1280x720 JPEG and a
  12 MP (4000x3000) JPEG made from ../shared/data/photos/lin-manuel-miranda.png, and the
  naive path for comparison (full decode, Haar at 640 px wide, same model); the set-ups
  take turns call by call, so that a busy machine slows them alike; for face embeddings as
  the app runs them, also with the faces described after the verifier's check instead of
  beside it (``webapp.operations.selfies.FeaturesAhead``);
- where the time goes: the p50 of each step of the path called on its own (decode; the
  cascade alone, then the whole face finding, its boxes verified; the face's features:
  dlib's 5-point alignment and the ResNet for embeddings, then the SVM); what the request
  takes beyond them is the web's (form parsing, the store, the JSON);
- gunicorn with 2 workers on 127.0.0.1: a bounded load (a fixed number of requests of the
  720p JPEG from a few concurrent clients, the set-ups' servers taking turns in rounds):
  requests/s, p50/p95, errors. Workers find faces the previous way through
  ``benchmarks/previous_detection.py``, and run the ResNet on dlib's runtime through
  ``benchmarks/dlib_runtime_app.py`` (the app itself has no such settings).

On the development photos (``benchmarks/true_faces.tsv``), it also compares the faces the
previous finding and the app's show (real, false, missed), and how much each face's percent
moves between the two with each trained model.

With ``--database-url`` (an empty PostgreSQL database, filled here and left for you to drop),
the gunicorn load also runs face embeddings on onnxruntime with the store on SQLite and on
that PostgreSQL server, in turns, both with the rate limit on (a write on every request, at
a limit no client reaches): requests/s side by side, target PostgreSQL within 10% of SQLite.

Also counts the faces found by the naive path and by our cascade on every development photo
(none may be lost), and prints the targets of face embeddings on onnxruntime: in-process p50 of
at most 20 ms (720p) and 40 ms (12 MP), at least 60 requests/s under gunicorn, no errors.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import build_movie_store  # noqa: E402
from faces import read_true_faces  # noqa: E402
from faces import score_photo as count_faces  # noqa: E402
from previous_detection import previous_finder, use_previous_finder  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.learn.features import embeddings  # noqa: E402
from webapp.learn.look_alike import face_for_model, score_face, score_faces  # noqa: E402
from webapp.learn.versions import ModelVersion, load_version  # noqa: E402
from webapp.operations.selfies import (  # noqa: E402
    SELFIE_DETECTOR,
    SELFIE_WIDTH,
    FeaturesAhead,
    first_look,
    selfie_finders,
)
from webapp.operations.training import train_from_store  # noqa: E402
from webapp.settings import DATABASE_FILE  # noqa: E402
from webapp.store import models as model_store  # noqa: E402
from webapp.store.copy import copy_store  # noqa: E402
from webapp.store.db import Connection, describe, open_store  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import Box, FaceDetector, cut  # noqa: E402
from webapp.vision.images import ImageLimits, decode_upload  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SELFIE = DATA / "photos" / "lin-manuel-miranda.png"
TARGETS = {"720p_p50_ms": 20.0, "12MP_p50_ms": 40.0, "requests_per_s": 60.0}
# The set-up the targets are for: face embeddings as the app runs them.
MEASURED = "embeddings, onnxruntime"
PREVIOUS = "embeddings, previous detection"
IN_LINE = "embeddings, features in line"


@dataclass
class Setup:
    """One way of scoring: a model version active in its own instance, and the runtime of
    the face ResNet (None: the version needs none)."""

    name: str
    version: ModelVersion
    instance: Path
    runtime: str | None = None
    app: Any = None
    # The store for gunicorn: None for the instance's SQLite file, else a PostgreSQL URL;
    # with one, or with ``rate_limited``, the rate limit is on (a write per request).
    database_url: str | None = None
    rate_limited: bool = False
    # How faces are found: "app" (the app's selfie finder for the version) or "previous".
    finder: str = "app"

    @property
    def finder_kind(self) -> str:
        """Which look finds its faces first: "cheap" or "dense" (the previous one)."""
        return "dense" if self.finder == "previous" else first_look(self.version.extractor)

    def use(self) -> None:
        if self.runtime:
            embeddings.use_runtime(self.runtime)

    @property
    def wsgi_app(self) -> str:
        # The product's entry point (gunicorn.conf.py's), or one choosing dlib's runtime or
        # the previous face finding.
        if self.runtime == "dlib":
            return "dlib_runtime_app:create_app()"
        if self.finder == "previous":
            return "previous_detection:create_app()"
        return "webapp:create_app()"


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


def photo_jpeg(width: int, height: int) -> bytes:
    """The development selfie, scaled to fill most of a width x height frame, as JPEG."""
    face = Image.open(SELFIE).convert("RGB")
    scale = min(width / face.width, height / face.height) * 0.9
    face = face.resize((round(face.width * scale), round(face.height * scale)), Image.LANCZOS)
    canvas = Image.new("RGB", (width, height), (120, 130, 140))
    canvas.paste(face, ((width - face.width) // 2, (height - face.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def naive_boxes(data: bytes, cascade: cv2.CascadeClassifier) -> tuple[np.ndarray, list[Box]]:
    """The naive path: decode everything, shrink to 640 wide, Haar with the usual settings."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    scale = min(1.0, SELFIE_WIDTH / image.shape[1])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(grey, 1.1, 5, minSize=(24, 24))
    return small, sorted((Box(*map(int, b)) for b in found), key=lambda b: -b.area)


def interleaved(
    calls: dict[str, Callable[[], object]], repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds (every thread of this process) of each call, ``repeat`` times,
    the calls taking turns (after one warm-up call each: caches, lazy imports, the models'
    first load)."""
    for call in calls.values():
        call()
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            cpu[name].append(time.process_time() - cpu_started)
            wall[name].append(time.perf_counter() - started)
    return wall, cpu


def api_call(setup: Setup, data: bytes) -> Callable[[], None]:
    """POST /api/score of ``data`` to the set-up's app, in-process."""
    client = setup.app.test_client()

    def api() -> None:
        setup.use()
        response = client.post(
            "/api/score",
            data={"photo": (io.BytesIO(data), "me.jpg")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 200, response.get_json()

    return api


def in_process(setups: list[Setup], photos: dict[str, bytes], repeat: int) -> dict:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    results: dict[str, dict] = {setup.name: {} for setup in setups}
    for photo, data in photos.items():
        calls: dict[str, Callable[[], object]] = {}
        for setup in setups:

            def naive(setup: Setup = setup, data: bytes = data) -> None:
                setup.use()
                small, boxes = naive_boxes(data, cascade)
                assert boxes, "the naive path found no face"
                score_face(setup.version, small, boxes[0])

            calls[setup.name], calls[f"naive {setup.name}"] = api_call(setup, data), naive
            if setup.name == MEASURED:
                calls[IN_LINE] = features_in_line(api_call(setup, data))
        times, _ = interleaved(calls, repeat)
        for setup in setups:
            ours, plain = times[setup.name], times[f"naive {setup.name}"]
            results[setup.name][photo] = {
                "p50_ms": percentile(ours, 50),
                "p95_ms": percentile(ours, 95),
                "naive_p50_ms": percentile(plain, 50),
                "naive_p95_ms": percentile(plain, 95),
            }
            if setup.name == MEASURED:
                results[setup.name][photo]["in_line_p50_ms"] = percentile(times[IN_LINE], 50)
                results[setup.name][photo]["in_line_p95_ms"] = percentile(times[IN_LINE], 95)
    return results


def features_in_line(call: Callable[[], None]) -> Callable[[], None]:
    """``call`` with the faces described after the verifier's check, not beside it (as
    before ``webapp.operations.selfies.FeaturesAhead``)."""

    def in_line() -> None:
        start = FeaturesAhead.start
        FeaturesAhead.start = lambda self, boxes: None  # never started: computed in line
        try:
            call()
        finally:
            FeaturesAhead.start = start

    return in_line


STEPS = ("request", "decode", "detect", "find faces", "features + SVM", "align", "ResNet", "SVM")


def breakdown(setups: list[Setup], photos: dict[str, bytes], repeat: int) -> dict:
    """CPU and wall p50 milliseconds of each step of the selfie path called on its own,
    and of the whole request, the calls taking turns. ``detect`` is the cascade alone,
    ``find faces`` the cascade with its boxes verified (and a second pass if needed)."""
    app = selfie_finders()
    finders = {"cheap": app.cheap, "dense": app.dense}
    limits = ImageLimits()
    results: dict[str, dict] = {setup.name: {} for setup in setups}
    for photo, data in photos.items():
        image = decode_upload(data, limits, max_width=SELFIE_WIDTH)
        found = {kind: finder.find(image.bgr) for kind, finder in finders.items()}
        calls: dict[str, Callable[[], object]] = {
            "decode": lambda data=data: decode_upload(data, limits, max_width=SELFIE_WIDTH),
        }
        for kind, finder in finders.items():
            calls[f"detect [{kind}]"] = lambda f=finder, image=image: f.detector.detect(image.bgr)
            calls[f"find faces [{kind}]"] = lambda f=finder, image=image: f.find(image.bgr)
        for setup in setups:
            version = setup.version
            calls[f"{setup.name}: request"] = api_call(setup, data)
            boxes = found[setup.finder_kind]
            calls[f"{setup.name}: features + SVM"] = lambda setup=setup, image=image, boxes=boxes: (
                setup.use(),
                score_faces(setup.version, image.bgr, boxes),
            )
            if version.extractor != embeddings.NAME:
                continue
            face = face_for_model(version, image.bgr, boxes[0])
            chip = embeddings.face_chip(face)
            vector = embeddings.describe_faces([face])
            svm = version.pipeline[1:]
            calls[f"{setup.name}: align"] = lambda face=face: embeddings.face_chip(face)
            calls[f"{setup.name}: ResNet"] = lambda setup=setup, chip=chip: (
                setup.use(),
                embeddings.load_models()[1]([chip]),
            )
            calls[f"{setup.name}: SVM"] = lambda svm=svm, vector=vector: svm.predict_proba(vector)
        wall, cpu = interleaved(calls, repeat)
        for setup in setups:
            steps = {}
            for step in STEPS:
                name = {
                    "decode": step,
                    "detect": f"{step} [{setup.finder_kind}]",
                    "find faces": f"{step} [{setup.finder_kind}]",
                }.get(step, f"{setup.name}: {step}")
                if name in wall:
                    steps[step] = {
                        "cpu_ms": percentile(cpu[name], 50),
                        "wall_ms": percentile(wall[name], 50),
                    }
            results[setup.name][photo] = steps
    return results


def faces_lost(out: Path) -> dict:
    """Faces the naive path finds on the development photos that ours does not.

    A face counts as found when one of our boxes holds its centre at about its size. The
    ones we miss are saved side by side in ``out`` for a person to look at: Haar's extra
    finds at one scale are mostly false detections (a jacket, a logo).
    """
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    detector = FaceDetector(SELFIE_DETECTOR)
    photos = sorted(p for p in (DATA / "photos").rglob("*") if p.suffix in {".jpg", ".png"})
    naive_total = ours_total = 0
    lost: list[np.ndarray] = []
    for path in photos:
        data = path.read_bytes()
        small, reference = naive_boxes(data, cascade)
        found = detector.detect(decode_upload(data, max_width=SELFIE_WIDTH).bgr)
        naive_total, ours_total = naive_total + len(reference), ours_total + len(found)
        for face in reference:
            if not any(_same_face(face, box) for box in found):
                lost.append(cv2.resize(cut(small, face), (160, 160)))
    if lost:
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), np.hstack(lost))
    return {
        "photos": len(photos),
        "naive_faces": naive_total,
        "our_faces": ours_total,
        "naive_faces_we_miss": len(lost),
        "missed_faces_picture": str(out) if lost else None,
    }


def faces_and_scores(setups: list[Setup]) -> dict:
    """The faces the previous finding and the app's show on the development photos (real,
    false, missed: ``benchmarks/true_faces.tsv``), how far the boxes of the faces both
    find moved, and how much each face's percent moved with each trained model; the
    photo's headline percent (its largest face) too. Only models whose extractor aligns
    faces: the app finds eigenfaces models' faces the previous way."""
    finders = {"previous": previous_finder(), "app": selfie_finders().cheap}
    versions = {
        setup.version.directory: setup.version
        for setup in setups
        if first_look(setup.version.extractor) == "cheap"
    }
    photos = read_true_faces()
    counts = {kind: {"real": 0, "false": 0, "missed": 0} for kind in finders}
    shifts: list[float] = []
    moved: dict[str, list[tuple[float, str]]] = {v.extractor: [] for v in versions.values()}
    headline: dict[str, list[tuple[float, str]]] = {v.extractor: [] for v in versions.values()}
    unmatched = []
    for photo in photos:
        image = decode_upload((DATA / photo.path).read_bytes(), max_width=SELFIE_WIDTH).bgr
        height, width = image.shape[:2]
        found = {kind: finder.find(image) for kind, finder in finders.items()}
        for kind, boxes in found.items():
            result = count_faces(photo, boxes, width, height)
            for key in counts[kind]:
                counts[kind][key] += len(result[key])
        before, now = found["previous"], found["app"]
        pairs = []
        for i, box in enumerate(before):
            same = [j for j, other in enumerate(now) if _same_face(box, other)]
            if not same:
                unmatched.append(f"previous only: {photo.path} {box.as_tuple()}")
                continue
            j = min(same, key=lambda j: _box_change(box, now[j]))
            pairs.append((i, j))
            shifts.append(_box_change(box, now[j]))
        paired = {j for _, j in pairs}
        unmatched += [f"app only: {photo.path} {b.as_tuple()}" for j, b in enumerate(now)
                      if j not in paired]  # fmt: skip
        for version in versions.values():
            was, is_now = score_faces(version, image, before), score_faces(version, image, now)
            for i, j in pairs:
                where = (
                    f"{photo.path} face {i + 1}: {was[i].percent:.1f}% -> {is_now[j].percent:.1f}%"
                )
                moved[version.extractor].append((is_now[j].percent - was[i].percent, where))
            if was and is_now:
                where = f"{photo.path}: {was[0].percent:.1f}% -> {is_now[0].percent:.1f}%"
                headline[version.extractor].append((is_now[0].percent - was[0].percent, where))

    def summary(changes: list[tuple[float, str]]) -> dict:
        largest = max(changes, key=lambda item: abs(item[0]))
        sizes = [abs(change) for change, _ in changes]
        return {
            "faces": len(changes),
            "max_points": round(largest[0], 2),
            "max_where": largest[1],
            "median_points": round(float(np.median(sizes)), 3),
            "over_1_point": sum(size > 1 for size in sizes),
        }

    return {
        "photos": len(photos),
        "true_faces": sum(len(photo.faces) for photo in photos),
        "found": counts,
        "box_change_percent": {
            "median": round(100 * float(np.median(shifts)), 1),
            "max": round(100 * max(shifts), 1),
        },
        "unmatched": unmatched,
        "percent_change": {name: summary(changes) for name, changes in moved.items()},
        "headline_change": {name: summary(changes) for name, changes in headline.items()},
    }


def _box_change(a: Box, b: Box) -> float:
    """How far ``b`` is from ``a``: its largest coordinate difference over ``a``'s width."""
    return max(abs(a.x - b.x), abs(a.y - b.y), abs(a.w - b.w), abs(a.h - b.h)) / a.w


def _same_face(a: Box, b: Box) -> bool:
    centre_x, centre_y = a.x + a.w / 2, a.y + a.h / 2
    inside = b.x <= centre_x <= b.x + b.w and b.y <= centre_y <= b.y + b.h
    return inside and 0.5 < b.w / a.w < 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with 2 workers serving one set-up on a free port."""

    def __init__(self, setup: Setup, models: Path, data: bytes, clients: int) -> None:
        self.port, self.clients = free_port(), clients
        env = {
            **os.environ,
            "LOOKALIKE_INSTANCE": str(setup.instance),
            "LOOKALIKE_MODELS": str(models),
            "LOOKALIKE_BIND": f"127.0.0.1:{self.port}",
            "LOOKALIKE_WORKERS": "2",
            # Off, or on at a limit the clients never reach: the write is what is measured.
            "LOOKALIKE_SCORE_RATE_LIMIT": "1000000000" if setup.rate_limited else "0",
        }
        if setup.database_url:
            env["LOOKALIKE_DATABASE_URL"] = setup.database_url
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
                "--pythonpath",
                f"{ROOT},{ROOT / 'benchmarks'}",
                setup.wsgi_app,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        boundary = uuid.uuid4().hex
        self.body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="photo";'
                ' filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        self.headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def post(self) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", "/api/score", body=self.body, headers=self.headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def warm_up(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                self.post()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Concurrent requests reach both workers (each loads the model with its first
        # photo) before the clock starts.
        for _ in range(3):
            together(self.clients, self.post)

    def load(self, requests: int) -> tuple[list[float], int, float]:
        """``requests`` requests from the clients: latencies, errors, elapsed seconds."""
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        remaining = [requests]

        def client() -> None:
            nonlocal errors
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                try:
                    ok = self.post() == 200
                except OSError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - started)
                    errors += not ok

        started = time.perf_counter()
        together(self.clients, client)
        return latencies, errors, time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def together(count: int, call: Callable[[], object]) -> None:
    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def gunicorn_loads(
    setups: list[Setup], models: Path, data: bytes, requests: int, clients: int, rounds: int
) -> dict:
    """Every set-up served at once (idle servers cost nothing), loaded in turns: ``rounds``
    rounds of ``requests / rounds`` requests each, so that a busy machine slows them alike."""
    servers = {setup.name: Server(setup, models, data, clients) for setup in setups}
    try:
        for server in servers.values():
            server.warm_up()
        runs: dict[str, list[tuple[list[float], int, float]]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, server in servers.items():
                runs[name].append(server.load(requests // rounds))
    finally:
        for server in servers.values():
            server.stop()
    results = {}
    for name, parts in runs.items():
        latencies = [t for part in parts for t in part[0]]
        results[name] = {
            "requests": len(latencies),
            "clients": clients,
            "workers": 2,
            "rounds": rounds,
            "requests_per_s": round(len(latencies) / sum(part[2] for part in parts), 1),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "errors": sum(part[1] for part in parts),
        }
    return results


def instance_with_active(store: Connection, folder: Path, version_id: int) -> Path:
    """A copy of the store in its own instance folder, ``version_id`` active in it."""
    folder.mkdir(parents=True)
    copy = open_store(folder / DATABASE_FILE)
    try:
        copy_store(store, copy)
        model_store.activate_model_version(copy, version_id)
    finally:
        copy.close()
    return folder


def build_setups(work: Path, dlib_runtime: bool = False) -> tuple[list[Setup], dict]:
    """Models trained on the movie's crops, and the set-ups that score with them."""
    conn, crops, counts = build_movie_store(work, every=10)
    setups, trained = [], {}
    extractors = ["eigenfaces"]
    problem = embeddings.model_problem()
    if problem:
        print(f"face embeddings left out: {problem}", file=sys.stderr)
    else:
        extractors.append(embeddings.NAME)
    for extractor in extractors:
        result = train_from_store(conn, crops, work / "models", extractor=extractor)
        version = load_version(work / "models", result.directory)
        instance = instance_with_active(conn, work / extractor, result.version_id)
        trained[extractor] = {
            "directory": result.directory,
            "seconds": result.report["seconds"],
            "crops": result.report["data_counts"],
        }
        if extractor == "eigenfaces":
            setups.append(Setup("eigenfaces", version, instance))
        else:
            if dlib_runtime:
                setups.append(Setup("embeddings, dlib", version, instance, "dlib"))
            setups.append(Setup(PREVIOUS, version, instance, "onnxruntime", finder="previous"))
            setups.append(Setup(MEASURED, version, instance, "onnxruntime"))
    conn.close()
    for setup in setups:
        setup.app = create_app(
            {"INSTANCE": str(setup.instance), "MODELS_DIR": str(work / "models"),
             "SCORE_RATE_LIMIT": 0}
        )  # fmt: skip
        if setup.finder == "previous":
            use_previous_finder(setup.app)
    return setups, {"movie": counts, "models": trained}


def store_setups(setups: list[Setup], url: str) -> list[Setup]:
    """The measured set-up twice more, rate limit on: its SQLite store, and a copy of that
    store on the PostgreSQL server at ``url`` (which must be empty)."""
    ours = next(setup for setup in setups if setup.name == MEASURED)
    source, target = open_store(ours.instance / DATABASE_FILE), open_store(url)
    try:
        copy_store(source, target)
    finally:
        source.close()
        target.close()
    print(f"store copied to {describe(url)}", file=sys.stderr)
    return [
        Setup(f"{MEASURED}, SQLite", ours.version, ours.instance, ours.runtime, None, None, True),
        Setup(
            f"{MEASURED}, PostgreSQL", ours.version, ours.instance, ours.runtime, None, url, True
        ),
    ]


def store_comparison(report: dict) -> dict | None:
    """PostgreSQL's requests/s beside SQLite's, both with the rate limit writing."""
    loads = report["gunicorn_720p"]
    sqlite, postgresql = loads.get(f"{MEASURED}, SQLite"), loads.get(f"{MEASURED}, PostgreSQL")
    if not sqlite or not postgresql:
        return None
    ratio = postgresql["requests_per_s"] / sqlite["requests_per_s"]
    return {
        "sqlite_requests_per_s": sqlite["requests_per_s"],
        "postgresql_requests_per_s": postgresql["requests_per_s"],
        "ratio": round(ratio, 3),
        "target": ">= 0.9",
        "met": ratio >= 0.9,
    }


def targets(report: dict) -> list[dict]:
    """The targets of face embeddings on onnxruntime, with the figures measured."""
    if MEASURED not in report["in_process"]:
        return []
    ours, load = report["in_process"][MEASURED], report["gunicorn_720p"][MEASURED]
    rows = [
        ("in-process 720p p50", ours["720p"]["p50_ms"], "<=", TARGETS["720p_p50_ms"], "ms"),
        ("in-process 12MP p50", ours["12MP"]["p50_ms"], "<=", TARGETS["12MP_p50_ms"], "ms"),
        ("gunicorn requests/s", load["requests_per_s"], ">=", TARGETS["requests_per_s"], ""),
        ("gunicorn errors", load["errors"], "<=", 0, ""),
    ]
    return [
        {
            "what": what,
            "measured": value,
            "target": f"{sign} {goal:g}{' ' + unit if unit else ''}",
            "met": value <= goal if sign == "<=" else value >= goal,
        }
        for what, value, sign, goal, unit in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60, help="in-process calls per photo")
    parser.add_argument("--requests", type=int, default=300, help="requests under gunicorn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="turns the gunicorn set-ups take")
    parser.add_argument(
        "--dlib-runtime", action="store_true", help="also face embeddings on dlib's runtime"
    )
    parser.add_argument(
        "--database-url",
        help="an empty PostgreSQL database: also serve from it, beside SQLite (rate limit on)",
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not SELFIE.is_file():
        print(
            f"development data not found: {DATA}\nThis benchmark needs ../shared/data"
            " (see its README).",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        setups, trained = build_setups(work, options.dlib_runtime)
        served = list(setups)
        if options.database_url:
            if not any(setup.name == MEASURED for setup in setups):
                print("--database-url needs face embeddings (dlib) installed", file=sys.stderr)
                return 2
            served += store_setups(setups, options.database_url)
        photos = {"720p": photo_jpeg(1280, 720), "12MP": photo_jpeg(4000, 3000)}
        report: dict[str, Any] = {
            **trained,
            "in_process": in_process(setups, photos, options.repeat),
            "breakdown": breakdown(setups, photos, options.repeat),
            "faces": faces_lost(ROOT / "benchmarks" / "out" / "naive_faces_we_miss.png"),
            "previous_detection": faces_and_scores(setups),
            "gunicorn_720p": gunicorn_loads(
                served,
                work / "models",
                photos["720p"],
                options.requests,
                options.clients,
                options.rounds,
            ),
        }
        report["targets"] = targets(report)
        report["store"] = store_comparison(report)
    report["cores"], report["load_average"] = os.cpu_count(), [round(x, 1) for x in os.getloadavg()]
    if options.json:
        print(json.dumps(report))
        return 0
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    for extractor, model in report["models"].items():
        print(f"model {model['directory']} ({extractor}), trained on {model['crops']}")
    print("in-process POST /api/score, ms: p50 / p95 (naive path: p50 / p95)")
    for name, rows in report["in_process"].items():
        cells = [
            f"{photo} {row['p50_ms']:6.1f} / {row['p95_ms']:6.1f}"
            f" ({row['naive_p50_ms']:6.1f} / {row['naive_p95_ms']:6.1f})"
            for photo, row in rows.items()
        ]
        print(f"  {name:<30} " + "   ".join(cells))
        if name == MEASURED:
            cells = [
                f"{photo} {row['in_line_p50_ms']:6.1f} / {row['in_line_p95_ms']:6.1f}"
                for photo, row in rows.items()
            ]
            print(f"  {IN_LINE:<30} " + "   ".join(cells) + " (described after the check)")
    print(
        "where the time goes: p50 CPU ms of each step called on its own (wall ms); detect:"
        " the cascade alone, find faces: with its boxes verified; web is the request's CPU"
        " beyond the steps (form, store, JSON)"
    )
    for name, rows in report["breakdown"].items():
        for photo, steps in rows.items():
            listed = ", ".join(
                f"{step} {ms['cpu_ms']:.1f} ({ms['wall_ms']:.1f})" for step, ms in steps.items()
            )
            parts = ("decode", "find faces", "features + SVM")
            web = steps["request"]["cpu_ms"] - sum(steps[part]["cpu_ms"] for part in parts)
            print(f"  {name:<30} {photo:<5} {listed}; web {web:.1f}")
        cpu_ms = rows["720p"]["request"]["cpu_ms"]
        print(
            f"  {name:<30} a 720p request takes {cpu_ms:.1f} CPU ms: {report['cores']} cores"
            f" could serve at most {1000 * report['cores'] / cpu_ms:.0f} requests/s"
        )
    faces = report["faces"]
    print(
        f"faces on {faces['photos']} photos: naive {faces['naive_faces']}, ours"
        f" {faces['our_faces']}; naive finds we miss: {faces['naive_faces_we_miss']}"
        f" (look at them: {faces['missed_faces_picture']})"
    )
    print_previous_detection(report["previous_detection"])
    for name, load in report["gunicorn_720p"].items():
        print(
            f"gunicorn, {name}: 2 workers, {load['clients']} clients, {load['requests']}"
            f" requests of a 720p JPEG in {load['rounds']} turns: {load['requests_per_s']}/s,"
            f" p50 {load['p50_ms']:.1f} ms, p95 {load['p95_ms']:.1f} ms, errors {load['errors']}"
        )
    if report["store"]:
        store = report["store"]
        verdict = "met" if store["met"] else "NOT met"
        print(
            f"store, {MEASURED}, rate limit on: SQLite {store['sqlite_requests_per_s']}/s,"
            f" PostgreSQL {store['postgresql_requests_per_s']}/s, ratio {store['ratio']}"
            f" (target {store['target']}): {verdict}"
        )
    for row in report["targets"]:
        verdict = "met" if row["met"] else "NOT met"
        print(f"target, {MEASURED}: {row['what']} {row['measured']} ({row['target']}): {verdict}")
    load = ", ".join(str(x) for x in report["load_average"])
    print(f"machine: {report['cores']} cores, load average {load} at the end")


def print_previous_detection(compared: dict) -> None:
    found = compared["found"]
    print(
        f"previous detection and the app's on {compared['photos']} development photos"
        f" ({compared['true_faces']} real faces): real / false / missed"
        f" {found['previous']['real']} / {found['previous']['false']} /"
        f" {found['previous']['missed']} before, {found['app']['real']} /"
        f" {found['app']['false']} / {found['app']['missed']} now; boxes moved by"
        f" {compared['box_change_percent']['median']}% of their width (median),"
        f" {compared['box_change_percent']['max']}% at most"
    )
    for line in compared["unmatched"]:
        print(f"  {line}")
    for kind, title in (("percent_change", "each face"), ("headline_change", "the photo's")):
        for extractor, moved in compared[kind].items():
            print(
                f"  {title} percent, {extractor}: {moved['faces']} faces, moved by"
                f" {moved['median_points']} points (median), {moved['max_points']:+.2f} at most"
                f" ({moved['max_where']}), {moved['over_1_point']} by more than 1 point"
            )


if __name__ == "__main__":
    sys.exit(main())
