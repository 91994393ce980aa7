"""Folders in and out: import-folders (DIR/1 target, DIR/0 not target) and export-folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import new_app
from webapp.context import get_db
from webapp.store import labels
from webapp.vision import cv2
from webapp.vision.faces import FaceDetector, crop_faces


def write_image(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture
def folders(tmp_path, astronaut_bgr) -> Path:
    """1/ three faces (one a JPEG), 0/ one face plus files that must be skipped."""
    root = tmp_path / "dataset"
    write_image(root / "1" / "astronaut.png", astronaut_bgr)
    write_image(root / "1" / "mirrored.png", cv2.flip(astronaut_bgr, 1))
    write_image(root / "1" / "small.jpg", cv2.resize(astronaut_bgr, (400, 400)))
    write_image(root / "0" / "shifted.png", np.roll(astronaut_bgr, 9, axis=1))
    write_image(root / "0" / "blank.png", np.full((200, 200, 3), 128, np.uint8))
    (root / "0" / "copy.png").write_bytes((root / "1" / "astronaut.png").read_bytes())
    (root / "0" / "notes.txt").write_text("not an image")
    (root / "0" / "empty.png").write_bytes(b"")
    (root / "0" / "broken.png").write_bytes((root / "1" / "astronaut.png").read_bytes()[:200])
    (root / "0" / "sub").mkdir()
    (root / "0" / ".DS_Store").write_bytes(b"\0\0")
    (root / "ignored").mkdir()
    return root


def crops_by_label(app) -> dict[str, list]:
    with app.app_context():
        rows = get_db().execute("SELECT * FROM crops ORDER BY id").fetchall()
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row["label"], []).append(row)
    return found


def test_import_folders(app, runner, folders, astronaut_bgr):
    result = runner.invoke(args=["import-folders", str(folders), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["imported"] == {"target": 3, "not_target": 1}
    reasons = {Path(s["file"]).name: s["reason"] for s in summary["skipped"]}
    assert reasons == {
        "blank.png": "no face found",
        "copy.png": "already imported (same content)",
        "notes.txt": "not an image, or damaged",
        "empty.png": "not an image, or damaged",
        "broken.png": "not an image, or damaged",
        "sub": "not a file",
    }
    stored = crops_by_label(app)
    assert [row["source_name"] for row in stored["target"]] == [
        "astronaut.png",
        "mirrored.png",
        "small.jpg",
    ]
    # Cropped exactly as extraction crops: the same detector and crop_faces, same settings.
    first = stored["target"][0]
    expected = crop_faces(
        astronaut_bgr,
        FaceDetector().detect(astronaut_bgr)[:1],
        size=app.config["FACE_SIZE"],
        margin=app.config["CROP_MARGIN"],
    )[0]
    crops_dir = Path(app.config["CROPS_DIR"])
    assert (crops_dir / first["image_file"]).read_bytes() == expected.image_png
    assert (crops_dir / first["face_file"]).read_bytes() == expected.face_png
    assert first["image_file"] == f"imports/{first['content_hash']}.png"
    assert (first["face_x"], first["face_y"], first["face_w"], first["face_h"]) == (
        expected.face_box.as_tuple()
    )
    with app.app_context():
        history = labels.label_history(get_db(), first["id"])
    assert [(h["user_id"], h["old_label"], h["new_label"]) for h in history] == [
        (None, None, "target")
    ]


def test_import_twice_changes_nothing(app, runner, folders, tmp_path):
    assert runner.invoke(args=["import-folders", str(folders)]).exit_code == 0
    before = crops_by_label(app)
    # The same files again, even moved to the other folder: all skipped, labels unchanged.
    swapped = tmp_path / "swapped"
    for name, other in (("1", "0"), ("0", "1")):
        for path in (folders / name).glob("*.*"):
            write_to = swapped / other / path.name
            write_to.parent.mkdir(parents=True, exist_ok=True)
            write_to.write_bytes(path.read_bytes())
    result = runner.invoke(args=["import-folders", str(swapped)])
    assert result.exit_code == 0, result.output
    assert "Imported 0 target and 0 not-target crops" in result.output
    assert "already imported" in result.output
    after = crops_by_label(app)
    assert {k: [dict(r) for r in v] for k, v in after.items()} == {
        k: [dict(r) for r in v] for k, v in before.items()
    }


def test_import_already_cropped(app, runner, folders):
    result = runner.invoke(args=["import-folders", str(folders), "--crops", "--json"])
    summary = json.loads(result.output)
    # A blank image is stored as it is: with --crops nothing is detected.
    assert summary["imported"] == {"target": 3, "not_target": 2}
    small = next(r for r in crops_by_label(app)["target"] if r["source_name"] == "small.jpg")
    assert (small["face_x"], small["face_y"], small["face_w"], small["face_h"]) == (0, 0, 400, 400)
    assert (small["crop_w"], small["crop_h"]) == (400, 400)
    stored = cv2.imread(str(Path(app.config["CROPS_DIR"]) / small["image_file"]))
    original = cv2.imread(str(folders / "1" / "small.jpg"))
    assert np.array_equal(stored, original)


def test_import_refuses_a_folder_without_0_or_1(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(args=["import-folders", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "no sub-folder 1" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(args=["import-folders", str(tmp_path / "missing")])
    assert missing.exit_code != 0


def label_some(app) -> dict[int, str]:
    """Label the first seven extracted crops (distinct frames), one left unlabelled."""
    chosen = {1: "target", 2: "target", 3: "target", 4: "not_target", 5: "not_target"}
    with app.app_context():
        db = get_db()
        labels.set_labels(db, 1, {**chosen, 6: "not_face"})
    return chosen


def pixels(path: Path) -> bytes:
    return cv2.imread(str(path)).tobytes()


def test_export_folders(labelling_app, tmp_path):
    runner = labelling_app.test_cli_runner()
    chosen = label_some(labelling_app)
    out = tmp_path / "out"
    result = runner.invoke(args=["export-folders", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["exported"] == {"target": 3, "not_target": 2}
    assert sorted(p.name for p in (out / "1").iterdir()) == [
        "crop-1.png",
        "crop-2.png",
        "crop-3.png",
    ]
    assert sorted(p.name for p in (out / "0").iterdir()) == ["crop-4.png", "crop-5.png"]
    crops_dir = Path(labelling_app.config["CROPS_DIR"])
    with labelling_app.app_context():
        image_file = labels.get_crop(get_db(), 1)["image_file"]
    assert (out / "1" / "crop-1.png").read_bytes() == (crops_dir / image_file).read_bytes()

    # Relabel and export again: files move, stale ones go, other files stay.
    (out / "1" / "mine.png").write_bytes(b"keep me")
    with labelling_app.app_context():
        labels.set_labels(get_db(), 1, {1: "not_target", 2: "not_face"})
    again = json.loads(runner.invoke(args=["export-folders", str(out), "--json"]).output)
    assert again["exported"] == {"target": 1, "not_target": 3}
    assert again["removed"] == 2 and again["unchanged"] == 3
    assert sorted(p.name for p in (out / "1").iterdir()) == ["crop-3.png", "mine.png"]
    assert sorted(p.name for p in (out / "0").iterdir()) == [
        "crop-1.png",
        "crop-4.png",
        "crop-5.png",
    ]
    assert chosen


def test_round_trip_gives_the_same_labels(labelling_app, app, tmp_path):
    """Export from one instance, import into a fresh one: the same crops, the same labels."""
    label_some(labelling_app)
    out = tmp_path / "out"
    assert labelling_app.test_cli_runner().invoke(args=["export-folders", str(out)]).exit_code == 0
    exported = {
        label: sorted(pixels(p) for p in (out / folder).iterdir())
        for folder, label in (("1", "target"), ("0", "not_target"))
    }

    result = app.test_cli_runner().invoke(args=["import-folders", str(out), "--crops", "--json"])
    assert json.loads(result.output) == {
        "imported": {"target": 3, "not_target": 2},
        "skipped": [],
    }
    crops_dir = Path(app.config["CROPS_DIR"])
    imported = {
        label: sorted(pixels(crops_dir / row["image_file"]) for row in rows)
        for label, rows in crops_by_label(app).items()
    }
    assert imported == exported

    # Without --crops each exported crop is detected again: the labels still come back.
    fresh = new_app(tmp_path / "fresh")
    detected = fresh.test_cli_runner().invoke(args=["import-folders", str(out), "--json"])
    assert json.loads(detected.output)["imported"] == {"target": 3, "not_target": 2}
