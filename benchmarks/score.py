"""How fast is the selfie scoring path, in-process and under gunicorn, in one run?

    .venv/bin/python benchmarks/score.py [--extractor NAME] [--requests 300] [--clients 4]
        [--json]

Builds a real model first (faces extracted from ../shared/data/movie/dev_movie.mp4,
labelled from its truth table, trained with the default preset and ``--extractor``: by
default what a new install trains with, the best available), then measures:
- in-process, through the Flask app (POST /api/score): p50/p95 for a 1280x720 JPEG and a
  12 MP (4000x3000) JPEG made from ../shared/data/photos/lin-manuel-miranda.png;
- the naive path for comparison (full decode, Haar at 640 px wide, same model);
- faces found by the naive path and by ours on every development photo (none may be lost);
- gunicorn with 2 workers on 127.0.0.1: a bounded load (a fixed number of requests from a
  few concurrent clients): requests/s, p50/p95, errors.
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
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import build_movie_store  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.learn.features import EXTRACTORS, default_extractor  # noqa: E402
from webapp.learn.look_alike import score_face  # noqa: E402
from webapp.learn.versions import load_version  # noqa: E402
from webapp.operations.selfies import SELFIE_DETECTOR, SELFIE_WIDTH  # noqa: E402
from webapp.operations.training import train_from_store  # noqa: E402
from webapp.vision import cv2  # noqa: E402
from webapp.vision.faces import Box, FaceDetector, cut  # noqa: E402
from webapp.vision.images import decode_upload  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SELFIE = DATA / "photos" / "lin-manuel-miranda.png"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


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


def time_calls(call, repeat: int) -> list[float]:
    call()  # warm up: caches, lazy imports
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def in_process(app, photos: dict[str, bytes], version, repeat: int) -> dict:
    client = app.test_client()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    results = {}
    for name, data in photos.items():

        def api(data: bytes = data) -> None:
            response = client.post(
                "/api/score",
                data={"photo": (io.BytesIO(data), "me.jpg")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 200, response.get_json()

        def naive(data: bytes = data) -> None:
            small, boxes = naive_boxes(data, cascade)
            assert boxes, "the naive path found no face"
            score_face(version, small, boxes[0])

        ours, plain = time_calls(api, repeat), time_calls(naive, repeat)
        results[name] = {
            "p50_ms": round(percentile(ours, 50), 1),
            "p95_ms": round(percentile(ours, 95), 1),
            "naive_p50_ms": round(percentile(plain, 50), 1),
            "naive_p95_ms": round(percentile(plain, 95), 1),
        }
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


def _same_face(a: Box, b: Box) -> bool:
    centre_x, centre_y = a.x + a.w / 2, a.y + a.h / 2
    inside = b.x <= centre_x <= b.x + b.w and b.y <= centre_y <= b.y + b.h
    return inside and 0.5 < b.w / a.w < 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_load(instance: Path, models: Path, data: bytes, requests: int, clients: int) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "LOOKALIKE_INSTANCE": str(instance),
        "LOOKALIKE_MODELS": str(models),
        "LOOKALIKE_BIND": f"127.0.0.1:{port}",
        "LOOKALIKE_WORKERS": "2",
        "LOOKALIKE_SCORE_RATE_LIMIT": "0",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="me.jpg"'
            "\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def post() -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/api/score", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                post()  # also warms both workers' model caches
                post()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
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
                    ok = post() == 200
                except OSError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - started)
                    errors += not ok

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "requests": requests,
        "clients": clients,
        "workers": 2,
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60, help="in-process calls per photo")
    parser.add_argument("--requests", type=int, default=300, help="requests under gunicorn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--extractor", choices=sorted(EXTRACTORS), default=None, help="default: the best available"
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
        conn, crops, _ = build_movie_store(work, every=10)
        extractor = options.extractor or default_extractor()
        result = train_from_store(conn, crops, work / "models", extractor=extractor)
        version = load_version(work / "models", result.directory)
        instance = work  # build_movie_store lays the store and crops out as an instance
        app = create_app(
            {"INSTANCE": str(instance), "MODELS_DIR": str(work / "models"), "SCORE_RATE_LIMIT": 0}
        )
        photos = {"720p": photo_jpeg(1280, 720), "12MP": photo_jpeg(4000, 3000)}
        report = {
            "model": {
                "directory": result.directory,
                "extractor": extractor,
                "crops": result.report["data_counts"],
            },
            "in_process": in_process(app, photos, version, options.repeat),
            "faces": faces_lost(ROOT / "benchmarks" / "out" / "naive_faces_we_miss.png"),
            "gunicorn_720p": gunicorn_load(
                instance, work / "models", photos["720p"], options.requests, options.clients
            ),
        }
    if options.json:
        print(json.dumps(report))
        return 0
    print(f"model {result.directory} ({extractor}), trained on {report['model']['crops']}")
    for name, row in report["in_process"].items():
        print(
            f"in-process {name:5s}: p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms"
            f"   (naive: p50 {row['naive_p50_ms']:6.1f} ms  p95 {row['naive_p95_ms']:6.1f} ms)"
        )
    faces = report["faces"]
    print(
        f"faces on {faces['photos']} photos: naive {faces['naive_faces']}, ours"
        f" {faces['our_faces']}; naive finds we miss: {faces['naive_faces_we_miss']}"
        f" (look at them: {faces['missed_faces_picture']})"
    )
    load = report["gunicorn_720p"]
    print(
        f"gunicorn, 2 workers, {load['clients']} clients, {load['requests']} requests of a 720p"
        f" JPEG: {load['requests_per_s']} requests/s, p50 {load['p50_ms']} ms,"
        f" p95 {load['p95_ms']} ms, errors {load['errors']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
