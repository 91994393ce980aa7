"""A thread that tells the store, every few seconds, that a job's process is alive.

Whoever looks at the jobs, on any host, fails a running job whose heartbeat is older than
the JOB_HEARTBEAT_TIMEOUT setting: its host or process died. The beat comes from a thread
of its own, not from the job's progress reports, so a long step that reports nothing (a
model search) is not taken for a death, and a process that is gone stops beating at once.
Both runners use it: the process launched for one job beats for that job, a worker beats
for itself (its row in ``workers``) and for the job it runs.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from webapp.store import jobs as job_store
from webapp.store import workers as worker_store
from webapp.store.db import DatabaseError, connect


class Heartbeat:
    """``with Heartbeat(database, seconds, job_id=...)``: beat while the block runs.

    ``worker`` (host, pid): also keep that worker's row fresh. ``job_id`` may be changed
    while it beats (a worker between jobs).
    """

    def __init__(
        self,
        database: str,
        seconds: float,
        *,
        job_id: int | None = None,
        worker: tuple[str, int] | None = None,
    ) -> None:
        self.database, self.seconds = database, seconds
        self.job_id, self.worker = job_id, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def beat(self) -> None:
        """Say it now (a connection of its own: the job's may be busy in another thread).

        :raise DatabaseError: the store cannot be written.
        """
        conn = connect(self.database)
        try:
            job_id = self.job_id
            if job_id is not None:
                job_store.beat(conn, job_id)
            if self.worker is not None:
                worker_store.touch_worker(conn, *self.worker, job_id)
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.beat()
            except DatabaseError as error:  # the next beat tries again
                print(f"heartbeat: the store cannot be written: {error}", file=sys.stderr)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
