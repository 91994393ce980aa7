"""Jobs run by workers (``flask --app webapp worker``), on any host sharing the store: a job
waits until a worker takes it (and the pages say when none runs), each job is taken once,
and a worker that dies or is stopped never leaves its job ``running``. Real worker
processes, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import create_admin, log_in
from tests.learn_data import fill_store
from tests.servers import wait_until
from webapp import create_app
from webapp.jobs import log_path, start_job, wait_for_job
from webapp.jobs.heartbeat import Heartbeat
from webapp.settings import Settings, SettingsError, load_settings
from webapp.store import jobs as job_store
from webapp.store import models as model_store
from webapp.store import workers as worker_store
from webapp.store.db import connect, open_store, this_host

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "webapp"]
LONG_AGO = "2000-01-01T00:00:00+00:00"


def overrides(tmp_path: Path) -> dict:
    """The settings of the app and of its workers: small faces, the tutorial's features,
    jobs left to workers, and a quick heartbeat so a death is noticed within seconds."""
    return {
        "INSTANCE": str(tmp_path / "instance"),
        "MODELS_DIR": str(tmp_path / "models"),
        "FACE_SIZE": 48,
        "EXTRACTOR": "eigenfaces",
        "DESCRIBE_WORKERS": 1,
        "JOB_RUNNER": "worker",
        "JOB_HEARTBEAT_SECONDS": 0.5,
        "JOB_HEARTBEAT_TIMEOUT": 3,
    }


@pytest.fixture
def settings(tmp_path, database) -> Settings:
    return load_settings(overrides(tmp_path))


@pytest.fixture
def store(settings):
    conn = open_store(settings.database)
    yield conn
    conn.close()


@pytest.fixture
def alice(tmp_path, settings):
    """An admin's client of an app with the same settings as the workers (CSRF off)."""
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, **overrides(tmp_path)})
    create_admin(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


@contextmanager
def worker(settings: Settings, *args: str) -> Iterator[subprocess.Popen]:
    """``flask --app webapp worker`` in a process of its own, with the settings as
    ``LOOKALIKE_*`` variables (as systemd would start it); killed if still running."""
    process = subprocess.Popen(
        [*FLASK, "worker", *args],
        cwd=ROOT,
        env={**os.environ, **settings.environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def stop(process: subprocess.Popen, how: int = signal.SIGTERM) -> str:
    """Send ``how``; its exit status must be 0; return what it printed."""
    process.send_signal(how)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def job_children(worker_pid: int) -> list[int]:
    """The processes a worker started for a job (``python -m webapp.jobs --worker-pid``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--worker-pid" in args and args[args.index(b"--worker-pid") + 1] == b"%d" % worker_pid:
            found.append(int(entry.name))
    return found


def workers_registered(settings: Settings) -> int:
    conn = connect(settings.database)
    try:
        return len(worker_store.workers_seen(conn, settings.job_heartbeat_timeout))
    finally:
        conn.close()


def page(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def job_now(settings: Settings, job_id: int) -> dict:
    conn = connect(settings.database)
    try:
        return job_store.get_job(conn, job_id)
    finally:
        conn.close()


# --- The setting ---


def test_jobs_run_in_processes_on_sqlite_and_in_workers_on_postgresql(tmp_path):
    assert load_settings({"INSTANCE": str(tmp_path)}).job_runner == "process"
    url = "postgresql://look:secret@db.example/lookalike"
    assert load_settings({"INSTANCE": str(tmp_path), "DATABASE_URL": url}).job_runner == "worker"
    chosen = {"INSTANCE": str(tmp_path), "DATABASE_URL": url, "JOB_RUNNER": "process"}
    assert load_settings(chosen).job_runner == "process"


def test_a_job_runner_or_heartbeat_that_cannot_work_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="JOB_RUNNER must be one of process, worker"):
        load_settings({"INSTANCE": str(tmp_path), "JOB_RUNNER": "celery"})
    with pytest.raises(SettingsError, match="JOB_HEARTBEAT_TIMEOUT .10 s. must be at least 3"):
        load_settings({"INSTANCE": str(tmp_path), "JOB_HEARTBEAT_TIMEOUT": 10})


# --- The store: claims and heartbeats ---


def test_a_worker_takes_the_oldest_job_queued_for_workers_of_the_kinds_it_runs(store):
    train = job_store.create_job(store, "train")
    extract = job_store.create_job(store, "extract", {"video": "x.avi"})
    launched = job_store.create_job(store, "describe", host=this_host())  # its own process's
    job = job_store.claim_next_job(store, "host-b", 4242, ("extract", "score"))
    assert (job["id"], job["status"], job["worker_host"], job["worker_pid"]) == (
        extract,
        "running",
        "host-b",
        4242,
    )
    assert job_store.claim_next_job(store, "host-b", 4242)["id"] == train
    assert job_store.claim_next_job(store, "host-b", 4242) is None
    assert job_store.get_job(store, launched)["status"] == "queued"


def claims_at_once(settings: Settings, count: int) -> list[int | None]:
    """``count`` workers' claims, each on a connection of its own, at the same instant."""
    start = threading.Barrier(count)
    taken: list[int | None] = []

    def claim(number: int) -> None:
        conn = connect(settings.database, pooled=False)
        try:
            start.wait()
            job = job_store.claim_next_job(conn, f"host-{number}", 1000 + number)
            taken.append(job["id"] if job else None)
        finally:
            conn.close()

    threads = [threading.Thread(target=claim, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken


def test_workers_claiming_at_once_never_take_the_same_job(settings, store):
    """Eight claims at the same instant, four jobs: each taken once (FOR UPDATE SKIP LOCKED
    on PostgreSQL, the write lock on SQLite), the other claims come back empty."""
    for _ in range(5):
        queued = [
            job_store.create_job(store, kind) for kind in ("train", "extract", "describe", "score")
        ]
        taken = claims_at_once(settings, 8)
        assert sorted(job_id for job_id in taken if job_id) == queued
        assert taken.count(None) == 4
        for job_id in queued:
            job_store.finish_job(store, job_id, {})


def test_a_running_job_silent_too_long_is_failed_whichever_host_looks(store):
    job_id = job_store.create_job(store, "train")
    job_store.claim_next_job(store, "elsewhere", 4242)
    job_store.fail_dead_jobs(store, 30)
    # Process 4242 of another host cannot be looked at from here: its heartbeat is fresh.
    assert job_store.get_job(store, job_id)["status"] == "running"
    store.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (LONG_AGO, job_id))
    job_store.fail_dead_jobs(store, 30)
    job = job_store.get_job(store, job_id)
    assert (job["status"], job["error"]) == (
        "failed",
        "its worker stopped reporting: the host or process died",
    )
    # Should that worker still be alive after all, its next report tells it to stop.
    assert job_store.report_progress(store, job_id, 0.5, "searching") is True


def test_a_job_queued_for_workers_waits_however_long_but_a_launched_one_does_not(store):
    waiting = job_store.create_job(store, "train")
    launched = job_store.create_job(store, "extract", {"video": "x.avi"}, host=this_host())
    store.execute("UPDATE jobs SET created_at = ?", (LONG_AGO,))
    job_store.fail_dead_jobs(store, 30)
    assert job_store.get_job(store, waiting)["status"] == "queued"
    job = job_store.get_job(store, launched)
    assert (job["status"], job["error"]) == ("failed", "its worker never started")


def test_the_heartbeat_thread_keeps_the_job_and_the_worker_fresh(settings, store):
    job_id = job_store.create_job(store, "train")
    job_store.claim_next_job(store, "host-b", 4242)
    store.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (LONG_AGO, job_id))
    with Heartbeat(settings.database, 0.1, job_id=job_id, worker=("host-b", 4242)):
        time.sleep(0.5)
    assert job_store.get_job(store, job_id)["heartbeat_at"] > LONG_AGO
    [row] = worker_store.workers_seen(store, 5)
    assert (row["host"], row["pid"], row["job_id"]) == ("host-b", 4242, job_id)


# --- What the admins see while no worker runs ---


def test_a_queued_job_waits_for_a_worker_and_the_pages_say_none_runs(settings, store, alice):
    response = alice.post("/admin/retrain", data={"preset": "seed", "extractor": "eigenfaces"})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    store.execute("UPDATE jobs SET created_at = ?", (LONG_AGO,))  # hours ago: never failed
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert state["status"] == "queued" and state["no_worker"]
    assert state["waiting"].startswith(
        "No worker is running: start `.venv/bin/flask --app webapp worker` on a host."
    )
    assert not log_path(settings, job_id).exists()  # nothing was launched
    assert "No worker is running" in page(alice, f"/admin/jobs/{job_id}")
    assert "No worker is running" in page(alice, "/admin/dashboard")

    said: list[str] = []
    with pytest.raises(TimeoutError, match=f"job {job_id} is still queued .*No worker is running"):
        wait_for_job(settings, job_id, timeout=0.5, notice=said.append)
    assert len(said) == 1 and "No worker is running" in said[0]

    worker_store.touch_worker(store, "host-b", 4242, None)  # a worker, somewhere
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert state["waiting"] == "Waiting for a worker to take it (1 worker running, 0 busy)."
    assert not state["no_worker"]
    assert "1 job worker running, 0 busy" in page(alice, "/admin/dashboard")


# --- Real workers ---


@pytest.mark.timeout(180)
def test_a_worker_started_separately_runs_the_queued_job(settings, store, alice):
    fill_store(store, settings.crops_dir, 12, 36)
    response = alice.post("/admin/retrain", data={"preset": "seed", "extractor": "eigenfaces"})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    time.sleep(1)
    assert job_now(settings, job_id)["status"] == "queued"  # no process was launched for it
    with worker(settings) as process:
        job = wait_for_job(settings, job_id, timeout=120)
        assert job["status"] == "done", log_path(settings, job_id).read_text()
        assert (job["worker_host"], job["worker_pid"]) == (this_host(), process.pid)
        state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
        assert state["status"] == "done" and state["worker_host"] == this_host()
        active = model_store.get_active_model_version(store)
        assert state["result"]["version_id"] == active["id"] and active["preset"] == "seed"
        wait_until(
            lambda: "1 job worker running, 0 busy" in page(alice, "/admin/dashboard"),
            10,
            "the dashboard showing the worker free",
        )
        out = stop(process)
    assert f"job {job_id} (train): done" in out and "stopped by SIGTERM after 1 job" in out
    assert worker_store.workers_seen(store, 60) == []  # it removed itself
    assert f"job {job_id}: done" in log_path(settings, job_id).read_text()


@pytest.mark.timeout(300)
def test_two_workers_run_each_job_of_every_kind_exactly_once(settings, store, face_video):
    fill_store(store, settings.crops_dir, 12, 36)
    with worker(settings) as first, worker(settings) as second:
        wait_until(lambda: workers_registered(settings) == 2, what="two workers registered")
        jobs = [
            start_job(settings, "train", {"preset": "seed"}),
            start_job(settings, "extract", {"video": str(face_video), "every": 0, "seed": 1}),
            start_job(settings, "describe"),
            start_job(settings, "score"),
        ]
        finished = [wait_for_job(settings, job_id, timeout=240) for job_id in jobs]
        out = stop(first) + stop(second)
    assert all(job["status"] in ("done", "failed") for job in finished), finished
    started = re.findall(r"job (\d+) \(\w+\): started", out)
    assert sorted(int(job_id) for job_id in started) == jobs  # each taken once, by one worker
    assert {job["worker_pid"] for job in finished} == {first.pid, second.pid}
    for job_id in jobs:
        endings = re.findall(rf"^job {job_id}: \w+$", log_path(settings, job_id).read_text(), re.M)
        assert len(endings) == 1  # run once: one process ran it, and said so once


@pytest.mark.timeout(180)
@pytest.mark.parametrize("looker", ["the worker's host", "another host"])
def test_a_worker_killed_mid_job_leaves_the_job_failed_with_the_reason(
    settings, store, alice, looker
):
    fill_store(store, settings.crops_dir, 60, 240)  # a training that takes a few seconds
    job_id = start_job(settings, "train")
    with worker(settings) as process:
        wait_until(lambda: job_now(settings, job_id)["progress"] > 0, what="the training under way")
        [child] = job_children(process.pid)
        if looker == "another host":  # its process cannot be looked at: only the heartbeat
            store.execute("UPDATE jobs SET worker_host = 'elsewhere' WHERE id = ?", (job_id,))
        process.kill()
        process.wait(timeout=30)
    wait_until(lambda: not job_children(process.pid), 10, "the job's process gone with it")
    assert not Path(f"/proc/{child}").exists() or child not in job_children(process.pid)
    if looker == "the worker's host":  # its process is seen gone: failed at the first look
        expected = "its worker process ended without finishing it"
    else:  # failed once silent for the heartbeat timeout
        expected = "its worker stopped reporting: the host or process died"
        time.sleep(settings.job_heartbeat_timeout + 1)
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert (state["status"], state["error"]) == ("failed", expected)
    assert model_store.list_model_versions(store) == []


@pytest.mark.timeout(180)
def test_a_stopped_worker_ends_its_job_says_so_and_leaves(settings, store, alice):
    fill_store(store, settings.crops_dir, 60, 240)
    job_id = start_job(settings, "train")
    with worker(settings) as process:
        wait_until(lambda: job_now(settings, job_id)["progress"] > 0, what="the training under way")
        out = stop(process)
    assert "stopped by SIGTERM after 1 job" in out
    assert not job_children(process.pid)
    state = alice.get(f"/api/admin/jobs/{job_id}").get_json()
    assert state["status"] == "failed"
    assert state["error"] == "the worker was stopped before the job finished: run the job again"
    assert worker_store.workers_seen(store, 60) == []
    assert model_store.list_model_versions(store) == []


@pytest.mark.timeout(120)
def test_a_worker_with_once_runs_one_job_of_its_kinds_and_exits(settings, store, tmp_path):
    other = start_job(settings, "score")
    extract = start_job(settings, "extract", {"video": str(tmp_path / "nope.avi"), "seed": 1})
    with worker(settings, "--once", "--kinds", "extract") as process:
        out, _ = process.communicate(timeout=90)
    assert process.returncode == 0, out
    job = job_now(settings, extract)
    assert job["status"] == "failed" and "nope.avi" in job["error"]
    assert job_now(settings, other)["status"] == "queued"  # not its kind
    assert "(extract only)" in out and "after 1 job" in out
