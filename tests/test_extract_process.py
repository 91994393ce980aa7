"""`flask extract` as a real process, stopped by Ctrl-C or killed outright."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import face_and_blank_frames, write_video

FLASK = [sys.executable, "-m", "flask", "--app", "webapp"]


@pytest.fixture(scope="module")
def long_face_video(tmp_path_factory, astronaut_bgr) -> Path:
    """400 frames, every one with the face: long enough to stop a run half-way."""
    frames = face_and_blank_frames(astronaut_bgr, 400, set(range(400)))
    return write_video(tmp_path_factory.mktemp("long") / "long.avi", frames)


def run_flask(instance: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "LOOKALIKE_INSTANCE": str(instance)}
    return subprocess.Popen(
        [*FLASK, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
        **kwargs,
    )


def wait_for_crops(instance: Path, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list((instance / "crops").rglob("*.png"))) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the extraction never started writing crops")


def stored_rows(instance: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(instance / "lookalike.sqlite3")
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM crops").fetchall()


def assert_consistent(instance: Path) -> None:
    for row in stored_rows(instance):
        assert (instance / "crops" / row["image_file"]).is_file()
        assert (instance / "crops" / row["face_file"]).is_file()


ARGS = ["--every", "0", "--cap", "400", "--seed", "3"]


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_run_is_consistent_and_the_same_command_completes_it(
    tmp_path, long_face_video, stop
):
    instance = tmp_path / "instance"
    process = run_flask(instance, "extract", str(long_face_video), *ARGS)
    wait_for_crops(instance, 10)
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    if stop == signal.SIGINT:
        assert process.returncode == 130
        assert "Interrupted" in err and "--seed 3" in err
    partial = len(stored_rows(instance))
    assert_consistent(instance)
    # What a kill at the wrong moment leaves: a half-written file of the dead process.
    dead = _dead_pid()
    (instance / "crops" / "video-1" / f".f0000001-0-0-1-1.png.{dead}.tmp").write_bytes(b"")
    assert 0 < partial < 400, "the run was not stopped half-way"

    again = run_flask(instance, "extract", str(long_face_video), *ARGS, "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    summary = json.loads(out)
    assert summary["faces_found"] == 400
    assert summary["crops_added"] == 400 - partial
    assert len(stored_rows(instance)) == 400
    assert_consistent(instance)
    conn = sqlite3.connect(instance / "lookalike.sqlite3")
    runs = conn.execute("SELECT status, crops_added FROM extractions ORDER BY id").fetchall()
    assert [status for status, _ in runs] == ["interrupted", "done"]
    # The stopped run says how many crops it stored, however it was stopped.
    assert runs[0][1] == partial and runs[1][1] == 400 - partial
    assert list((instance / "crops").rglob(".*.tmp")) == []  # a killed writer's leftovers
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
