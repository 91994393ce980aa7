"""Does the public API hold a long load? 10,000 requests from 6 clients on 2 gunicorn workers.

    .venv/bin/python benchmarks/load.py [--requests 10000] [--clients 6] [--json]

Builds a real model (faces from ../shared/data/movie/dev_movie.mp4 labelled from its truth
table, as benchmarks/score.py does), starts gunicorn with the repository's
gunicorn.conf.py (2 workers) on 127.0.0.1, and sends a bounded load of ``POST /api/score``:
a mix of a real selfie (the target's photo at 1280 px), a photo of someone else, a photo
without a face and a damaged file, the rate limit off. Prints requests/s, p50/p95/p99,
every status seen, the errors (a 5xx or a dropped connection: the target is 0), and each
worker's peak memory (VmHWM from /proc). Only loopback traffic; it stops by itself.
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
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import build_movie_store  # noqa: E402

from webapp.operations.training import train_from_store  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def jpeg_of(path: Path, width: int) -> bytes:
    image = Image.open(path).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def uploads() -> list[tuple[str, bytes]]:
    target = jpeg_of(DATA / "photos" / "lin-manuel-miranda.png", 1280)
    other = jpeg_of(DATA / "photos" / "alex-lacamoire.png", 1280)
    wall = io.BytesIO()
    Image.new("RGB", (800, 600), (120, 120, 120)).save(wall, format="JPEG")
    return [("target", target), ("other", other), ("no face", wall.getvalue()),
            ("damaged", target[: len(target) // 3])]  # fmt: skip


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_peaks(master: int) -> dict[int, int]:
    """Peak resident memory (MiB) of each worker process of the gunicorn master."""
    peaks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != master:
                continue
            status = (stat.parent / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[int(stat.parent.name)] = int(line.split()[1]) // 1024
    return peaks


def run_load(instance: Path, models: Path, requests: int, clients: int) -> dict:
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
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--access-logfile",
         "/dev/null"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        bodies = [(name, *multipart(data)) for name, data in uploads()]
        timings: list[float] = []
        statuses: Counter[str] = Counter()
        errors: list[str] = []
        lock = threading.Lock()
        counter = iter(range(requests))

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for number in counter:
                name, body, content_type = bodies[number % len(bodies)]
                started = time.perf_counter()
                try:
                    connection.request(
                        "POST", "/api/score", body=body, headers={"Content-Type": content_type}
                    )
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    with lock:
                        errors.append(f"{name}: {error!r}")
                    continue
                with lock:
                    timings.append(time.perf_counter() - started)
                    statuses[f"{name} {status}"] += 1
                    if status >= 500:
                        errors.append(f"{name}: HTTP {status}")

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        peaks = worker_peaks(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = np.array(timings) * 1000
    return {
        "requests": requests,
        "clients": clients,
        "seconds": round(seconds, 1),
        "requests_per_second": round(len(timings) / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "statuses": dict(sorted(statuses.items())),
        "errors": len(errors),
        "first_errors": errors[:5],
        "worker_peak_mib": sorted(peaks.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not (DATA / "movie" / "dev_movie.mp4").is_file():
        print(f"The development data is missing: {DATA} (see its README); nothing measured.")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        conn, crops, _ = build_movie_store(root / "instance", every=10)
        train_from_store(conn, crops, root / "models")
        conn.close()
        result = run_load(root / "instance", root / "models", options.requests, options.clients)
    if options.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['requests']} requests from {result['clients']} clients on 2 workers in"
        f" {result['seconds']} s: {result['requests_per_second']} requests/s; p50"
        f" {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms."
    )
    print(f"Errors (5xx or dropped): {result['errors']} {result['first_errors'] or ''}")
    print(f"Answers: {result['statuses']}")
    print(f"Peak memory per worker: {', '.join(f'{m} MiB' for m in result['worker_peak_mib'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
