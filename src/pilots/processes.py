"""Child processes that end with their parent, and errors they can hand back to it.

The RPA log parser (:mod:`pilots.rpa.logfile`) and the speech model processes
(:mod:`pilots.asr.parallel`) run in child processes. A child must never
outlive the process that started it — a parent killed by ``kill -9`` or the
out-of-memory killer would otherwise leave it running, holding files and
memory — and what goes wrong in it must reach the parent as an exception.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def end_with_parent(parent: int) -> None:
    """Make this child process end when its parent does; end it now if the parent is gone.

    On Linux the kernel kills the child (``prctl(PR_SET_PDEATHSIG)``) when the
    *thread* that started it ends, so the parent starts its children from a
    thread that lives as long as they do. Elsewhere (Windows, macOS) a thread
    of the child waits for the parent's end and then ends the child.

    Args:
        parent: the parent's process id, as the parent saw it.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        watched = multiprocessing.parent_process()
        if watched is not None:
            threading.Thread(
                target=_exit_after, args=(watched,), name="pilots-parent-watch", daemon=True
            ).start()
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _exit_after(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to be raised by the parent), else a RuntimeError."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
