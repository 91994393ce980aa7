"""Which model version visitors are scored with, as this process sees it.

Apart from scoring (:mod:`webapp.operations.selfies`, which loads OpenCV and
scikit-learn) because every app builds one when it starts (``webapp.web.public``): a
version, and the libraries it needs, load when it is first asked for.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from webapp.learn.versions import ModelVersion, VersionError
from webapp.operations import model_files
from webapp.store import models as model_store
from webapp.store.db import Connection

log = logging.getLogger(__name__)


class ActiveModel:
    """This process's copy of the active model version, re-checked in the store every few
    seconds: a newly activated version is picked up without a restart, and every worker
    of every host agrees with the store, not with each other. Loading happens once per
    version; a version this host's models folder lacks is written out from the store
    first (:mod:`webapp.operations.model_files`)."""

    def __init__(self, models_dir: str | Path, check_seconds: float = 2.0) -> None:
        self.models_dir = models_dir
        self.check_seconds = check_seconds
        self.problem: str | None = None  # why the active version could not be loaded
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._directory: str | None = None
        self._version: ModelVersion | None = None
        self.version_id: int | None = None  # the active version's id in the store

    def current(self, conn: Connection) -> ModelVersion | None:
        """The active version, or None when there is none (or it cannot be loaded)."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self.check_seconds:
                self._refresh(conn)
            return self._version

    def _refresh(self, conn: Connection) -> None:
        row = model_store.get_active_model_version(conn)
        directory = row["directory"] if row else None
        self._checked_at = time.monotonic()
        self.version_id = row["id"] if row else None
        if directory == self._directory and self.problem is None:
            return  # loaded already (a version that failed is tried again: files come back)
        self._directory, self._version, self.problem = directory, None, None
        if directory is None:
            return
        try:
            self._version = model_files.load_version(conn, self.models_dir, directory)
        except VersionError as error:
            self.problem = str(error)
            log.error("the active model version cannot be used: %s", error)
