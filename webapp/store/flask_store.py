"""The store inside the Flask app: one connection per request (or command), on ``g``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

from webapp.store.db import connect, migrate, open_store, schema_version


def get_db() -> sqlite3.Connection:
    """The store of the current app context, opened (and migrated) on first use."""
    if "db" not in g:
        g.db = open_store(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the store or bring its schema up to date; never drops data."""
    path = current_app.config["DATABASE"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        applied = migrate(db)
        version = schema_version(db)
    finally:
        db.close()
    if applied:
        click.echo(f"Applied {', '.join(applied)}: {path} is at schema version {version}.")
    else:
        click.echo(f"{path} is up to date (schema version {version}).")


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
