"""``flask --app webapp init-db``: create the store or bring its schema up to date."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.store.db import connect, describe, migrate, schema_version


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the store or bring its schema up to date; never drops data."""
    path = current_app.config["DATABASE"]
    db = connect(path, pooled=False)
    try:
        applied = migrate(db)
        version = schema_version(db)
    finally:
        db.close()
    shown = describe(path)  # a PostgreSQL URL without its password
    if applied:
        click.echo(f"Applied {', '.join(applied)}: {shown} is at schema version {version}.")
    else:
        click.echo(f"{shown} is up to date (schema version {version}).")
