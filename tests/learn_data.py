"""Generated training data for the learning tests: no download, no ../shared.

The target is scikit-image's astronaut (Eileen Collins), seen with small random shifts,
rotations, zooms, lighting and noise; everyone else is a face from scikit-image's
``lfw_subset`` (100 faces of different people, shipped inside the package).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from skimage import data

from webapp.learn.model import SearchSpace
from webapp.store.imports import NewImportedCrop, add_imported_crop
from webapp.vision import cv2

# A search small enough for tests to train in a second or two.
SMALL_SEARCH = SearchSpace(n_components=(10,), C=(1.0, 10.0), gamma_factors=(0.2,))


def _astronaut_face() -> np.ndarray:
    grey = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    return grey[30:200, 150:320]


def _jitter(face: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    centre = (face.shape[1] / 2, face.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-8, 8), rng.uniform(0.92, 1.08))
    matrix[:, 2] += rng.uniform(-0.03, 0.03, 2) * face.shape[0]
    moved = cv2.warpAffine(face, matrix, face.shape[::-1], borderMode=cv2.BORDER_REFLECT)
    lit = moved.astype(float) * rng.uniform(0.7, 1.3) + rng.normal(0, 6, moved.shape)
    return cv2.resize(np.clip(lit, 0, 255).astype(np.uint8), (size, size))


def faces_and_labels(
    n_target: int, n_other: int, size: int = 48, seed: int = 0
) -> tuple[list[np.ndarray], list[int]]:
    """``n_target`` astronaut faces (label 1) then ``n_other`` other people (label 0)."""
    rng = np.random.default_rng(seed)
    astronaut = _astronaut_face()
    others = (data.lfw_subset()[:100] * 255).astype(np.uint8)  # the first 100 are faces
    faces = [_jitter(astronaut, rng, size) for _ in range(n_target)]
    for i in range(n_other):
        other = others[i % len(others)]
        faces.append(
            cv2.resize(other, (size, size)) if i < len(others) else _jitter(other, rng, size)
        )
    return faces, [1] * n_target + [0] * n_other


def fill_store(
    conn,
    crops_dir: str | Path,
    n_target: int,
    n_other: int,
    n_not_face: int = 0,
    size: int = 48,
    seed: int = 0,
) -> list[int]:
    """Write generated crops (files and labelled rows) as imports; return their labels."""
    faces, labels = faces_and_labels(n_target, n_other + n_not_face, size, seed)
    names = ["target"] * n_target + ["not_target"] * n_other + ["not_face"] * n_not_face
    folder = Path(crops_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (face, label) in enumerate(zip(faces, names, strict=True)):
        png = cv2.imencode(".png", face)[1].tobytes()
        digest = hashlib.sha256(png + bytes([i % 256, i // 256])).hexdigest()
        cv2.imwrite(str(folder / f"{digest}.png"), cv2.cvtColor(face, cv2.COLOR_GRAY2BGR))
        cv2.imwrite(str(folder / f"{digest}-grey{size}.png"), face)
        crop = NewImportedCrop(
            content_hash=digest,
            source_name=f"generated-{i}.png",
            face_box=(0, 0, size, size),
            crop_box=(0, 0, size, size),
            image_file=f"imports/{digest}.png",
            face_file=f"imports/{digest}-grey{size}.png",
            face_size=size,
        )
        assert add_imported_crop(conn, crop, label)
    return labels
