"""What a request or a command has at hand: its settings and one store connection, on ``g``.

The store is brought up to date once per process: when the app starts, or, if the store
could not be opened then, at the first connection that succeeds (and by ``init-db``).
Every other request only connects.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g

from webapp.settings import Settings
from webapp.store.db import (
    Connection,
    DatabaseError,
    connect,
    describe,
    open_store,
    prepare,
)

log = logging.getLogger(__name__)


def get_settings() -> Settings:
    """The settings of the current app."""
    return current_app.extensions["lookalike.settings"]


def get_db() -> Connection:
    """The store of the current app context, connected on first use.

    :raise DatabaseError: the store cannot be opened.
    """
    if "db" not in g:
        state = current_app.extensions["lookalike.store"]
        if state["migrated"]:
            g.db = connect(current_app.config["DATABASE"])
        else:
            g.db = open_store(current_app.config["DATABASE"])
            state["migrated"] = True
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    state = app.extensions["lookalike.store"] = {"migrated": False}
    try:
        prepare(app.config["DATABASE"])
        state["migrated"] = True
    except DatabaseError as error:  # requests answer 503 until it can be opened
        log.error("the store %s cannot be opened: %s", describe(app.config["DATABASE"]), error)
    app.teardown_appcontext(close_db)
