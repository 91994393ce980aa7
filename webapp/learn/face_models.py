"""Where face embeddings' model files are, and whether they can be used here.

dlib's two model files (``shape_predictor_5_face_landmarks.dat``,
``dlib_face_recognition_resnet_model_v1.dat``) ship in the PyPI package
``face-recognition-models``; dlib comes as wheels in ``dlib-bin``. The files are found
through the package's folder, never by importing it (its ``__init__`` imports
``pkg_resources``, gone from recent setuptools), or in the folder the FACE_MODELS setting
names (:func:`use_model_folder`). Nothing is downloaded: without them,
:func:`model_problem` says what is missing and how to add it, and the app trains with
eigenfaces.

This module loads neither dlib nor numpy: every process points it at its folders when it
starts (``webapp.operations.configure``), and the dashboard asks it what is missing,
without paying for the libraries that describe faces
(:mod:`webapp.learn.features.embeddings`).
"""

from __future__ import annotations

import importlib.util
import tempfile
from functools import lru_cache
from pathlib import Path

DESCRIPTOR_MODEL = "dlib-resnet-v1"  # what the store keeps descriptors under
SHAPE_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
PACKAGE = "face_recognition_models"
INSTALL = ".venv/bin/pip install dlib-bin face-recognition-models"

_chosen_folder: Path | None = None
_cache_folder: Path | None = None


def use_model_folder(folder: str | Path | None) -> None:
    """Look for dlib's model files in ``folder`` (the FACE_MODELS setting) instead of the
    installed package; None goes back to the package. Set once per process at start."""
    global _chosen_folder
    _chosen_folder = Path(folder) if folder else None


def use_cache_folder(folder: str | Path | None) -> None:
    """Keep the converted ResNet in ``folder`` (the app's: ``<instance>/cache``); None: a
    folder in the system's temporary directory."""
    global _cache_folder
    _cache_folder = Path(folder) if folder else None


def cache_folder() -> Path:
    """Where the converted ResNet is kept (see :func:`use_cache_folder`)."""
    return _cache_folder or Path(tempfile.gettempdir()) / "lookalike-cache"


def model_folder() -> Path | None:
    """The folder holding the model files: the one chosen with :func:`use_model_folder`,
    else the ``models`` folder of the installed ``face-recognition-models`` package (found
    without importing it), else None."""
    if _chosen_folder is not None:
        return _chosen_folder
    return _package_folder()


@lru_cache(maxsize=1)
def _package_folder() -> Path | None:
    """The installed package's ``models`` folder, looked up once per process: the search
    walks ``sys.path`` and every scored photo asks."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _dlib_missing() -> bool:
    return importlib.util.find_spec("dlib") is None


def model_problem() -> str | None:
    """Why face embeddings cannot be used here (what is missing, how to add it), or None."""
    missing = []
    if _dlib_missing():
        missing.append("the dlib library")
    folder = model_folder()
    files = [n for n in (SHAPE_FILE, RESNET_FILE) if not (folder and (folder / n).is_file())]
    if files:
        where = f" (looked in {folder})" if folder else ""
        missing.append(f"dlib's model files {' and '.join(files)}{where}")
    if not missing:
        return None
    return (
        f"Face embeddings are not available: {' and '.join(missing)} not installed."
        f" Add them with `{INSTALL}` in the app's environment and restart it;"
        " until then training uses eigenfaces."
    )
