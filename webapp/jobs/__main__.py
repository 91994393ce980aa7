"""One job's process: ``python -m webapp.jobs JOB_ID`` runs one queued job.

Its settings come from the environment, as the app's do (whoever starts it passes its
own). Launched by the app (the ``process`` runner), it forks and the launcher exits at
once, so the process is adopted by init and never left a zombie of the web process that
started it; it claims the job and beats for it. Started by a worker for a job the worker
claimed (``--worker-pid``), it stays the worker's child, dies with it, and leaves the
heartbeat to it.
"""

from __future__ import annotations

import argparse
import os

from webapp.jobs.runners import run_claimed_job, run_job
from webapp.operations import configure
from webapp.operations.processes import die_with_parent
from webapp.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.jobs", description=run_job.__doc__)
    parser.add_argument("--foreground", action="store_true", help="do not fork (debugging)")
    parser.add_argument(
        "--worker-pid",
        type=int,
        help="run a job this worker (the parent process) has claimed: no fork, and die with it",
    )
    parser.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    if args.worker_pid:
        die_with_parent()
        if os.getppid() != args.worker_pid:  # it died before the line above
            return
    settings = load_settings()
    configure(settings)
    if args.worker_pid:
        status = run_claimed_job(settings, args.job_id)
    else:
        if not args.foreground and os.fork() > 0:
            os._exit(0)  # the launcher returns; the process is adopted by init, never a zombie
        status = run_job(settings, args.job_id)
    print(f"job {args.job_id}: {status}", flush=True)


if __name__ == "__main__":
    main()
