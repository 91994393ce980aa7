"""A model version's files: kept in the store, written out to each host's models folder.

The store keeps every version's files beside its row (:mod:`webapp.store.models`); a
host's models folder is its cache of them. Whatever needs a version on this host (scoring,
the reports, activation, scoring crops, ``evaluate``) asks :func:`ensure_version_folder`
first: a version missing here is written out from the store into a hidden temporary
folder, every file checked against its SHA-256, then renamed into place, so a reader sees
the whole folder or none of it. Only the files a version is made of
(:data:`webapp.learn.versions.FILES`) are written, into a folder whose name is a version's
(:func:`webapp.learn.versions.version_folder`): nothing read from the store is used as a
path unchecked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from webapp.learn import versions
from webapp.learn.versions import ModelVersion, VersionError, VersionMissing
from webapp.operations.processes import left_by_gone_process
from webapp.store import models as model_store
from webapp.store.db import Connection, Row


def folder_files(models_dir: str | Path, directory: str) -> dict[str, bytes]:
    """The files of a version's folder in this host's models folder, by name.

    :raise VersionError: not a version, or missing here. :raise OSError: unreadable.
    """
    path = versions.version_path(models_dir, directory)
    return {name: (path / name).read_bytes() for name in versions.FILES}


def ensure_version_folder(conn: Connection, models_dir: str | Path, directory: str) -> Path:
    """The version's folder in this host's models folder, written out from the store
    first when it is missing or incomplete here.

    :raise VersionMissing: neither here nor in the store (a version trained before the
        store kept files, on another host).
    :raise VersionError: not a version name, a path leading out of the models folder, a
        file damaged in the store, or a models folder that cannot be written.
    """
    try:
        return versions.version_path(models_dir, directory)
    except VersionMissing as missing:
        stored = model_store.model_files(conn, directory)
        if not stored:
            raise VersionMissing(
                f"{str(missing).removesuffix(': retrain')} and its files are not in the store:"
                " retrain"
            ) from None
    _write_out(versions.version_folder(models_dir, directory), _checked(directory, stored))
    return versions.version_path(models_dir, directory)


def load_version(conn: Connection, models_dir: str | Path, directory: str) -> ModelVersion:
    """A version, loaded from this host's models folder (written out from the store first
    if needed).

    :raise VersionError: as :func:`ensure_version_folder` and
        :func:`webapp.learn.versions.load_version` say.
    """
    ensure_version_folder(conn, models_dir, directory)
    return versions.load_version(models_dir, directory)


def read_metadata(conn: Connection, models_dir: str | Path, directory: str) -> dict[str, Any]:
    """A version's ``version.json``, from this host's models folder (written out from the
    store first if needed).

    :raise VersionError: as :func:`ensure_version_folder` and
        :func:`webapp.learn.versions.read_metadata` say.
    """
    ensure_version_folder(conn, models_dir, directory)
    return versions.read_metadata(models_dir, directory)


def publish_model_files(conn: Connection, models_dir: str | Path) -> list[int]:
    """Put into the store the files of every version it keeps none of, read from this
    host's models folder (versions trained before the store kept files); the ids of the
    versions published. A version this host lacks too is left as it is."""
    published = []
    for row in model_store.versions_without_files(conn):
        try:
            files = folder_files(models_dir, row["directory"])
        except (VersionError, OSError):
            continue
        if model_store.add_model_files(conn, row["id"], files):
            published.append(row["id"])
    return published


def _checked(directory: str, stored: list[Row]) -> dict[str, bytes]:
    """The stored files by name, each a version's file and matching its SHA-256.

    :raise VersionError: a foreign name, a damaged file or a missing one.
    """
    files = {}
    for row in stored:
        name, content = row["name"], bytes(row["content"])
        if name not in versions.FILES:
            raise VersionError(
                f"model version {directory} has a file {name!r} in the store that no version"
                " holds: retrain"
            )
        if hashlib.sha256(content).hexdigest() != row["sha256"]:
            raise VersionError(
                f"model version {directory} is damaged in the store: its {name} does not"
                " match its SHA-256; retrain, or activate another version"
            )
        files[name] = content
    lacking = [name for name in versions.FILES if name not in files]
    if lacking:
        raise VersionError(
            f"model version {directory} is incomplete in the store (no {', '.join(lacking)}):"
            " retrain"
        )
    return files


def _write_out(path: Path, files: dict[str, bytes]) -> None:
    """Write a version's folder at ``path`` atomically: a hidden temporary folder renamed
    into place (an incomplete folder there is moved aside first). Another process of this
    host writing the same version at once is no harm: the first rename wins.

    :raise VersionError: the models folder cannot be written (full, read-only).
    """
    root, directory = path.parent, path.name
    token = f"{secrets.token_hex(3)}.{os.getpid()}"
    tmp, aside = root / f".{directory}.{token}.tmp", root / f".{directory}.{token}.old"
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(root, directory)
        tmp.mkdir()
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        if path.exists():
            with contextlib.suppress(FileNotFoundError):  # another process moved it first
                os.rename(path, aside)
        try:
            os.rename(tmp, path)
        except OSError:
            if not all((path / name).is_file() for name in versions.FILES):
                raise
            # another process renamed its complete copy into place first
    except OSError as error:
        raise VersionError(
            f"model version {directory} could not be written to {root}: {error.strerror or error}"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)


def _remove_abandoned(root: Path, directory: str) -> None:
    """Remove the temporary folders a killed process left while writing this version
    (their names end with its process id; a living writer's are kept)."""
    for leftover in root.glob(f".{directory}.*.*"):
        if left_by_gone_process(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
