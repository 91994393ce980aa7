"""The command line: ``flask --app webapp COMMAND`` (or ``lookalike COMMAND``), one module
per group of commands, each calling the same operations as the web pages."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def init_app(app: Flask) -> None:
    from webapp.cli import admin, copy_store, extract, store, training, worker

    for command in (
        store.init_db_command,
        copy_store.copy_store_command,
        extract.extract_command,
        training.train_command,
        training.evaluate_command,
        admin.create_admin_command,
        admin.import_folders_command,
        admin.export_folders_command,
        worker.worker_command,
    ):
        app.cli.add_command(command)


def main() -> None:
    """The ``lookalike`` console script: the same commands as ``flask --app webapp``."""
    from webapp import create_app

    FlaskGroup(create_app=create_app)(prog_name="lookalike")
