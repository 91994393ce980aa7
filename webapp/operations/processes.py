"""Child processes that must not outlive their parent: the processes describing faces for
a job, and the process a job worker runs a job in."""

from __future__ import annotations

import ctypes
import signal

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
