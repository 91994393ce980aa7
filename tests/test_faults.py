"""A bad day: a full disk, a model folder gone or damaged, a training killed outright."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import forget_model_files, new_app
from tests.learn_data import fill_store
from tests.test_public import jpeg, post_photo
from webapp.store import models as model_store
from webapp.store.db import open_store


@contextmanager
def small_disk(path: Path, megabytes: int):
    """A real file system of ``megabytes`` at ``path`` (tmpfs; needs root, as CI runs)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_the_disk(folder: Path) -> None:
    # Unbuffered: closing the file must not try to write what no longer fits.
    with open(folder / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass


def test_scoring_goes_on_when_the_disk_is_full(tmp_path, trained_instance, astronaut_rgb):
    with small_disk(tmp_path / "disk", 8) as disk:
        shutil.copytree(trained_instance / "instance", disk / "instance", ignore=_no_crops)
        app = new_app(disk, MODELS_DIR=str(trained_instance / "models"), SCORE_RATE_LIMIT=2)
        client = app.test_client()
        fill_the_disk(disk)
        photo = jpeg(astronaut_rgb)
        # The rate limit cannot count (it writes): scoring goes on without it.
        answers = [post_photo(client, photo) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 200]
        assert answers[0].get_json()["look_alike_percent"] >= 50
        login = client.get("/admin/login")
        assert login.status_code in (200, 503) and b"Traceback" not in login.data


def _no_crops(folder: str, names: list[str]) -> list[str]:
    return ["crops"] if folder.endswith("instance") else []


def test_extract_on_a_full_disk_says_so_without_a_traceback(tmp_path, face_video):
    with small_disk(tmp_path / "disk", 4) as disk:
        env = {**os.environ, "LOOKALIKE_INSTANCE": str(disk / "instance")}
        flask = [sys.executable, "-m", "flask", "--app", "webapp"]
        subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True)
        fill_the_disk(disk)
        run = subprocess.run(
            [*flask, "extract", str(face_video), "--every", "0", "--seed", "5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 1
        assert "Traceback" not in run.stderr
        assert "could not be stored" in run.stderr and "--seed 5" in run.stderr
        (disk / "filler").unlink()
        again = subprocess.run(
            [*flask, "extract", str(face_video), "--every", "0", "--seed", "5", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
        conn = sqlite3.connect(disk / "instance" / "lookalike.sqlite3")
        statuses = [row[0] for row in conn.execute("SELECT status FROM extractions")]
        assert "running" not in statuses and statuses[-1] == "done"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()


@pytest.fixture
def scoring_app(tmp_path, trained_instance):
    shutil.copytree(trained_instance, tmp_path / "root")
    return new_app(tmp_path / "root", MODEL_CHECK_SECONDS=0)


def _active_folder(app) -> Path:
    conn = open_store(app.config["DATABASE"])
    directory = model_store.get_active_model_version(conn)["directory"]
    conn.close()
    return Path(app.config["MODELS_DIR"]) / directory


def test_a_missing_model_folder_is_not_called_untrained(scoring_app, astronaut_rgb):
    folder = _active_folder(scoring_app)
    hidden = folder.with_name("elsewhere")
    folder.rename(hidden)
    forget_model_files(scoring_app, folder.name)  # nowhere to write it out from
    client = scoring_app.test_client()
    answer = post_photo(client, jpeg(astronaut_rgb))
    assert answer.status_code == 503
    assert "its model cannot be loaded" in answer.get_json()["error"]
    assert "no model has been trained" not in answer.get_json()["error"]
    health = client.get("/healthz")
    assert health.status_code == 503 and "missing" in health.get_json()["model_problem"]
    hidden.rename(folder)  # the folder comes back: the next request uses it again
    assert post_photo(client, jpeg(astronaut_rgb)).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_damaged_version_file_is_a_model_problem_every_time(scoring_app):
    (_active_folder(scoring_app) / "version.json").write_text("{not json")
    client = scoring_app.test_client()
    for _ in range(2):
        health = client.get("/healthz")
        assert health.status_code == 503
        assert "version.json" in health.get_json()["model_problem"]


@pytest.mark.timeout(240)
def test_killing_a_training_leaves_no_process_behind(tmp_path, astronaut_bgr):
    """A training that describes faces in forked processes, killed with SIGKILL: its
    describing processes end with it instead of working on, adopted by init."""
    pytest.importorskip("dlib")
    from webapp.learn.features import embeddings

    if embeddings.model_problem():
        pytest.skip(embeddings.model_problem())
    instance = tmp_path / "instance"
    conn = open_store(instance / "lookalike.sqlite3")
    fill_store(conn, instance / "crops", 200, 600, size=160)
    conn.close()
    env = {**os.environ, "LOOKALIKE_INSTANCE": str(instance), "LOOKALIKE_DESCRIBE_WORKERS": "2"}
    env["LOOKALIKE_MODELS"] = str(tmp_path / "models")
    training = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", "train", "--extractor",
         "face-embeddings", "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    children = _wait_for_children(training.pid, 2, timeout=120)
    training.send_signal(signal.SIGKILL)
    training.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)], "describing processes outlived it"


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


def _wait_for_children(pid: int, count: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = child_pids(pid)
        if len(children) >= count:
            return children
        time.sleep(0.05)
    pytest.fail(f"the training never started {count} describing processes")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
