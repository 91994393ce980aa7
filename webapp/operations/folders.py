"""The tutorial's folder convention, in and out: ``DIR/1`` holds the target, ``DIR/0``
everyone else.

Import detects the largest face of each image and crops it exactly as extraction does
(or, with ``already_cropped``, keeps the whole image as the crop). Files are stored as
``imports/<sha256>.png`` (and ``-grey<size>.png``): names from the content only, so a
file imported twice is refused and nothing already stored changes. Export writes each
labelled crop as ``crop-<id>.png``: stable names, so exporting again updates in place.
No SQL here: the store's functions do the writing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from webapp.operations.crop_files import write_atomic
from webapp.store import imports as import_store
from webapp.store.db import Connection
from webapp.vision.faces import Box, FaceCrop, FaceDetector, crop_faces
from webapp.vision.find import FaceFinder, SecondPass, shared_verifier
from webapp.vision.images import (
    FILE_FORMATS,
    CorruptImage,
    EmptyImage,
    ImageError,
    ImageLimits,
    UnsupportedImage,
    decode_upload,
)

FOLDER_LABELS = {"1": "target", "0": "not_target"}
LABEL_FOLDERS = {label: folder for folder, label in FOLDER_LABELS.items()}
IMPORT_FOLDER = "imports"
MAX_IMAGE_BYTES = 50 * 1024 * 1024
FILE_LIMITS = ImageLimits(max_bytes=MAX_IMAGE_BYTES)
EXPORTED_NAME = re.compile(r"^crop-(\d+)\.png$")


class DatasetError(Exception):
    """The folder cannot be imported or exported as asked; the message is for the user."""


@dataclass
class ImportSummary:
    imported: dict[str, int] = field(default_factory=lambda: {"target": 0, "not_target": 0})
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append({"file": str(path), "reason": reason})

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ExportSummary:
    exported: dict[str, int] = field(default_factory=lambda: {"target": 0, "not_target": 0})
    unchanged: int = 0
    removed: int = 0  # stale crop-<id>.png files of crops now labelled otherwise
    missing: list[int] = field(default_factory=list)  # crops whose image file is gone

    def as_dict(self) -> dict:
        return asdict(self)


def label_folders(folder: Path) -> list[tuple[Path, str]]:
    """``folder/1`` and ``folder/0`` (those that exist) with their labels.

    :raise DatasetError: neither exists.
    """
    found = [(folder / name, label) for name, label in FOLDER_LABELS.items()]
    found = [(path, label) for path, label in found if path.is_dir()]
    if not found:
        raise DatasetError(f"{folder} has no sub-folder 1 (target) or 0 (not target)")
    return found


def decode_image(data: bytes) -> np.ndarray | None:
    """Upright BGR pixels of an image file's bytes, decoded as uploads are (bounded in
    bytes and pixels, EXIF orientation applied) in any of the folder formats; None if it
    is not such an image, or damaged."""
    try:
        return decode_upload(data, FILE_LIMITS, formats=FILE_FORMATS).bgr
    except (EmptyImage, UnsupportedImage, CorruptImage):
        return None


def face_of_image(
    image: np.ndarray,
    *,
    size: int,
    margin: float,
    detector: FaceDetector | None,
) -> FaceCrop | None:
    """The largest face cut out like extraction does; with no detector, the whole image
    is the face (already-cropped images). None when no face is found."""
    if detector is None:
        height, width = image.shape[:2]
        return crop_faces(image, [Box(0, 0, width, height)], size=size, margin=0.0)[0]
    # A photo, like a visitor's: every box verified, a second pass before "no face".
    boxes = FaceFinder(detector, shared_verifier(), SecondPass()).find(image)
    if not boxes:
        return None
    return crop_faces(image, boxes[:1], size=size, margin=margin)[0]


def import_folders(
    conn: Connection,
    crops_dir: str | Path,
    folder: str | Path,
    *,
    size: int,
    margin: float,
    already_cropped: bool = False,
    detector: FaceDetector | None = None,
    progress: Callable[[Path], None] | None = None,
) -> ImportSummary:
    """Import every image of ``folder/1`` as target and ``folder/0`` as not target.

    :raise DatasetError: the folder has neither sub-folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    sources = label_folders(folder)
    if not already_cropped:
        detector = detector or FaceDetector()
    out = Path(crops_dir) / IMPORT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    summary = ImportSummary()
    for source, label in sources:
        for path in sorted(source.iterdir()):
            if progress:
                progress(path)
            if path.name.startswith("."):
                continue
            reason = _import_one(conn, out, path, label, size, margin, detector, already_cropped)
            if reason:
                summary.skip(path, reason)
            else:
                summary.imported[label] += 1
    return summary


def _import_one(
    conn: Connection,
    out: Path,
    path: Path,
    label: str,
    size: int,
    margin: float,
    detector: FaceDetector | None,
    already_cropped: bool,
) -> str | None:
    """Import one file; return why it was skipped, or None once it is stored."""
    if not path.is_file():
        return "not a file"
    if path.stat().st_size > MAX_IMAGE_BYTES:
        return f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror or error}"
    return import_image(
        conn, out, data, path.name, label, size, margin, None if already_cropped else detector
    )


def import_image(
    conn: Connection,
    out: Path,
    data: bytes,
    name: str,
    label: str,
    size: int,
    margin: float,
    detector: FaceDetector | None,
) -> str | None:
    """Store the largest face of an image's bytes as a crop labelled ``label`` (with no
    detector, the whole image is the face); return why it was not, or None once stored.
    ``name`` is only recorded, never used as a path."""
    content_hash = hashlib.sha256(data).hexdigest()
    if import_store.is_imported(conn, content_hash):
        return "already imported (same content)"
    try:
        image = decode_image(data)
    except ImageError as error:  # too large, or too narrow to hold a face
        return str(error).rstrip(".")
    if image is None:
        return "not an image, or damaged"
    face = face_of_image(image, size=size, margin=margin, detector=detector)
    if face is None:
        return "no face found"
    image_name, face_name = f"{content_hash}.png", f"{content_hash}-grey{size}.png"
    write_atomic(out / image_name, face.image_png)
    write_atomic(out / face_name, face.face_png)
    crop = import_store.NewImportedCrop(
        content_hash=content_hash,
        source_name=name,
        face_box=face.face_box.as_tuple(),
        crop_box=face.crop_box.as_tuple(),
        image_file=f"{out.name}/{image_name}",
        face_file=f"{out.name}/{face_name}",
        face_size=size,
    )
    if not import_store.add_imported_crop(conn, crop, label):
        return "already imported (same content)"
    return None


def add_photos(
    conn: Connection,
    crops_dir: str | Path,
    photos: list[tuple[str, bytes]],
    *,
    label: str,
    size: int,
    margin: float,
) -> ImportSummary:
    """Import uploaded photos (name, bytes) as crops of ``label``, as ``import-folders``
    does with a file: the largest face, cropped like extraction's."""
    out = Path(crops_dir) / IMPORT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    detector = FaceDetector()
    summary = ImportSummary()
    for name, data in photos:
        reason = import_image(conn, out, data, name, label, size, margin, detector)
        if reason:
            summary.skipped.append({"file": name, "reason": reason})
        else:
            summary.imported[label] += 1
    return summary


def export_folders(conn: Connection, crops_dir: str | Path, folder: str | Path) -> ExportSummary:
    """Write every crop labelled target or not target as ``folder/1|0/crop-<id>.png``.

    Crops labelled "not a face" are left out. A ``crop-<id>.png`` left in the other
    folder by an earlier export (the label changed since) is removed; other files are
    never touched.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"{folder} exists and is not a folder")
    summary = ExportSummary()
    rows = import_store.labelled_crops(conn, tuple(LABEL_FOLDERS))
    wanted = {row["id"]: LABEL_FOLDERS[row["label"]] for row in rows}
    for name in LABEL_FOLDERS.values():
        (folder / name).mkdir(parents=True, exist_ok=True)
    for row in rows:
        source = Path(crops_dir) / row["image_file"]
        try:
            data = source.read_bytes()
        except OSError:
            summary.missing.append(row["id"])
            continue
        target = folder / wanted[row["id"]] / f"crop-{row['id']}.png"
        if target.is_file() and target.read_bytes() == data:
            summary.unchanged += 1
        else:
            write_atomic(target, data)
        summary.exported[row["label"]] += 1
    summary.removed = _remove_stale(folder, wanted)
    return summary


def _remove_stale(folder: Path, wanted: dict[int, str]) -> int:
    removed = 0
    for name in LABEL_FOLDERS.values():
        for path in (folder / name).iterdir():
            match = EXPORTED_NAME.match(path.name)
            if match and wanted.get(int(match.group(1))) != name:
                path.unlink()
                removed += 1
    return removed
