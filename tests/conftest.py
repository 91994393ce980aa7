"""Shared fixtures: every test gets its own instance folder, store and models folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from webapp import create_app
from webapp.vision import cv2


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE": str(tmp_path / "instance"),
            "MODELS_DIR": str(tmp_path / "models"),
        }
    )
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """A real photo with one frontal face (scikit-image's astronaut, Eileen Collins)."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """Write BGR frames as an MJPG AVI (every OpenCV build can write and read it)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def face_and_blank_frames(face: np.ndarray, count: int, face_frames: set[int]) -> list[np.ndarray]:
    """``count`` frames of the face's size: the face (shifted a little each time) where the
    index is in ``face_frames``, an empty grey picture elsewhere."""
    blank = np.full_like(face, 128)
    return [np.roll(face, i % 7, axis=1) if i in face_frames else blank for i in range(count)]


@pytest.fixture(scope="session")
def face_video(tmp_path_factory, astronaut_bgr) -> Path:
    """A 60-frame video: frames 0-29 show the astronaut's face, 30-59 nothing."""
    frames = face_and_blank_frames(astronaut_bgr, 60, set(range(30)))
    return write_video(tmp_path_factory.mktemp("video") / "face.avi", frames)


@pytest.fixture(scope="session")
def blank_video(tmp_path_factory, astronaut_bgr) -> Path:
    """A 30-frame video with no face at all."""
    frames = face_and_blank_frames(astronaut_bgr, 30, set())
    return write_video(tmp_path_factory.mktemp("video") / "blank.avi", frames)
