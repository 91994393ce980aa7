"""Admin and dataset commands: ``create-admin``, ``import-folders``, ``export-folders``."""

from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.context import get_db, get_settings
from webapp.operations.admins import check_new_password, hash_password, unlock
from webapp.store import users

PASSWORD_ENV = "LOOKALIKE_ADMIN_PASSWORD"


def _new_password() -> str:
    """From $LOOKALIKE_ADMIN_PASSWORD (scripts), else asked twice without echo."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_new_password(password)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    return password


@click.command("create-admin")
@click.argument("name")
@click.option(
    "--reset-password",
    is_flag=True,
    help="Give an existing admin a new password (unlocks, ends their sessions).",
)
@with_appcontext
def create_admin_command(name: str, reset_password: bool) -> None:
    """Add an admin who can log in at /admin/ (password asked, or $LOOKALIKE_ADMIN_PASSWORD)."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise click.ClickException("the name must have 1 to 64 characters")
    db = get_db()
    exists = users.find_user(db, name) is not None
    if exists and not reset_password:
        raise click.ClickException(
            f"an admin named {name!r} already exists (use --reset-password to change it)"
        )
    if not exists and reset_password:
        raise click.ClickException(f"there is no admin named {name!r}")
    password_hash = hash_password(_new_password())
    if reset_password:
        users.set_password_hash(db, name, password_hash)
        unlock(db, name, secret=current_app.config["SECRET_KEY"])
        click.echo(f"New password set for admin {name}; their sessions are ended.")
    else:
        users.create_user(db, name, password_hash)
        click.echo(f"Admin {name} created: log in at /admin/login.")


@click.command("import-folders")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option(
    "--crops",
    "already_cropped",
    is_flag=True,
    help="The images are face crops already: store them whole.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@with_appcontext
def import_folders_command(folder: str, already_cropped: bool, as_json: bool) -> None:
    """Import FOLDER/1 as target and FOLDER/0 as not target (the largest face of each image)."""
    from webapp.operations.folders import DatasetError, import_folders
    from webapp.vision.faces import FaceError

    settings = get_settings()
    try:
        summary = import_folders(
            get_db(),
            settings.crops_dir,
            folder,
            size=settings.face_size,
            margin=settings.crop_margin,
            already_cropped=already_cropped,
        )
    except (DatasetError, FaceError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    done = summary.imported
    click.echo(
        f"Imported {done['target']} target and {done['not_target']} not-target crops;"
        f" skipped {len(summary.skipped)} files."
    )
    for skipped in summary.skipped:
        click.echo(f"  skipped {skipped['file']}: {skipped['reason']}")


@click.command("export-folders")
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@with_appcontext
def export_folders_command(folder: str, as_json: bool) -> None:
    """Write every crop labelled target into FOLDER/1 and not target into FOLDER/0."""
    from webapp.operations.folders import DatasetError, export_folders

    try:
        summary = export_folders(get_db(), get_settings().crops_dir, folder)
    except (DatasetError, OSError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    done = summary.exported
    click.echo(
        f"Exported {done['target']} target crops to {folder}/1 and {done['not_target']}"
        f" not-target crops to {folder}/0 ({summary.unchanged} unchanged,"
        f" {summary.removed} stale files removed)."
    )
    if summary.missing:
        ids = ", ".join(str(i) for i in summary.missing)
        click.echo(f"The image files of crops {ids} are missing: not exported.", err=True)
