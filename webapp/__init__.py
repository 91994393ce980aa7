"""Look-alike: scrape a movie for faces, label them, train a model, score selfies.

``create_app`` builds the Flask app. Settings come, in order, from the defaults below,
``<instance>/config.py``, environment variables ``LOOKALIKE_<SETTING>``, then the test
config. ``LOOKALIKE_INSTANCE`` and ``LOOKALIKE_MODELS`` choose the instance and model folders.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"


def instance_folder() -> Path:
    """The instance folder: ``$LOOKALIKE_INSTANCE``, else ``./instance``, made absolute."""
    return Path(os.environ.get("LOOKALIKE_INSTANCE") or "instance").resolve()


def models_folder() -> Path:
    """The model folder: ``$LOOKALIKE_MODELS``, else ``./models``, made absolute."""
    return Path(os.environ.get("LOOKALIKE_MODELS") or "models").resolve()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, store, blueprints, commands."""
    instance = Path(test_config["INSTANCE"]) if test_config and "INSTANCE" in test_config else None
    instance = (instance or instance_folder()).resolve()
    app = Flask(
        __name__,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(
        DATABASE=str(instance / "lookalike.sqlite3"),
        CROPS_DIR=str(instance / "crops"),
        MODELS_DIR=str(models_folder()),
        TARGET_NAME="the target",
        # Extraction defaults, the tutorial's: model input 224x224 greyscale.
        FACE_SIZE=224,
        CROP_MARGIN=0.25,
        # Features a training run uses when none is chosen; None: the best available
        # (face-embeddings when dlib and its model files are installed, else eigenfaces).
        EXTRACTOR=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Request bodies; a photo is also checked against its own limits below.
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_PHOTO_BYTES=15 * 1024 * 1024,
        MAX_PHOTO_PIXELS=50_000_000,
        SCORE_RATE_LIMIT=30,  # photos per client address per window; 0 turns it off
        SCORE_RATE_WINDOW=60,  # seconds
        MODEL_CHECK_SECONDS=2.0,  # how soon workers see a newly activated model
        # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host.
        # 0 (the default) trusts none of them, so clients cannot fake their address.
        PROXY_FIX=0,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LOOKALIKE")
    # Read by create-admin from the environment itself; never kept in the app's config.
    app.config.pop("ADMIN_PASSWORD", None)
    if test_config:
        app.config.from_mapping(test_config)

    instance.mkdir(parents=True, exist_ok=True)
    Path(app.config["CROPS_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)

    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from webapp import admin_cli, auth, cli, training_cli, views
    from webapp.store import flask_store

    flask_store.init_app(app)
    auth.init_app(app)
    views.init_app(app)
    cli.init_app(app)
    training_cli.init_app(app)
    admin_cli.init_app(app)
    return app


def _instance_secret_key(instance: Path) -> str:
    """Read the instance's secret key, generating it (owner-only file) on first start.

    Several gunicorn workers may start at once: the key is written to a temporary file
    and linked into place, so they all end up with the one that won.
    """
    path = instance / SECRET_KEY_FILE
    if not path.exists():
        tmp = instance / f".{SECRET_KEY_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
