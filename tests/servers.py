"""Starting the real gunicorn, as ./run.sh does, for the hosting tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def json_answer(request: urllib.request.Request | str) -> tuple[int, dict]:
    """The status and JSON body of a request to a server, an error status included."""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post_multipart(url: str, field: str, filename: str, data: bytes) -> tuple[int, dict]:
    """POST ``data`` as the file ``filename`` in the form field ``field``, as a browser
    sends a form: the status and JSON body."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"'
            f"\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    return json_answer(request)


def wait_until(condition, timeout: float = 60, what: str = "the condition", every: float = 0.05):
    """Call ``condition`` every ``every`` seconds until it gives something true, and return
    that; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(instance: Path, **settings: str) -> Iterator[str]:
    """gunicorn with the repository's gunicorn.conf.py (2 workers) on a free port, the
    instance folder and ``LOOKALIKE_<NAME>`` settings given; yields its base URL once
    /healthz answers."""
    port = free_port()
    env = {
        **os.environ,
        "LOOKALIKE_INSTANCE": str(instance),
        "LOOKALIKE_BIND": f"127.0.0.1:{port}",
        "LOOKALIKE_WORKERS": "2",
        **{f"LOOKALIKE_{name}": value for name, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
