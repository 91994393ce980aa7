"""What a user asks for, as plain functions on the store and the core: extract a video,
import or export folders, train, describe, score crops and selfies, evaluate. No Flask."""

from __future__ import annotations

from pathlib import Path

from webapp.learn import face_models
from webapp.settings import Settings
from webapp.store import db as store


def configure(settings: Settings) -> None:
    """Point the core at what the settings choose; every process (the app, a command, a
    job's worker) calls this once at start."""
    store.configure(pool_size=settings.database_pool)
    face_models.use_model_folder(settings.face_models)
    face_models.use_cache_folder(Path(settings.instance) / "cache")
