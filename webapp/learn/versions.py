"""Model versions on disk: one directory per training run inside the models folder.

Each holds ``model.joblib`` (the fitted pipeline) and ``version.json`` (library versions,
extractor, preset, face size, parameters, data counts, scores, timestamps). A version is
written to a hidden temporary directory and renamed into place, so a failed save leaves
nothing half-written. Only directories inside the models folder are ever loaded: joblib
files run code when loaded, so a path from anywhere else is refused.

Reading a version's metadata loads nothing heavy (the admin pages list versions and their
reports); joblib, scikit-learn and OpenCV load with the first version saved or loaded.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
METADATA_FILE = "version.json"
FILES = (MODEL_FILE, METADATA_FILE)  # everything a version's folder holds
DIRECTORY_NAME = re.compile(r"^v\d{8}-\d{6}-[0-9a-f]{6}$")
FORMAT = 1


class VersionError(Exception):
    """A model version cannot be loaded; the message says why and what to do."""


class VersionMissing(VersionError):
    """A version's folder, or one of its files, is not in the models folder."""


@dataclass(frozen=True)
class ModelVersion:
    directory: str
    pipeline: Pipeline
    metadata: dict[str, Any]

    @property
    def extractor(self) -> str:
        return self.metadata["extractor"]

    @property
    def face_size(self) -> int:
        return int(self.metadata["face_size"])

    @property
    def crop_margin(self) -> float:
        return float(self.metadata.get("crop_margin", 0.25))


def library_versions() -> dict[str, str]:
    import numpy as np
    import sklearn

    from webapp.vision import cv2

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "opencv": cv2.__version__}


def save_version(
    models_dir: str | Path,
    pipeline: Pipeline,
    *,
    extractor: str,
    preset: str | None,
    face_size: int,
    report: dict[str, Any],
    started_at: str,
    crop_margin: float = 0.25,
) -> tuple[str, dict[str, Any]]:
    """Write a new version directory; return its name and its metadata."""
    import joblib

    root = Path(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    name = f"v{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    metadata = {
        "format": FORMAT,
        "directory": name,
        "libraries": library_versions(),
        "extractor": extractor,
        "preset": preset,
        "face_size": face_size,
        "crop_margin": crop_margin,
        "params": report.get("best_params", {}),
        "data_counts": report.get("data_counts", {}),
        "report": report,
        "started_at": started_at,
        "created_at": stamp.isoformat(timespec="seconds"),
    }
    tmp = root / f".{name}.tmp"
    tmp.mkdir()
    try:
        joblib.dump(pipeline, tmp / MODEL_FILE)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
        os.rename(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return name, metadata


def version_folder(models_dir: str | Path, directory: str) -> Path:
    """Where the version's folder is or would be, checked to be a version directory inside
    the models folder (it may not exist).

    :raise VersionError: for a name that is not a version or a path leading elsewhere.
    """
    root = Path(models_dir).resolve()
    if not DIRECTORY_NAME.match(directory or ""):
        raise VersionError(f"{directory!r} is not a model version name")
    path = (root / directory).resolve()
    if path.parent != root:  # a symlink pointing out of the models folder
        raise VersionError(f"model version {directory} is not inside the models folder {root}")
    return path


def version_path(models_dir: str | Path, directory: str) -> Path:
    """The version's folder, checked as :func:`version_folder` does, with all its files.

    :raise VersionMissing: the folder or one of its files is not there.
    :raise VersionError: for a name that is not a version or a path leading elsewhere.
    """
    path = version_folder(models_dir, directory)
    if not all((path / name).is_file() for name in FILES):
        raise VersionMissing(f"model version {directory} is missing from {path.parent}: retrain")
    return path


def read_metadata(models_dir: str | Path, directory: str) -> dict[str, Any]:
    """A version's ``version.json``.

    :raise VersionError: missing, outside the models folder, unreadable or not JSON.
    """
    return _metadata(version_path(models_dir, directory))


def _metadata(folder: Path) -> dict[str, Any]:
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise VersionError(
            f"model version {folder.name} has an unreadable {METADATA_FILE}: {error}"
        ) from None
    if not isinstance(metadata, dict) or "extractor" not in metadata:
        raise VersionError(f"model version {folder.name} has a damaged {METADATA_FILE}: retrain")
    return metadata


def check_compatible(metadata: dict[str, Any]) -> None:
    """Refuse a version written by a scikit-learn or numpy this install cannot load.

    Pickled scikit-learn models are only supported by the minor version that wrote them.
    """
    recorded = metadata.get("libraries", {})
    current = library_versions()
    for library, release_parts in (("scikit-learn", 2), ("numpy", 1)):
        saved = recorded.get(library, "unknown")
        if saved.split(".")[:release_parts] != current[library].split(".")[:release_parts]:
            raise VersionError(
                f"model version {metadata.get('directory')} was saved with {library} {saved}"
                f" and this app runs {current[library]}: retrain, or activate a version"
                " trained with this install"
            )


def load_version(models_dir: str | Path, directory: str) -> ModelVersion:
    """Load a version (cached per process: versions never change once written).

    :raise VersionError: missing, outside the models folder, or incompatible.
    """
    path = version_path(models_dir, directory)
    stat = (path / MODEL_FILE).stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


# Modules that moved since versions were first saved, by their old names: a pickled model
# names its classes' modules, so old versions find them under the old name too.
MOVED_MODULES = {"webapp.learn.embeddings": "webapp.learn.features.embeddings"}


def _alias_moved_modules() -> None:
    for old, new in MOVED_MODULES.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int, _size: int) -> ModelVersion:
    import joblib

    folder = Path(path)
    metadata = _metadata(folder)
    check_compatible(metadata)
    _alias_moved_modules()
    try:
        pipeline = joblib.load(folder / MODEL_FILE)
    except Exception as error:  # a truncated or foreign file: say which, not a traceback
        raise VersionError(f"model version {folder.name} could not be read: {error}") from error
    return ModelVersion(folder.name, pipeline, metadata)


def list_directories(models_dir: str | Path) -> list[str]:
    """Version directories present on disk, oldest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if DIRECTORY_NAME.match(p.name) and p.is_dir())
