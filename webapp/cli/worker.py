"""``flask --app webapp worker``: run queued jobs on this host until stopped."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from webapp.context import get_settings
from webapp.jobs import KINDS


@click.command("worker")
@click.option(
    "--once", is_flag=True, help="Run one job (waiting for one if none is queued), then exit."
)
@click.option(
    "--kinds",
    default="",
    metavar="KIND,...",
    help=f"Take only these kinds of job, comma-separated ({', '.join(KINDS)}) [default: all].",
)
@with_appcontext
def worker_command(once: bool, kinds: str) -> None:
    """Run queued jobs (training, extraction, describing, scoring) until stopped.

    Any number of workers may run, on any host sharing the store: each job is taken by one.
    SIGTERM or Ctrl-C stops the worker; the job in hand is ended and marked failed.
    """
    from webapp.jobs.worker import check_kinds, run_worker

    settings = get_settings()
    try:
        chosen = check_kinds(tuple(kind.strip() for kind in kinds.split(",") if kind.strip()))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--kinds") from None
    if settings.job_runner != "worker":
        click.echo(
            'Note: JOB_RUNNER is "process": the app runs each job in a process of its own'
            " and queues none for workers. Set LOOKALIKE_JOB_RUNNER=worker for the app to"
            " leave its jobs to workers.",
            err=True,
        )
    run_worker(settings, once=once, kinds=chosen, say=click.echo)
