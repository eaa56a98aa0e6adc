"""What runs on the workers: a run's one-time set-up (a WorkerPlugin) and its batches of items.

This module imports Dask at the top, so it is imported only where Dask runs:
by :func:`genrekit.distributed.map_on_dask` on the client and, by name, on the workers.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from distributed import WorkerPlugin, get_worker

_activation = threading.Lock()
_active: dict[str, str | None] = {"key": None}


class RunSetup(WorkerPlugin):
    """Runs a run's ``initializer`` once in each worker process (Dask also runs it on workers that join later).

    A worker process holds the state of one run at a time (the module globals
    the initializers of :mod:`genrekit.batch` and :mod:`genrekit.store` set), so a
    task first makes sure that state is its own run's: two runs sharing a
    cluster take turns re-initialising, which costs time but never mixes models.
    """

    def __init__(self, key: str, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
        self.key = key
        self.name = f"genrekit-{key}"
        self.initializer = initializer
        self.initargs = initargs

    def setup(self, worker: Any = None) -> None:
        self.activate()

    def activate(self) -> None:
        with _activation:
            if _active["key"] != self.key:
                if self.initializer is not None:
                    self.initializer(*self.initargs)
                _active["key"] = self.key


def run_batch(name: str, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """On a worker: make sure this run's state is loaded, then ``fn`` over ``items``."""
    get_worker().plugins[name].activate()
    return [fn(item) for item in items]
