"""`flask extract`: the whole extraction through the command line, on generated videos."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from webapp.operations.extraction import extract_faces
from webapp.store import db
from webapp.vision import cv2
from webapp.vision.video import Sampling


def extract(runner, *args):
    return runner.invoke(args=["extract", *map(str, args)])


def store_snapshot(app) -> tuple:
    """Everything a user could see of the store: each table's rows and the crop files."""
    conn = db.open_store(app.config["DATABASE"])  # a new instance's store: its empty tables
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    rows = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in sorted(tables)}
    conn.close()
    files = sorted(p.name for p in Path(app.config["CROPS_DIR"]).rglob("*") if p.is_file())
    return rows, files


def crops(app) -> list[sqlite3.Row]:
    conn = db.connect(app.config["DATABASE"])
    return conn.execute("SELECT * FROM crops ORDER BY frame_index").fetchall()


def test_extract_stores_every_face_crop(runner, app, face_video):
    result = extract(runner, face_video, "--every", "4", "--cap", "100", "--seed", "7", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    kept = [i for i in Sampling(0, 4, 100, 7).kept_frames() if i < 60]
    with_face = [i for i in kept if i < 30]
    assert summary["frames_in_file"] == 60
    assert summary["frames_read"] == 60
    assert summary["frames_kept"] == len(kept)
    assert summary["faces_found"] == len(with_face)
    assert summary["crops_added"] == len(with_face)
    assert summary["seconds"] > 0
    rows = crops(app)
    assert [r["frame_index"] for r in rows] == with_face
    folder = Path(app.config["CROPS_DIR"])
    for row in rows:
        assert row["video_id"] == summary["video_id"]
        assert row["time_ms"] == row["frame_index"] * 40
        colour = cv2.imread(str(folder / row["image_file"]), cv2.IMREAD_UNCHANGED)
        grey = cv2.imread(str(folder / row["face_file"]), cv2.IMREAD_UNCHANGED)
        assert colour.shape == (row["crop_h"], row["crop_w"], 3)
        assert grey.shape == (224, 224)
        assert row["face_w"] < row["crop_w"]


def test_size_option_sets_the_model_input_side(runner, app, face_video):
    result = extract(runner, face_video, "--every", "10", "--seed", "1", "--size", "64")
    assert result.exit_code == 0, result.output
    [row, *_] = crops(app)
    grey = cv2.imread(str(Path(app.config["CROPS_DIR"]) / row["face_file"]), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (64, 64)


def test_text_summary(runner, face_video):
    result = extract(runner, face_video, "--offset", "10", "--every", "5", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "60 frames in the file" in result.output
    assert "crops added" in result.output


def test_running_twice_adds_no_duplicates(runner, app, face_video):
    args = (face_video, "--every", "3", "--seed", "11", "--json")
    first = json.loads(extract(runner, *args).output)
    second = json.loads(extract(runner, *args).output)
    assert first["crops_added"] > 0
    assert second["faces_found"] == first["faces_found"]
    assert second["crops_added"] == 0
    assert second["video_id"] == first["video_id"]
    assert len(crops(app)) == first["crops_added"]


def test_a_video_without_faces_says_so(runner, app, blank_video):
    result = extract(runner, blank_video, "--every", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "0 faces found" in result.output
    assert "No faces were found" in result.output
    assert crops(app) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--offset", "-1"], "--offset"),
        (["--every", "-3"], "--every"),
        (["--every", "1000000000"], "--every"),
        (["--cap", "0"], "--cap"),
        (["--size", "5"], "--size"),
        (["--size", "100000"], "--size"),
        (["--seed", "-2"], "--seed"),
        (["--offset", "60"], "past the end of the video (60 frames)"),
        (["--offset", "abc"], "--offset"),
    ],
)
def test_bad_options_are_refused_and_change_nothing(runner, app, face_video, args, message):
    before = store_snapshot(app)
    result = extract(runner, face_video, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert store_snapshot(app) == before


def test_bad_files_are_refused_and_change_nothing(runner, app, face_video, tmp_path):
    not_video = tmp_path / "film.mp4"
    not_video.write_bytes(b"\x00\x01 not a movie" * 1000)
    truncated = tmp_path / "cut.avi"
    truncated.write_bytes(face_video.read_bytes()[:200_000])
    cases = [
        (tmp_path / "missing.mp4", "no such file"),
        (not_video, "not a video"),
        (truncated, "truncated"),
        (tmp_path, "not a file"),
    ]
    before = store_snapshot(app)
    for path, message in cases:
        result = extract(runner, path)
        assert result.exit_code == 1, (path, result.output)
        [line] = result.output.strip().splitlines()
        assert line.startswith("Error: ") and message in line
        assert store_snapshot(app) == before


def test_an_interrupted_run_leaves_whole_frames_and_a_rerun_completes(app, face_video):
    conn = db.open_store(app.config["DATABASE"])
    crops_dir = app.config["CROPS_DIR"]
    sampling = Sampling(offset=0, every=1, cap=100, seed=5)
    seen = []

    def stop_after_three_frames(total, stats):
        seen.append(stats.frames_kept)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_faces(conn, crops_dir, face_video, sampling, progress=stop_after_three_frames)
    run = conn.execute("SELECT * FROM extractions").fetchone()
    assert run["status"] == "interrupted"
    partial = conn.execute("SELECT * FROM crops").fetchall()
    assert 1 <= len(partial) < 15
    for row in partial:  # every stored row has both of its files
        assert (Path(crops_dir) / row["image_file"]).is_file()
        assert (Path(crops_dir) / row["face_file"]).is_file()

    summary = extract_faces(conn, crops_dir, face_video, sampling)
    full = conn.execute("SELECT frame_index FROM crops ORDER BY frame_index").fetchall()
    expected = [i for i in sampling.kept_frames() if i < 30]
    assert [r[0] for r in full] == expected
    assert summary.crops_added == len(expected) - len(partial)


def test_a_video_that_breaks_mid_way_leaves_the_store_as_it_was(runner, app, face_video, tmp_path):
    """Its index is whole (the up-front check passes) but the middle of the file is
    garbage: decoding stops early, the run fails and removes the crops it had added."""
    data = bytearray(face_video.read_bytes())
    start, end = len(data) // 3, len(data) // 2
    data[start:end] = np.random.default_rng(0).integers(0, 256, end - start, np.uint8).tobytes()
    broken = tmp_path / "broken.avi"
    broken.write_bytes(bytes(data))
    before = store_snapshot(app)
    result = extract(runner, broken, "--every", "0", "--seed", "1")
    assert result.exit_code == 1
    assert "damaged or truncated" in result.output
    conn = db.connect(app.config["DATABASE"])
    assert conn.execute("SELECT COUNT(*) FROM crops").fetchone()[0] == 0
    assert not any(Path(app.config["CROPS_DIR"]).rglob("*.png"))
    assert conn.execute("SELECT status FROM extractions").fetchone()[0] == "failed"
    rows, _ = before
    assert rows["crops"] == []
