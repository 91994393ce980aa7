"""``flask --app webapp copy-store --to URL``: move the app's store to another database."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from webapp.context import get_settings
from webapp.operations.store_copy import CopyRefused, StoreCopy, copy_to, publish_host_files


@click.command("copy-store")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL_OR_FILE",
    help="An empty PostgreSQL database (postgresql://USER:PASSWORD@HOST:PORT/DB; the"
    " password may come from PGPASSWORD or ~/.pgpass instead), or the path of a new"
    " SQLite file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@with_appcontext
def copy_store_command(target: str, as_json: bool) -> None:
    """Copy everything in this app's store into an empty database, and check the counts."""
    settings = get_settings()
    publish = publish_host_files(settings.models_dir, settings.crops_dir)
    try:
        copy = copy_to(settings.database, target, before_copy=publish)
    except CopyRefused as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(copy.as_dict()))
    else:
        _print_copy(copy)


def _print_copy(copy: StoreCopy) -> None:
    if copy.migrations_applied:
        click.echo(f"{copy.target}: schema created ({len(copy.migrations_applied)} migrations).")
    click.echo(f"Copied {copy.source}")
    click.echo(f"  into {copy.target}")
    width = max(len(table) for table in copy.source_rows)
    click.echo(f"{'table':<{width}}  {'source':>8}  {'target':>8}")
    for table, n in copy.source_rows.items():
        click.echo(f"{table:<{width}}  {n:>8}  {copy.target_rows[table]:>8}")
    click.echo(f"{'total':<{width}}  {sum(copy.source_rows.values()):>8}  {copy.total:>8}")
    click.echo(f"Matched: every table holds the same {copy.total} rows in both stores.")
