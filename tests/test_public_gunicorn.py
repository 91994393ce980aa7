"""The real thing: gunicorn with two workers serving the API over HTTP, and a model switch
that every worker picks up without a restart."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import gunicorn, post_multipart
from tests.test_public import jpeg
from webapp.store import models as model_store
from webapp.store.db import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path, trained_instance):
    shutil.copytree(trained_instance, tmp_path / "copy")
    root = tmp_path / "copy"
    settings = {"MODELS": str(root / "models"), "MODEL_CHECK_SECONDS": "1", "SCORE_RATE_LIMIT": "0"}
    with gunicorn(root / "instance", **settings) as base:
        yield base, root


@pytest.mark.timeout(180)
def test_gunicorn_scores_over_http_and_switches_model_without_restart(server, astronaut_rgb):
    base, root = server
    conn = open_store(root / "instance" / "lookalike.sqlite3")
    versions = model_store.list_model_versions(conn)
    active = next(v for v in versions if v["is_active"])
    older = next(v for v in versions if not v["is_active"])
    photo = jpeg(astronaut_rgb)

    status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
    assert status == 200, body
    assert body["model_version"] == active["directory"]
    assert 0 <= body["look_alike_percent"] <= 100
    status, body = post_multipart(f"{base}/api/score", "picture", "me.jpg", photo)
    assert (status, body["error"]) == (400, "Send the photo in a form field named 'photo'.")
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"store": "ok", "model": active["directory"]}

    model_store.activate_model_version(conn, older["id"])
    switched_at = time.monotonic()
    seen: list[str] = []
    while time.monotonic() - switched_at < 15:
        status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
        assert status == 200, body
        seen.append(body["model_version"])
        if seen[-8:] == [older["directory"]] * 8:  # both workers answered with it
            break
        time.sleep(0.1)
    assert seen[-8:] == [older["directory"]] * 8, seen
    assert time.monotonic() - switched_at < 10


@pytest.mark.timeout(120)
def test_slow_clients_do_not_stop_the_health_check(tmp_path):
    """Three clients dribbling their photos as slowly as they like: /healthz (and so any
    other visitor) is still answered at once."""
    import socket

    with gunicorn(tmp_path / "instance") as base:
        port = int(base.rsplit(":", 1)[1])
        slow = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
            )
            slow.append(sock)
        time.sleep(0.5)
        # With sync workers this waited for the slow bodies (the workers' 60 s timeout).
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
        for sock in slow:
            sock.close()
