"""A job worker (``flask --app webapp worker``): takes queued jobs from the store, on any
host, one at a time, until it is stopped.

It says it is alive in the ``workers`` table and, while it runs a job, in the job's
``heartbeat_at`` (:class:`~webapp.jobs.heartbeat.Heartbeat`, every JOB_HEARTBEAT_SECONDS).
It claims the oldest job queued for any worker (:func:`webapp.store.jobs.claim_next_job`:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers on many hosts never take the same
job) and runs it in a child process, ``python -m webapp.jobs --worker-pid PID JOB_ID``:

- each job starts from a fresh process: what one job loaded or leaked is gone before the
  next, and a crash in a native library (or the kernel's memory killer) ends the job, not
  the worker, which records the failure and goes on;
- the heartbeat comes from the worker, so a job busy in code that never lets another thread
  run is not taken for dead;
- the child dies with the worker (``PR_SET_PDEATHSIG``): a worker killed outright leaves no
  job running unseen; the job is then failed by whoever looks (the process check on this
  host, the heartbeat timeout on any other).

SIGTERM or SIGINT stops it: it takes no other job, ends the one in hand and marks it failed
("the worker was stopped"): waiting for a training that may take an hour would only see the
worker killed by its supervisor half-way. It then removes itself from ``workers``. No Flask.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from webapp.jobs import KINDS, job_process, log_path
from webapp.jobs.heartbeat import Heartbeat
from webapp.settings import Settings
from webapp.store import jobs as job_store
from webapp.store import workers as worker_store
from webapp.store.db import DatabaseError, connect, this_host

POLL_SECONDS = 1.0  # how soon an idle worker sees a new job
RETRY_SECONDS = 5.0  # after the store could not be reached
STOP_GRACE_SECONDS = 10.0  # a job's process asked to end is killed after this long
STOPPED = "the worker was stopped before the job finished: run the job again"


def check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds of job a worker takes, checked.

    :raise ValueError: one is not a kind of job.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown job kind {unknown[0]!r}; one of: {', '.join(KINDS)}")
    return kinds


@contextmanager
def _stop_on_signals(stopping: threading.Event, received: list[str]) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stopping`` (their names go in ``received``) instead of
    ending the process at once. Nothing is printed here: the handler may interrupt a print."""

    def stop(number: int, _frame: Any) -> None:
        received.append(signal.Signals(number).name)
        stopping.set()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    kinds: tuple[str, ...] = (),
    say: Callable[[str], None] | None = None,
    stopping: threading.Event | None = None,
) -> int:
    """Take and run queued jobs until stopped (``once``: after one job); return how many
    it ran. ``kinds``: only these. Set ``stopping`` (or send SIGTERM or SIGINT, when called
    from the main thread) to stop it.

    :raise DatabaseError: the store cannot be reached when it starts.
    """
    stopping = stopping or threading.Event()
    say = say or _print
    host, pid = this_host(), os.getpid()
    conn = connect(settings.database)
    try:
        worker_store.register_worker(conn, host, pid)
    finally:
        conn.close()
    only = f" ({', '.join(kinds)} only)" if kinds else ""
    say(f"worker {pid} on {host} takes queued jobs{only}")
    ran, received = 0, []
    in_main_thread = threading.current_thread() is threading.main_thread()
    signals = _stop_on_signals(stopping, received) if in_main_thread else nullcontext()
    beat = Heartbeat(settings.database, settings.job_heartbeat_seconds, worker=(host, pid))
    try:
        with signals, beat:
            while not stopping.is_set():
                job = _claim(settings, host, pid, kinds, say, stopping)
                if job is None:
                    continue
                beat.job_id = job["id"]
                try:
                    _beat_now(beat, say)
                    say(f"job {job['id']} ({job['kind']}): started")
                    status = _run_in_child(settings, job["id"], stopping)
                    say(f"job {job['id']} ({job['kind']}): {status}")
                finally:
                    beat.job_id = None
                _beat_now(beat, say)  # free again, as the pages will show at once
                ran += 1
                if once:
                    break
    finally:
        _unregister(settings, host, pid, say)
    by = f" by {received[0]}" if received else ""
    say(f"worker {pid} on {host} stopped{by} after {ran} job{'' if ran == 1 else 's'}")
    return ran


def _print(line: str) -> None:
    print(line, flush=True)  # at once, into a supervisor's log


def _claim(
    settings: Settings,
    host: str,
    pid: int,
    kinds: tuple[str, ...],
    say: Callable[[str], None],
    stopping: threading.Event,
) -> dict[str, Any] | None:
    """The next job, now this worker's; None after a pause when there is none (or the store
    cannot be reached: said, and tried again)."""
    try:
        conn = connect(settings.database)
        try:
            job = job_store.claim_next_job(conn, host, pid, kinds)
        finally:
            conn.close()
    except DatabaseError as error:
        say(f"the store cannot be reached: {error}; trying again in {RETRY_SECONDS:g} s")
        stopping.wait(RETRY_SECONDS)
        return None
    if job is None:
        stopping.wait(POLL_SECONDS)
    return job


def _beat_now(beat: Heartbeat, say: Callable[[str], None]) -> None:
    """The workers table says at once which job this worker runs (the pages show it)."""
    try:
        beat.beat()
    except DatabaseError as error:
        say(f"heartbeat: the store cannot be written: {error}")


def _run_in_child(settings: Settings, job_id: int, stopping: threading.Event) -> str:
    """Run the claimed job in a child process until it ends or the worker is stopped;
    return the job's final status (marking it failed if the child did not say)."""
    log = log_path(settings, job_id)
    try:
        # Its own process group (killed whole by _end), out of reach of a Ctrl-C meant for
        # the worker.
        child = job_process(settings, job_id, "--worker-pid", str(os.getpid()))
    except OSError as error:
        return _close(settings, job_id, f"the job's process could not be started: {error}")
    while True:
        try:
            code = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if stopping.is_set():
                _end(child)
                return _close(settings, job_id, STOPPED)
    if stopping.is_set():  # the same signal reached the child (a whole group was stopped)
        return _close(settings, job_id, STOPPED)
    return _close(settings, job_id, f"{job_store.PROCESS_ENDED} ({_exit_reason(code)}; see {log})")


def _end(child: subprocess.Popen) -> None:
    """End the job's process and the processes it started (its process group)."""
    for number, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        with suppress(ProcessLookupError):
            os.killpg(child.pid, number)
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _exit_reason(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def _close(settings: Settings, job_id: int, error: str) -> str:
    """Mark the job failed with ``error`` unless it was recorded finished; its status."""
    try:
        conn = connect(settings.database)
        try:
            job_store.fail_job(conn, job_id, error)  # only an unfinished job is changed
            job = job_store.get_job(conn, job_id)
        finally:
            conn.close()
    except DatabaseError as error:  # the heartbeat timeout will fail it
        return f"not recorded: the store cannot be reached ({error})"
    return job["status"] if job else "gone"


def _unregister(settings: Settings, host: str, pid: int, say: Callable[[str], None]) -> None:
    try:
        conn = connect(settings.database)
        try:
            worker_store.remove_worker(conn, host, pid)
        finally:
            conn.close()
    except DatabaseError as error:  # its row ages out; the pages count only fresh ones
        say(f"could not remove this worker from the store: {error}")
