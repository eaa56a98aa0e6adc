"""What every route shares: the shelf, the worker queue, the benchmark, the counters and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from genrekit.serve.benchmark import BenchmarkRunner
from genrekit.serve.metrics import Metrics
from genrekit.serve.shelf import ShelfEntry, Shelf
from genrekit.serve.work import WorkQueue


@dataclass
class ServeState:
    shelf: Shelf
    work: WorkQueue
    benchmark: BenchmarkRunner
    metrics: Metrics
    max_upload_bytes: int
    max_duration_s: float
    allow_model_upload: bool
    token: str | None

    def summary(self, entry: ShelfEntry) -> dict:
        return entry.summary(self.benchmark.state(entry.id))

    def detail(self, entry: ShelfEntry) -> dict:
        return entry.detail(self.benchmark.state(entry.id))

    def gauges(self) -> dict[str, tuple[str, float]]:
        return {
            "genrekit_queue_depth": ("Requests waiting for a worker.", self.work.waiting),
            "genrekit_workers_busy": ("Workers analysing a request now.", self.work.running),
            "genrekit_workers": ("Workers (at most this many analyses at once).", self.work.workers),
            "genrekit_queue_limit": ("Requests that may wait; beyond, 503 busy.", self.work.queue),
            "genrekit_models": ("Models on the shelf.", len(self.shelf)),
        }
