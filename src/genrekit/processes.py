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
* **Their BLAS is single-threaded.** The workers already use the cores, one
  each, and their matrix products are small (a mel filter bank, a scaler);
  OpenBLAS's own threads would mostly spin after each product, on the cores
  the other workers need (measured: a fifth of a prediction worker's CPU
  time; docs/results.md, "Speed").

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
from collections import deque
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Generator, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

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
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
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


def map_in_workers(
    fn: Callable[[T], R],
    items: Iterable[T],
    jobs: int,
    *,
    on_crash: Callable[[T], R],
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    window: int | None = None,
    mp_context: Any = None,
) -> Generator[tuple[T, R], None, None]:
    """``(item, fn(item))`` for every item, in input order, computed on ``jobs`` :func:`worker_pool` processes.

    Results are yielded as soon as they and all before them are done, so the
    output is the same whatever the number of workers; at most ``window``
    items (default ``4 * jobs``) are submitted beyond the oldest one not yet
    yielded, which bounds both the work queued and the results held back.

    A worker that dies (a crash in native code, the OOM killer) breaks the
    pool and loses the items in flight. They are retried one at a time in a
    fresh single-worker pool; an item that kills that worker too gets
    ``on_crash(item)`` as its result (called in this process), and the rest go
    on in a fresh pool. ``fn`` should catch its own per-item errors: an
    exception it raises propagates here and ends the run.

    ``fn``, ``initializer`` and ``initargs`` are pickled and must be importable
    by name. The thread iterating this generator starts the workers, so it
    must keep iterating (or close the generator) before it exits; closing it
    early shuts the pool down without waiting for the items in flight.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    import multiprocessing

    ctx = mp_context if mp_context is not None else multiprocessing.get_context("spawn")
    run = _InOrder(list(items), window if window is not None else 4 * jobs)
    pool_args = {"initializer": initializer, "initargs": tuple(initargs), "mp_context": ctx}
    todo = deque(range(len(run.items)))
    while todo:
        lost = yield from run.pass_(fn, todo, jobs, pool_args)
        retry = deque(sorted(lost))
        while retry:  # one in flight at a time: a pool that breaks now was broken by that item
            for index in (yield from run.pass_(fn, retry, 1, pool_args, in_flight=1)):
                yield from run.put(index, on_crash(run.items[index]))


class _InOrder:
    """State of one :func:`map_in_workers` run: results that finished early wait here for their predecessors."""

    def __init__(self, items: list[Any], window: int) -> None:
        self.items = items
        self.window = max(1, window)
        self.next = 0  # index of the oldest item not yet yielded
        self.done: dict[int, Any] = {}

    def put(self, index: int, result: Any) -> Iterator[tuple[Any, Any]]:
        self.done[index] = result
        while self.next in self.done:
            yield self.items[self.next], self.done.pop(self.next)
            self.next += 1

    def pass_(self, fn: Callable[[Any], Any], queue: deque[int], jobs: int, pool_args: dict[str, Any],
              in_flight: int | None = None) -> Generator[tuple[Any, Any], None, list[int]]:
        """Work through ``queue`` (consumed) on one pool until it is empty or the pool breaks; return the indices lost.

        Items still in ``queue`` when the pool breaks were never started: the caller runs them on a fresh pool.
        """
        from concurrent.futures.process import BrokenProcessPool

        limit = in_flight if in_flight is not None else 2 * jobs
        executor = worker_pool(jobs, **pool_args)
        pending: dict[Future[Any], int] = {}
        lost: list[int] = []
        clean = False
        try:
            broken = False
            while (queue or pending) and not broken:
                while queue and len(pending) < limit and queue[0] < self.next + self.window:
                    try:
                        future = executor.submit(fn, self.items[queue[0]])
                    except BrokenProcessPool:  # a worker died since the last wait; this item never started
                        broken = True
                        break
                    pending[future] = queue.popleft()
                # a broken pool settles every future it holds: keep those that finished, lose the rest
                finished, _ = wait(pending, return_when=ALL_COMPLETED if broken else FIRST_COMPLETED)
                results = []
                for future in finished:
                    index = pending.pop(future)
                    try:
                        results.append((index, future.result()))
                    except BrokenProcessPool:
                        lost.append(index)
                if lost:
                    lost.extend(pending.values())  # every other item in flight is lost with the pool
                    pending.clear()
                    broken = True
                for index, result in results:
                    yield from self.put(index, result)
            clean = not broken
        finally:
            executor.shutdown(wait=clean, cancel_futures=True)
        return lost


__all__ = ["ORPHAN_EXIT_CODE", "WATCH_INTERVAL", "map_in_workers", "worker_pool"]
