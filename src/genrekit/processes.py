"""Worker processes that die with their parent and never hold its terminal or pipes.

:func:`worker_pool` is a :class:`concurrent.futures.ProcessPoolExecutor`
whose workers (started with ``spawn`` by default) are set up so that a parent
killed without a chance to clean up (SIGKILL, the OOM killer, a crash) does
not leave them behind:

* **They die with the parent.** A plain executor's workers only notice a dead
  parent when they next talk to it, which a worker busy on a long file does
  not do for minutes. On Linux each worker asks the kernel for SIGKILL when
  its parent goes (``prctl(PR_SET_PDEATHSIG)``), then checks once that the
  parent is still the one that started it (it may have died before the
  request was made). Since the death signal is not available everywhere, and
  is tied to the parent *thread* that started the worker rather than to the
  process, a daemon thread in each worker also polls :func:`os.getppid`
  every half second and ends the worker as soon as it has been re-parented.
* **They do not hold the parent's stdin, stdout or stderr.** A spawned
  process inherits file descriptors 0, 1 and 2; a worker still running after
  its parent has gone would keep the write end of ``genrekit ... | cat`` open,
  and the pipe would never end. Workers point all three at
  :data:`os.devnull` before anything else: they print nothing anyway, since
  results and exceptions come back through the executor and the parent
  reports every failure itself.

One consequence of the death signal: the thread that submits work (and so
starts the workers) must outlive the pool's use, as the main thread or a
function that shuts the pool down before it returns does. A worker started
by a thread that exits is killed with it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

WATCH_INTERVAL = 0.5
"""Seconds between a worker's checks that its parent is still alive."""

ORPHAN_EXIT_CODE = 70
"""Exit status of a worker that ends because its parent has gone."""

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def worker_pool(
    max_workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    mp_context: Any = None,
) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process and hold none of its standard streams.

    Parameters
    ----------
    max_workers : number of worker processes.
    initializer, initargs : run in each worker after the set-up described in
        the module docstring, as :class:`~concurrent.futures.ProcessPoolExecutor`
        does; they are pickled, so must be importable by name under ``spawn``.
    mp_context : a :mod:`multiprocessing` context; default ``spawn`` (safe
        with threaded libraries such as BLAS or onnxruntime in the parent).
    """
    import multiprocessing

    ctx = mp_context if mp_context is not None else multiprocessing.get_context("spawn")
    # Under spawn and fork the workers are this process's children; under
    # forkserver they are the server's, which itself ends when this process does.
    parent = os.getpid() if ctx.get_start_method() in ("spawn", "fork") else None
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(parent, initializer, tuple(initargs)),
    )


def _init_worker(parent: int | None, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """Run first in every worker: detach from the standard streams, tie the worker's life to its parent."""
    _detach_standard_streams()
    _request_death_signal()
    expected = os.getppid() if parent is None else parent
    if os.getppid() != expected:  # the parent died before the death signal was asked for
        os._exit(ORPHAN_EXIT_CODE)
    threading.Thread(target=_watch_parent, args=(expected,), name="genrekit-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _detach_standard_streams() -> None:
    """Point file descriptors 0, 1 and 2 at ``os.devnull`` (``sys.std*`` keep working, writing nowhere)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    finally:
        if null > 2:
            os.close(null)


def _request_death_signal() -> bool:
    """``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux; ``False`` where it is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Poll the parent's pid; once the worker has been re-parented, end it at once."""
    while True:
        if os.getppid() != parent:
            os._exit(ORPHAN_EXIT_CODE)
        time.sleep(WATCH_INTERVAL)


__all__ = ["ORPHAN_EXIT_CODE", "WATCH_INTERVAL", "worker_pool"]
