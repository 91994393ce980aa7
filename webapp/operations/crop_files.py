"""Crop files: the one owner of where a crop's pictures are and how they are written.

A crop's two pictures (the colour crop with its margin, the greyscale model input) live
under the crops folder at the relative paths the store keeps. They are written atomically,
so a reader (or a run killed half-way) sees the old file or the new one, never half.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from webapp.learn.features import FaceInImage
from webapp.learn.model import TARGET
from webapp.operations.processes import left_by_gone_process
from webapp.vision import cv2


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so readers see the old content or the new, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_abandoned_files(folder: Path) -> int:
    """Delete the temporary files a killed writer left in ``folder`` (their names carry the
    writer's process id; a living writer's are kept). Returns how many were removed."""
    removed = 0
    for path in folder.glob(".*.tmp"):
        if left_by_gone_process(path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def labels_of(rows: list[Any]) -> list[int]:
    """The training label (1 target, 0 not) of each labelled crop row."""
    return [TARGET if row["label"] == "target" else 0 for row in rows]


def load_crop_images(
    crops_dir: str | Path, rows: list[Any], reads: str, face_size: int
) -> tuple[list[np.ndarray], list[int], list[int]]:
    """The crops' images in the form the extractor reads; (images, labels, crop ids).

    Greyscale model inputs of another size (extracted with other settings) are resized to
    ``face_size``. Crops whose files are missing or unreadable are left out.
    """
    images, labels, ids = [], [], []
    for row in rows:
        name = row["image_file"] if reads == "image" else row["face_file"]
        flag = cv2.IMREAD_COLOR if reads == "image" else cv2.IMREAD_GRAYSCALE
        image = cv2.imread(str(Path(crops_dir) / name), flag)
        if image is None:
            continue
        if reads == "face" and image.shape != (face_size, face_size):
            image = cv2.resize(image, (face_size, face_size), interpolation=cv2.INTER_AREA)
        images.append(image)
        labels.extend(labels_of([row]))
        ids.append(row["id"])
    return images, labels, ids


def face_in_crop(crops_dir: Path, row: Any) -> FaceInImage | None:
    """The crop's colour image and where the face is in it, or None if its file is gone."""
    image = cv2.imread(str(crops_dir / row["image_file"]), cv2.IMREAD_COLOR)
    if image is None:
        return None
    # The face box inside the stored crop: exact even where the crop was clipped at the
    # frame's edge (its margin is then smaller on that side).
    x, y = row["face_x"] - row["crop_x"], row["face_y"] - row["crop_y"]
    height, width = image.shape[:2]
    if (width, height) != (row["crop_w"], row["crop_h"]):  # an image stored at another size
        sx, sy = width / row["crop_w"], height / row["crop_h"]
        box = (round(x * sx), round(y * sy), round(row["face_w"] * sx), round(row["face_h"] * sy))
    else:
        box = (x, y, row["face_w"], row["face_h"])
    return FaceInImage(image, box)
