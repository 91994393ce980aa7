"""Hosts that share nothing but a PostgreSQL server and the secret key: two real gunicorn
servers with folders of their own, a job worker started apart, and a database that
restarts under them."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, copy_sqlite_store
from tests.learn_data import fill_store
from tests.servers import ROOT, gunicorn, json_answer, post_multipart, wait_until
from tests.test_public import jpeg
from webapp.operations.admins import hash_password
from webapp.store import users
from webapp.store.db import connect

SECRET_KEY = "the-same-secret-on-every-host"


def host_folders(tmp_path: Path, trained_instance: Path, name: str) -> Path:
    """A host's own copy of the instance and models folders."""
    root = tmp_path / name
    shutil.copytree(trained_instance, root)
    return root


@pytest.mark.timeout(240)
def test_a_database_restart_gives_503_then_the_app_recovers_by_itself(
    tmp_path, trained_instance, postgres_server, empty_database, astronaut_rgb
):
    root = host_folders(tmp_path, trained_instance, "host")
    copy_sqlite_store(root / "instance" / "lookalike.sqlite3", empty_database)
    photo = jpeg(astronaut_rgb)
    settings = {"MODELS": str(root / "models"), "DATABASE_URL": empty_database}
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
            status, body = json_answer(f"{base}/healthz")
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
        # Every worker, not only the first to reconnect (each has a pool of its own, whose
        # attempts to reconnect slowed down while the server was away).
        for _ in range(6):
            assert json_answer(f"{base}/healthz")[0] == 200
            status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
            assert status == 200, body


class Admin:
    """An admin's browser session over HTTP: cookies kept, CSRF tokens read from the forms."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, url: str) -> tuple[int, str]:
        try:
            with self.opener.open(url, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_form(self, url: str, page: str, **fields: str) -> tuple[int, str]:
        """POST ``fields`` with the CSRF token of the form on ``page``; the final page."""
        _, html = self.get(page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        try:
            with self.opener.open(url, data=data, timeout=60) as response:
                return response.status, response.geturl()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def job(self, base: str, job_id: int) -> dict:
        status, body = self.get(f"{base}/api/admin/jobs/{job_id}")
        assert status == 200, body
        return json.loads(body)


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", "worker"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def retrain(admin: Admin, base: str) -> int:
    status, where = admin.post_form(
        f"{base}/admin/retrain",
        f"{base}/admin/dashboard",
        preset="seed",
        extractor="eigenfaces",
    )
    assert status == 200, where
    return int(where.rstrip("/").rsplit("/", 1)[1])


@pytest.mark.timeout(600)
def test_two_hosts_one_database_and_a_worker_started_apart(
    tmp_path, trained_instance, empty_database, astronaut_rgb
):
    """Host A has the crops (the admins' host); host B has empty folders. Labels and a
    model trained through A are scored on B; the rate limit counts A's and B's requests
    together; a job queued on A is run by a worker started apart; a worker killed mid-job
    leaves its job failed, as both hosts say."""
    a_root = host_folders(tmp_path, trained_instance, "host-a")
    copy_sqlite_store(a_root / "instance" / "lookalike.sqlite3", empty_database)
    (tmp_path / "host-b").mkdir()
    conn = connect(empty_database, pooled=False)
    users.create_user(conn, "carol", hash_password(ADMIN_PASSWORD))
    conn.close()
    limit = 40
    shared = {
        "DATABASE_URL": empty_database,
        "SECRET_KEY": SECRET_KEY,
        "SCORE_RATE_LIMIT": str(limit),
        "SCORE_RATE_WINDOW": "3600",
        "FACE_SIZE": "48",
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_HEARTBEAT_TIMEOUT": "3",
    }
    a_env = {"MODELS": str(a_root / "models"), **shared}
    b_env = {"MODELS": str(tmp_path / "host-b" / "models"), **shared}
    worker_env = {
        f"LOOKALIKE_{k}": v
        for k, v in {
            **shared,
            "INSTANCE": str(a_root / "instance"),  # the crops: a folder shared with A
            "MODELS": str(tmp_path / "worker-models"),
        }.items()
    }
    photo = jpeg(astronaut_rgb)
    scored = {"a": 0, "b": 0}

    def score(host: str, base: str) -> tuple[int, dict]:
        status, body = post_multipart(f"{base}/api/score", "photo", "me.jpg", photo)
        if status == 200:
            scored[host] += 1
        return status, body

    with (
        gunicorn(a_root / "instance", **a_env) as a,
        gunicorn(tmp_path / "host-b" / "instance", **b_env) as b,
    ):
        # B has no model file and no crop: everything comes from the database.
        status, before_a = score("a", a)
        assert status == 200, before_a
        status, before_b = score("b", b)
        assert status == 200, before_b
        assert before_b["model_version"] == before_a["model_version"]
        assert before_b["look_alike_percent"] == before_a["look_alike_percent"]
        picture_b = urllib.request.urlopen(f"{b}/target-picture", timeout=30).read()
        assert picture_b == urllib.request.urlopen(f"{a}/target-picture", timeout=30).read()

        # An admin signs in on A; the same cookie is a session on B (one secret key).
        admin = Admin()
        status, where = admin.post_form(
            f"{a}/admin/login", f"{a}/admin/login", name="carol", password=ADMIN_PASSWORD
        )
        assert status == 200 and "/admin" in where, where
        assert admin.get(f"{b}/admin/dashboard")[0] == 200

        # A job queued on A waits for a worker; one started apart runs it.
        job_id = retrain(admin, a)
        time.sleep(1)
        assert admin.job(a, job_id)["status"] == "queued"
        worker = start_worker(worker_env)
        try:
            job = wait_until(
                lambda: (j := admin.job(b, job_id))["finished"] and j,
                180,
                "the training",
                every=0.2,
            )
            assert job["status"] == "done", job
            new_version = job["result"]["version_id"]
            _, versions_page = admin.get(f"{a}/admin/models/")
            if not job["result"].get("activated"):  # not better than the active one
                status, _ = admin.post_form(
                    f"{a}/admin/models/{new_version}/activate", f"{a}/admin/models/"
                )
                assert status == 200
            activated_at = time.monotonic()
            conn = connect(empty_database, pooled=False)
            directory = conn.execute(
                "SELECT directory FROM model_versions WHERE id = ?", (new_version,)
            ).fetchone()[0]
            conn.close()
            # B scores with it at its next model check (every 2 s), its folder filled from
            # the store.
            wait_until(
                lambda: score("b", b)[1].get("model_version") == directory,
                10,
                "B's switch",
                every=0.2,
            )
            assert time.monotonic() - activated_at < 2 + 3  # the check interval, and a request
            assert (tmp_path / "host-b" / "models" / directory / "model.joblib").is_file()
            status, body = score("a", a)
            assert body["model_version"] == directory

            # A slow job, and its worker killed -9 while it runs.
            conn = connect(empty_database, pooled=False)
            fill_store(conn, a_root / "instance" / "crops", 60, 240, seed=7)
            conn.close()
            job_id = retrain(admin, a)
            wait_until(
                lambda: admin.job(a, job_id)["progress"] > 0,
                120,
                "the training under way",
                every=0.2,
            )
            worker.kill()
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=30)
        state = wait_until(
            lambda: (j := admin.job(b, job_id))["finished"] and j,
            30,
            "the job marked failed",
            every=0.2,
        )
        assert (state["status"], state["error"]) == (
            "failed",
            "its worker process ended without finishing it",
        )
        assert admin.job(a, job_id)["status"] == "failed"

        # One rate limit for both hosts: whichever host, the request after the limit is 429.
        hosts = [("a", a), ("b", b)]
        turn = 0
        while True:
            host, base = hosts[turn % 2]
            status, body = score(host, base)
            turn += 1
            if status == 429:
                break
            assert status == 200, body
            assert turn < 2 * limit, "never limited"
        assert scored["a"] + scored["b"] == limit
        assert scored["a"] >= 3 and scored["b"] >= 3
        assert score("a", a)[0] == score("b", b)[0] == 429

        # Each gunicorn worker keeps a pool of at most LOOKALIKE_DATABASE_POOL (5).
        conn = connect(empty_database, pooled=False)
        held = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        conn.close()
        assert 2 <= held <= 2 * 2 * 5  # two hosts of two workers, the worker gone
