"""The map itself: batches out, results back in input order, lost batches retried file by file."""

from __future__ import annotations

import contextlib
import math
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, TypeVar

from genrekit.distributed.cluster import _distributed

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 8
"""Most files in one task: enough to spread the scheduler's per-task cost, few enough to balance the workers."""


def map_on_dask(
    fn: Callable[[T], R],
    items: Iterable[T],
    client: "Client",
    *,
    on_crash: Callable[[T], R],
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    batch_size: int | None = None,
    window: int | None = None,
) -> Generator[tuple[T, R], None, None]:
    """``(item, fn(item))`` for every item, in input order, computed on the workers of ``client``.

    Parameters
    ----------
    fn, initializer, initargs, on_crash : as for :func:`genrekit.processes.map_in_workers`;
        ``fn`` should catch its own per-item errors (an exception it raises
        ends the run here), and all three are pickled to the workers.
    batch_size : items per task; default ``len(items) / (4 * workers)``, between 1 and :data:`MAX_BATCH`.
    window : at most this many items are submitted beyond the oldest one
        not yet yielded (default ``8 * workers * batch_size``), which bounds
        the results held back here.
    """
    distributed = _distributed()
    work = list(items)
    if not work:
        return
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    size = batch_size or max(1, min(MAX_BATCH, math.ceil(len(work) / (4 * workers))))
    from genrekit.distributed.setup import RunSetup

    plugin = RunSetup(uuid.uuid4().hex, initializer, initargs)
    client.register_plugin(plugin, name=plugin.name)
    run = _DaskRun(client, plugin.name, fn, work, size, window or 8 * workers * size, 2 * workers)
    try:
        yield from run.results(on_crash, distributed.KilledWorker)
    finally:
        run.cancel()
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(plugin.name)


class _DaskRun:
    """State of one :func:`map_on_dask` run: batches in flight, and results waiting for their predecessors."""

    def __init__(self, client: "Client", name: str, fn: Callable[[Any], Any], items: list[Any],
                 size: int, window: int, in_flight: int) -> None:
        from distributed import as_completed

        self.client, self.name, self.fn, self.items = client, name, fn, items
        self.batches = [list(range(i, min(i + size, len(items)))) for i in range(0, len(items), size)]
        self.window, self.in_flight = max(1, window), max(1, in_flight)
        self.next_batch = 0
        self.next = 0  # index of the oldest item not yet yielded
        self.done: dict[int, Any] = {}
        self.pending: dict[Any, tuple[list[int], bool]] = {}  # future -> (item indices, is a retry)
        self.retry: deque[int] = deque()  # items whose batch was lost with its worker
        self.completed = as_completed()

    def submit(self, indices: list[int], retry: bool) -> None:
        from genrekit.distributed.setup import run_batch

        future = self.client.submit(run_batch, self.name, self.fn, [self.items[i] for i in indices], pure=False)
        self.pending[future] = (indices, retry)
        self.completed.add(future)

    def top_up(self) -> None:
        """Submit more: fresh batches, or one lost item alone once nothing else is in flight.

        A worker's death fails every task the scheduler had placed on it, not
        only the one that killed it; so an item is retried with nothing else
        running, which makes a second death its own, as in :func:`map_in_workers`.
        """
        if self.retry:
            if not self.pending:
                self.submit([self.retry.popleft()], retry=True)
            return
        fresh = len(self.pending)
        while (self.next_batch < len(self.batches) and fresh < self.in_flight
               and self.batches[self.next_batch][0] < self.next + self.window):
            self.submit(self.batches[self.next_batch], retry=False)
            self.next_batch += 1
            fresh += 1

    def results(self, on_crash: Callable[[Any], Any], killed: type[BaseException]) -> Iterator[tuple[Any, Any]]:
        self.top_up()
        while self.pending:
            future = next(self.completed)
            indices, retry = self.pending.pop(future)
            values = None
            if not (future.status == "error" and isinstance(future.exception(), killed)):
                try:
                    values = future.result()  # re-raises fn's own errors
                except killed:  # it had finished, but its worker died before the result was fetched
                    with contextlib.suppress(Exception):
                        future.cancel()  # the scheduler would recompute it; its items are retried here instead
            if values is None:
                if retry:  # the file killed a worker twice: once in its batch, once alone
                    self.done[indices[0]] = on_crash(self.items[indices[0]])
                else:
                    self.retry.extend(indices)
            else:
                for index, result in zip(indices, values):
                    self.done[index] = result
            while self.next in self.done:
                yield self.items[self.next], self.done.pop(self.next)
                self.next += 1
            self.top_up()

    def cancel(self) -> None:
        if self.pending:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.pending))
            self.pending.clear()
