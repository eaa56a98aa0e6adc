"""Counters for ``/metrics`` in the Prometheus text format, kept by one small ASGI middleware.

The exposition is a few lines of text, so it is written here rather than
adding prometheus_client (not a dependency). Routes are labelled by their
template (``/v1/models/{model_id}``), never by the path a client sent, so a
client cannot grow the label set.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter
from typing import Any, Callable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds (seconds) of the latency histogram's buckets."""


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Requests by route and status, latency per route, errors by code; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.errors: Counter[str] = Counter()
        self._buckets: dict[str, list[int]] = {}
        self._sums: Counter[str] = Counter()

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            counts = self._buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[bisect_left(BUCKETS, seconds)] += 1
            self._sums[route] += seconds

    def count_error(self, code: str) -> None:
        with self._lock:
            self.errors[code] += 1

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a metric name to ``(help, value)``."""
        lines = ["# HELP genrekit_requests_total HTTP requests answered, by route template and status code.",
                 "# TYPE genrekit_requests_total counter"]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'genrekit_requests_total{{route="{_label(route)}",code="{status}"}} {n}')
            lines += ["# HELP genrekit_request_duration_seconds Time to answer a request, by route template.",
                      "# TYPE genrekit_request_duration_seconds histogram"]
            for route, counts in sorted(self._buckets.items()):
                total = 0
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], counts):
                    total += n
                    lines.append(f'genrekit_request_duration_seconds_bucket{{route="{_label(route)}",le="{bound}"}} {total}')
                lines.append(f'genrekit_request_duration_seconds_sum{{route="{_label(route)}"}} {self._sums[route]:.6f}')
                lines.append(f'genrekit_request_duration_seconds_count{{route="{_label(route)}"}} {total}')
            lines += ["# HELP genrekit_errors_total Error answers, by the error code in their JSON.",
                      "# TYPE genrekit_errors_total counter"]
            for code, n in sorted(self.errors.items()):
                lines.append(f'genrekit_errors_total{{code="{_label(code)}"}} {n}')
        for name, (text, value) in gauges.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times each HTTP request and records its status under the route template it matched."""

    def __init__(self, app: Callable[..., Any], metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            self.metrics.observe(getattr(route, "path", None) or "unmatched", status, time.perf_counter() - began)
