"""Look-alike: scrape a movie for faces, label them, train a model, score selfies.

``create_app`` builds the Flask app from the settings :mod:`webapp.settings` loads
(defaults, ``<instance>/config.py``, ``LOOKALIKE_*`` variables, then ``test_config``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webapp import operations
from webapp.settings import Settings, load_config

if TYPE_CHECKING:  # Flask is imported by create_app: the job worker never loads it
    from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, store (migrated once, here), blueprints, commands."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    config = load_config(test_config)
    instance = Path(config["INSTANCE"])
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config)
    instance.mkdir(parents=True, exist_ok=True)
    Path(app.config["CROPS_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)
    settings = Settings.from_config(app.config)
    app.extensions["lookalike.settings"] = settings
    operations.configure(settings)

    if settings.proxy_fix:
        hops = settings.proxy_fix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from webapp import cli, context, web

    context.init_app(app)
    web.init_app(app)
    cli.init_app(app)
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
