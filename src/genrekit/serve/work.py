"""A bounded queue in front of a fixed pool of worker threads: at most ``workers`` jobs run, ``queue`` wait.

Decoding and inference block, so they run on these threads, never on the
event loop. A request that finds every worker busy and the queue full is
refused at once (503 ``busy``) rather than left to time out; one that waits
or runs past the time limit gets 504 ``timeout``. A job that has already
started cannot be interrupted from outside, so it keeps its place until it
ends: capacity is never overcommitted by abandoned work.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from genrekit.serve.errors import ApiError

T = TypeVar("T")


@dataclass(frozen=True)
class Finished(Generic[T]):
    """A job's result and where its time went."""

    value: T
    queue_s: float
    analysis_s: float


class WorkQueue:
    """Admit at most ``workers + queue`` jobs at once; run ``workers`` of them at a time."""

    def __init__(self, workers: int, queue: int, timeout_s: float) -> None:
        if workers < 1 or queue < 0 or not timeout_s > 0:
            raise ValueError("workers must be >= 1, queue >= 0 and timeout_s > 0")
        self.workers = workers
        self.queue = queue
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genrekit-serve")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        """Jobs admitted but not started: the queue depth."""
        with self._lock:
            return self._admitted - self._running

    @property
    def full(self) -> bool:
        """Whether a job submitted now would be refused."""
        with self._lock:
            return self._admitted >= self.workers + self.queue

    async def run(self, job: Callable[[], T], *, cleanup: Callable[[], None] | None = None) -> Finished[T]:
        """Run ``job`` on a worker; ``cleanup`` runs once it is over (or refused), even after a 504.

        Raises :class:`ApiError` 503 when full, 504 past :attr:`timeout_s`
        (queueing included); whatever ``job`` raises is raised here.
        """
        with self._lock:
            full = self._admitted >= self.workers + self.queue
            if not full:
                self._admitted += 1
        if full:
            if cleanup is not None:
                cleanup()
            raise ApiError(503, "busy", f"the server is busy ({self.workers} analysing, {self.queue} waiting): "
                                        "try again shortly")
        submitted = time.perf_counter()
        started: list[float] = []

        def work() -> T:
            with self._lock:
                self._running += 1
            started.append(time.perf_counter())
            try:
                return job()
            finally:
                with self._lock:
                    self._running -= 1

        def over(_: Future[T]) -> None:
            with self._lock:
                self._admitted -= 1
            if cleanup is not None:
                cleanup()

        future = self._pool.submit(work)
        future.add_done_callback(over)
        try:
            value = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout_s)
        except asyncio.TimeoutError:
            future.cancel()  # frees its place at once if it never started; a running job ends on its own
            raise ApiError(504, "timeout", f"the analysis took longer than this server allows ({self.timeout_s:g} s)")
        begun = started[0] if started else submitted
        return Finished(value, queue_s=begun - submitted, analysis_s=time.perf_counter() - begun)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
