"""Background jobs: the store's lifecycle rules and real detached processes (the ``process``
runner), on SQLite and on PostgreSQL. Workers (the ``worker`` runner): test_workers.py."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.learn_data import fill_store
from webapp.jobs import log_path, start_job, wait_for_job
from webapp.operations.training import train_from_store
from webapp.settings import Settings, load_settings
from webapp.store import jobs as job_store
from webapp.store import models as model_store
from webapp.store.db import open_store, this_host


@pytest.fixture
def paths(tmp_path, database) -> Settings:
    """The settings a job's process is started with (the app's, in real use)."""
    return load_settings(
        {
            "INSTANCE": str(tmp_path / "instance"),
            "MODELS_DIR": str(tmp_path / "models"),
            "FACE_SIZE": 48,
            "EXTRACTOR": "eigenfaces",  # the EXTRACTOR setting; None: the best available
            "JOB_RUNNER": "process",  # the default on SQLite, chosen on PostgreSQL too
        }
    )


@pytest.fixture
def store(paths):
    conn = open_store(paths.database)
    yield conn
    conn.close()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_job_lifecycle_in_the_store(store):
    job_id = job_store.create_job(store, "train", {"preset": "seed"}, created_by=None)
    with pytest.raises(job_store.JobAlreadyRunning, match=f"job {job_id}.* already queued"):
        job_store.create_job(store, "train")
    other_kind = job_store.create_job(store, "extract", {"video": "x.mp4"})
    job = job_store.claim_job(store, job_id, os.getpid())
    assert job["status"] == "running" and job["params"] == {"preset": "seed"}
    assert job_store.claim_job(store, job_id, os.getpid()) is None  # claimed once only
    assert job_store.report_progress(store, job_id, 0.4, "searching") is False
    job = job_store.get_job(store, job_id)
    assert (job["progress"], job["message"]) == (0.4, "searching") and job["heartbeat_at"]
    job_store.finish_job(store, job_id, {"version_id": 3})
    job = job_store.get_job(store, job_id)
    assert (job["status"], job["progress"], job["result"]) == ("done", 1.0, {"version_id": 3})
    assert [j["id"] for j in job_store.recent_jobs(store)] == [other_kind, job_id]
    assert job_store.create_job(store, "train") > other_kind  # free again once finished


def test_a_job_whose_worker_died_becomes_failed(store):
    job_id = job_store.create_job(store, "train")
    job_store.claim_job(store, job_id, _dead_pid())
    job_store.fail_dead_jobs(store, 30)
    unfinished = job_store.recent_jobs(store, kind="train")
    assert all(j["status"] not in job_store.UNFINISHED for j in unfinished)
    job = job_store.get_job(store, job_id)
    assert job["status"] == "failed" and "worker process ended" in job["error"]
    job_store.create_job(store, "train")  # not blocked by the dead one


def test_cancelling_a_queued_and_a_running_job(store):
    queued = job_store.create_job(store, "train")
    assert job_store.cancel_job(store, queued)
    assert job_store.get_job(store, queued)["status"] == "cancelled"
    running = job_store.create_job(store, "train")
    job_store.claim_job(store, running, os.getpid())
    assert job_store.cancel_job(store, running)
    assert job_store.get_job(store, running)["status"] == "running"  # stops at its next report
    assert job_store.report_progress(store, running, 0.5, "searching") is True
    job_store.mark_cancelled(store, running)
    assert job_store.get_job(store, running)["status"] == "cancelled"
    assert job_store.cancel_job(store, running) is False  # already finished


@pytest.mark.timeout(120)
def test_training_job_runs_in_a_detached_process(paths, store):
    fill_store(store, paths.crops_dir, 12, 36)
    started = time.monotonic()
    job_id = start_job(paths, "train", {"preset": "seed"})
    assert time.monotonic() - started < 10  # the launcher returns before training ends
    job = wait_for_job(paths, job_id, timeout=100)
    assert job["status"] == "done", (job, log_path(paths, job_id).read_text())
    assert job["worker_pid"] not in (None, os.getpid()) and job["worker_host"] == this_host()
    assert job["progress"] == 1.0 and job["started_at"] and job["finished_at"]
    active = model_store.get_active_model_version(store)
    assert job["result"]["version_id"] == active["id"] and active["preset"] == "seed"
    assert f"job {job_id}: done" in log_path(paths, job_id).read_text()


@pytest.mark.timeout(120)
def test_a_failing_training_job_leaves_the_old_model_active(paths, store):
    fill_store(store, paths.crops_dir, 10, 30)
    good = train_from_store(store, paths.crops_dir, paths.models_dir, face_size=48)
    store.execute("UPDATE crops SET label = 'not_face' WHERE label = 'target'")
    job_id = start_job(paths, "train")
    job = wait_for_job(paths, job_id, timeout=100)
    assert job["status"] == "failed"
    assert job["error"].startswith("not enough labelled crops to train: 0 target and 30")
    assert model_store.get_active_model_version(store)["id"] == good.version_id


@pytest.mark.timeout(120)
def test_a_cancelled_training_job_saves_nothing(paths, store):
    fill_store(store, paths.crops_dir, 40, 160)
    job_id = start_job(paths, "train")
    deadline = time.monotonic() + 60
    while job_store.get_job(store, job_id)["status"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_store.cancel_job(store, job_id)
    job = wait_for_job(paths, job_id, timeout=100)
    assert job["status"] == "cancelled"
    assert model_store.get_active_model_version(store) is None
    assert model_store.list_model_versions(store) == []


@pytest.mark.timeout(120)
def test_extraction_job_stores_crops_with_progress(paths, store, face_video):
    params = {"video": str(face_video), "every": 0, "cap": 60, "seed": 1}
    job_id = start_job(paths, "extract", params)
    with pytest.raises(job_store.JobAlreadyRunning):
        start_job(paths, "extract", params)  # a second click is told so
    job = wait_for_job(paths, job_id, timeout=100)
    assert job["status"] == "done", log_path(paths, job_id).read_text()
    assert job["result"]["crops_added"] > 0 and job["progress"] == 1.0
    count = store.execute("SELECT COUNT(*) FROM crops").fetchone()[0]
    assert count == job["result"]["crops_added"]


def test_a_job_for_a_missing_video_fails_with_the_reason(paths, store, tmp_path):
    job_id = start_job(paths, "extract", {"video": str(tmp_path / "nope.mp4"), "seed": 1})
    job = wait_for_job(paths, job_id, timeout=60)
    assert job["status"] == "failed" and "nope.mp4" in job["error"]
    assert "Traceback" not in job["error"]


def test_unknown_job_kind_is_refused(paths):
    with pytest.raises(ValueError, match="unknown job kind"):
        start_job(paths, "dance")
