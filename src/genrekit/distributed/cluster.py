"""Reaching a Dask cluster: a scheduler's address, a new LocalCluster, or a Client the caller made."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from genrekit.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

INSTALL_HINT = "--dask needs Dask's distributed scheduler: pip install 'genrekit[dask]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return distributed


def parse_target(target: str) -> tuple[str, int | None]:
    """``"local"`` -> ``("local", None)``, ``"local:3"`` -> ``("local", 3)``, an address -> ``(address, None)``."""
    text = target.strip()
    if text == "local":
        return "local", None
    if text.startswith("local:"):
        count = text[len("local:"):]
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--dask local:N needs a whole number of workers >= 1, got {target!r}")
        return "local", int(count)
    if not text:
        raise ConfigError("--dask needs a scheduler address (tcp://host:8786) or local[:N]")
    return text, None


@contextlib.contextmanager
def connect(target: "str | Client") -> Iterator["Client"]:
    """A Dask client for ``target``: a scheduler address, ``local[:N]`` (a new LocalCluster), or a Client.

    ``local[:N]`` starts ``N`` worker processes (default: the CPUs this
    process may use) of one thread each, without a dashboard, and shuts them
    down on exit. Such a cluster lets a task whose worker dies fail at once
    (``allowed-failures`` 0), so :func:`map_on_dask` can retry its files one
    by one instead of Dask re-running the whole batch. A Client passed in is
    used as it is and left open.
    """
    distributed = _distributed()
    if isinstance(target, distributed.Client):
        yield target
        return
    address, workers = parse_target(target)
    if address != "local":
        try:
            client = distributed.Client(address, timeout="20s")
        except OSError as error:
            raise ConfigError(f"could not reach the Dask scheduler at {address}: {error}") from None
        with client:
            yield client
        return
    import dask
    import logging

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=workers or _cpus(), threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
    with cluster, distributed.Client(cluster) as client:
        yield client


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def missing_on_workers(client: "Client", paths: Iterable[str]) -> dict[str, list[str]]:
    """``{worker address: [paths it cannot see]}`` for a few sample ``paths`` (the shared-storage check)."""
    sample = list(paths)
    if not sample:
        return {}
    seen = client.run(_missing, sample)
    return {address: missing for address, missing in seen.items() if missing}


def _missing(paths: list[str]) -> list[str]:
    return [p for p in paths if not os.path.exists(p)]
