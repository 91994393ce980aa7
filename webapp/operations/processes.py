"""Child processes that must not outlive their parent (the processes describing faces for
a job, and the process a job worker runs a job in), and what a killed writer leaves."""

from __future__ import annotations

import ctypes
import signal
from pathlib import Path

from webapp.store.db import process_alive

PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies: a parent killed with SIGKILL
    leaves no process behind still working for it. Elsewhere, nothing (the callers end at
    their next step)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def left_by_gone_process(path: Path) -> bool:
    """Whether a temporary file or folder was left by a writer that no longer runs: its
    name carries the writer's process id before its last suffix (``.NAME.PID.tmp``,
    ``.NAME.TOKEN.PID.old``); a living writer's are kept."""
    pid = path.name.rsplit(".", 2)[-2]
    return pid.isdigit() and not process_alive(int(pid))
