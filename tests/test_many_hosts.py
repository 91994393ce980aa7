"""Hosts that share nothing but a PostgreSQL server: real gunicorn servers on one database,
and a database that restarts under them."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import copy_sqlite_store
from tests.servers import gunicorn
from tests.test_public import jpeg
from tests.test_public_gunicorn import post_multipart


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def database_url(postgres_server):
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


def host_folders(tmp_path: Path, trained_instance: Path, name: str) -> Path:
    """A host's own copy of the instance and models folders."""
    root = tmp_path / name
    shutil.copytree(trained_instance, root)
    return root


@pytest.mark.timeout(240)
def test_a_database_restart_gives_503_then_the_app_recovers_by_itself(
    tmp_path, trained_instance, postgres_server, database_url, astronaut_rgb
):
    root = host_folders(tmp_path, trained_instance, "host")
    copy_sqlite_store(root / "instance" / "lookalike.sqlite3", database_url)
    photo = jpeg(astronaut_rgb)
    settings = {"MODELS": str(root / "models"), "DATABASE_URL": database_url}
    with gunicorn(root / "instance", **settings) as base:
        status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
        assert status == 200, body
        postgres_server.stop_server()
        try:
            for _ in range(3):  # each worker, each a pool of its own
                started = time.monotonic()
                status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
                assert status == 503, body
                assert body == {
                    "error": "The service cannot reach its data right now."
                    " Please try again in a while."
                }
                assert time.monotonic() - started < 15  # a bounded wait, not a hang
            status, body = get_json(f"{base}/healthz")
            assert status == 503 and body["store"].startswith("unreachable")
        finally:
            postgres_server.start_server()
        deadline = time.monotonic() + 30
        while True:  # the same gunicorn, not restarted, answers again
            status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
            if status == 200:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.5)
        assert get_json(f"{base}/healthz")[0] == 200
