"""The job worker: ``python -m webapp.jobs JOB_ID`` runs one queued job.

Its settings come from the environment, as the app's do (the app that queued the job
passes its own). It forks and the launcher exits at once, so the worker is adopted by
init and never left a zombie of the web process that started it.
"""

from __future__ import annotations

import argparse
import os

from webapp.jobs.runners import run_job
from webapp.operations import configure
from webapp.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.jobs", description=run_job.__doc__)
    parser.add_argument("--foreground", action="store_true", help="do not fork (debugging)")
    parser.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    settings = load_settings()
    configure(settings)
    if not args.foreground and os.fork() > 0:
        os._exit(0)  # the launcher returns; the worker is adopted by init, never a zombie
    status = run_job(settings, args.job_id)
    print(f"job {args.job_id}: {status}", flush=True)


if __name__ == "__main__":
    main()
